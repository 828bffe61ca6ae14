"""The CLI's side of searching within organisms: `db add --taxid-map` (a bad line refused with
rc=2 naming it), `db list` showing the coverage, `submit --taxids / --exclude-taxids` (a
conflict refused with rc=2). Real makeblastdb, BLAST+ and the embedded NCBI Taxonomy."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BLASTDECK
from tests.support.taxonomy_cache import embedded_cache
from tests.test_taxonomy_search import SEQUENCES, write_source


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return write_source(tmp_path_factory.mktemp("taxa-cli-source"))


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "BLASTDECK_TAXONOMY_CACHE_DIR": str(embedded_cache()[0]),
        "BLASTDECK_DEMO_DATABASES": "false",
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        [BLASTDECK, *args, "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip


def test_cli_builds_with_a_taxid_map_lists_coverage_and_searches_within_organisms(
    source: dict[str, Any], tmp_path: Path
) -> None:
    data, work = tmp_path / "data", source["dir"]
    bad = tmp_path / "bad.map"
    bad.write_text("s000000\t1773\ns000001\n")
    done = cli(data, "db", "add", "x", str(work / "db.fa"), "--taxid-map", str(bad))
    assert done.returncode == 2 and "invalid_taxid_map" in done.stderr + done.stdout
    assert "line 2" in done.stderr + done.stdout
    done = cli(data, "db", "add", "x", str(work / "db.fa"), "--taxid-map",
               str(work / "db.taxid_map"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"{SEQUENCES - 2} of {SEQUENCES} sequences have a taxid" in done.stdout
    listing = cli(data, "db", "list")
    assert listing.returncode == 0, listing.stderr
    assert f"taxa x: {SEQUENCES - 2} of {SEQUENCES} sequences have a taxid" in listing.stdout
    done = cli(data, "submit", str(work / "query.fa"), "--db", "x", "--taxids",
               "Bacillota,1763", "-o", "evalue=1e-30")  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    # it says what it searched within, by name, as the job's page does
    # on a line of its own (before, a pipe got it printed onto the timeline's last row)
    within = re.search(r"^organisms: only within Bacillota, Mycobacterium; (\d+) of (\d+) "
                       r"sequences searched$", done.stdout, re.MULTILINE)  # fmt: skip
    assert within is not None, done.stdout
    assert 0 < int(within.group(1)) < int(within.group(2)) == SEQUENCES
    job_id = re.search(r"blastdeck results (\S+) --format", done.stdout).group(1)
    status = cli(data, "status", job_id)
    assert status.returncode == 0 and within.group(0) in status.stdout, status.stdout
    done = cli(data, "submit", str(work / "query.fa"), "--db", "x", "--taxids", "562",
               "--exclude-taxids", "Escherichia coli")  # fmt: skip
    assert done.returncode == 2 and "taxon_filter_conflict" in done.stderr + done.stdout
