"""Pairwise text and HTML downloads of an ungapped search (`ungapped`, tblastx) against what
the search itself writes (real BLAST+): blast_formatter adds a block of -1.00 gapped
Karlin-Altschul parameters to every query's footer, which the download leaves out; a gapped
search's footer is the formatter's, untouched."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from blastdeck.blast_tools import DatabaseDir, run_tool, tool_path
from blastdeck.results.exports import render_export
from blastdeck.results.formats import ExportFormat
from tests.conftest import fasta
from tests.test_results import DEMO_DIR, Job, make_db, read_fasta, search

# Per-query search statistics: blast_formatter gives every query its archive's first query's
# (README, "What identical to BLAST+ means").
STATISTICS = re.compile(r"^Effective search space used: \d+\n", re.M)
VOID_GAPPED = "Gapped\nLambda      K        H\n   -1.00    -1.00    -1.00 \n"
CASES = {
    "blastn ungapped": ("blastn", ["-ungapped", "-evalue", "1e-20"]),
    "tblastx": ("tblastx", ["-max_target_seqs", "3", "-evalue", "1e-20"]),
    "blastn gapped": ("blastn", ["-evalue", "1e-20"]),
}


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Job]:
    records = read_fasta(DEMO_DIR / "demo-16s.fa")
    queries = (records[3], records[100], records[150])
    root = tmp_path_factory.mktemp("pairwise")
    blastdb_dir = make_db(root / "db", "16s-demo", records[:40], "nucl")
    made = {}
    for name, (program, extra) in CASES.items():
        run = (root, program, blastdb_dir, "16s-demo", queries)
        batches = search(*run, [3], name.replace(" ", "-"), extra)
        made[name] = Job(program, blastdb_dir, queries, {"1": batches})
    return made


def searched(job: Job, extra: list[str], tmp_path: Path, *html: str) -> str:
    """What the search itself writes as pairwise output (`-outfmt 0`)."""
    query = tmp_path / "queries.fa"
    query.write_text(fasta(list(job.queries)))
    argv = [tool_path(job.program), "-query", str(query), "-db", "16s-demo", "-outfmt", "0",
            *extra, *html]  # fmt: skip
    where = DatabaseDir(job.blastdb_dir)
    done = subprocess.run(argv, env=where.env(), cwd=where.path, check=True, capture_output=True)
    return done.stdout.decode()


@pytest.mark.parametrize("fmt", [ExportFormat.TEXT, ExportFormat.HTML])
@pytest.mark.parametrize("case", list(CASES))
def test_pairwise_footer_is_the_searchs(
    jobs: dict[str, Job], tmp_path: Path, case: str, fmt: ExportFormat
) -> None:
    job, (_, extra) = jobs[case], CASES[case]
    out = render_export(fmt, job.tables("1"), job.archives("1"), job.blastdb_dir,
                        tmp_path / f"out.{fmt.value}")  # fmt: skip
    ours = out.read_text()
    html = ["-html"] if fmt is ExportFormat.HTML else []
    theirs = searched(job, extra, tmp_path, *html)
    formatter_argv = ["-archive", str(job.archives("1")[0]), "-outfmt", "0", *html]
    where = DatabaseDir(job.blastdb_dir)
    formatted = run_tool("blast_formatter", formatter_argv, database_dir=where)
    assert VOID_GAPPED not in theirs and VOID_GAPPED not in ours
    if case == "blastn gapped":
        assert ours == formatted  # nothing of a gapped search's footer is touched
    else:
        assert formatted.count(VOID_GAPPED) == len(job.queries)  # what there was to leave out
    assert STATISTICS.sub("", ours) == STATISTICS.sub("", theirs)
