"""Paths with spaces and other legal characters: what BLAST+ 2.12 does with them, and BlastDeck
working end to end on a data dir, a registered database and a FASTA whose paths have them
(issue 14). Real BLAST+, real databases, a real `blastdeck serve`."""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from blastdeck.blast_tools import (
    BlastToolError,
    DatabaseDir,
    UnusableBlastPath,
    database_arg,
    run_tool,
)
from tests.conftest import BLASTDECK, Server, fasta, wait_for_job

# Spaces, both quotes, parentheses, '$', ':' and non-ASCII letters: all legal in a path.
ODD = 'dir with spaces/it\'s "q" (x) $HOME é:c'


def make_db(where: Path, name: str, records: list[tuple[str, str]]) -> Path:
    """A BLAST database built by makeblastdb itself in `where` (any path): run there."""
    where.mkdir(parents=True, exist_ok=True)
    (where / f"{name}.fa").write_text(fasta(records))
    args = ["-in", f"{name}.fa", "-dbtype", "nucl", "-out", name, "-parse_seqids"]
    run_tool("makeblastdb", args, cwd=where)
    return where / name


# -- what BLAST+ 2.12 does (the facts blast_tools.py is built on) ------------------------------


def test_blast_splits_list_arguments_on_whitespace(tmp_path: Path, demo_16s) -> None:
    spaced = tmp_path / "a dir"
    prefix = make_db(spaced, "db", demo_16s[:3])
    # -db is a list: an absolute path with a space is two databases...
    with pytest.raises(BlastToolError, match="No alias or index file"):
        run_tool("blastdbcmd", ["-db", str(prefix), "-info"])
    # ...unless double-quoted inside the value.
    assert "3 sequences" in run_tool("blastdbcmd", ["-db", f'"{prefix}"', "-info"])
    # makeblastdb -out refuses whitespace even quoted.
    (spaced / "x.fa").write_text(fasta(demo_16s[:1]))
    for out in (str(spaced / "out"), f'"{spaced / "out"}"'):
        with pytest.raises(BlastToolError, match="Please provide a database name using -out"):
            run_tool("makeblastdb", ["-in", "x.fa", "-dbtype", "nucl", "-out", out], cwd=spaced)
    # BLASTDB is split on ':' only; the database's own directory with BLASTDB=. always works.
    colon = make_db(tmp_path / "co:lon", "db", demo_16s[:2])
    assert "2 sequences" in run_tool(
        "blastdbcmd", ["-db", database_arg(colon), "-info"], database_dir=DatabaseDir(colon.parent)
    )


def test_database_arg_quotes_whitespace_and_refuses_a_double_quote() -> None:
    assert database_arg(Path("/a b/nt")) == "nt"
    assert database_arg(Path("/x/my db")) == '"my db"'
    with pytest.raises(UnusableBlastPath):
        database_arg(Path('/x/n"t'))


# -- BlastDeck on such paths ---------------------------------------------------------------------


def raw_rows(query_file: Path, prefix: Path) -> list[str]:
    """What plain blastn prints (outfmt 6) against the database."""
    argv = ["-query", str(query_file), "-db", database_arg(prefix), "-outfmt", "6"]
    return run_tool("blastn", argv, database_dir=DatabaseDir(prefix.parent)).splitlines()


def test_serve_on_a_data_dir_with_odd_characters(tmp_path: Path, demo_16s) -> None:
    data_dir = tmp_path / ODD / "data"
    server = Server(data_dir, None)
    server.start()  # used to exit: makeblastdb ... Please provide a database name using -out
    try:
        databases = httpx.get(f"{server.url}/api/databases", timeout=10).json()["items"]
        assert {d["name"] for d in databases} == {"demo-16s", "demo-proteins"}
        assert all(d["available"] for d in databases)
        query = fasta(demo_16s[:3])
        body = {"program": "blastn", "database": "demo-16s", "query": query}
        job_id = httpx.post(f"{server.url}/api/jobs", json=body, timeout=10).json()["id"]
        job = wait_for_job(server.job, job_id)
        assert job["phase"] == "completed", job
        tsv = httpx.get(
            f"{server.url}/api/jobs/{job_id}/download", params={"format": "tsv"}, timeout=60
        )
        assert tsv.status_code == 200
        query_file = tmp_path / "q.fa"
        query_file.write_text(query)
        prefix = data_dir / "databases" / "demo-16s" / "demo-16s"
        assert tsv.text.splitlines()[1:] == raw_rows(query_file, prefix)
        assert job["hsps_total"] == len(tsv.text.splitlines()) - 1
        xml = httpx.get(
            f"{server.url}/api/jobs/{job_id}/download", params={"format": "xml"}, timeout=60
        )
        assert xml.status_code == 200, xml.text
        hits = ET.fromstring(xml.content).findall(".//Hit")
        assert hits and all(h.findtext("Hit_accession") for h in hits)
    finally:
        server.kill()


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BLASTDECK, *args, "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=300
    )


def test_cli_registers_and_builds_on_paths_with_spaces(tmp_path: Path, demo_16s) -> None:
    data_dir = tmp_path / "data"
    existing = make_db(tmp_path / ODD / "blast dbs", "db16", demo_16s[:10])
    added = cli(data_dir, "db", "add", "spaced", str(existing))
    assert added.returncode == 0, added.stderr  # used to say: No BLAST database found
    assert "spaced: nucl, 10 sequences" in added.stdout
    genes = tmp_path / ODD / "my genes (v2).fa"
    genes.write_text(fasta(demo_16s[10:14]))
    built = cli(data_dir, "db", "add", "genes", str(genes))
    assert built.returncode == 0, built.stderr
    assert "genes: nucl, 4 sequences" in built.stdout
    query = tmp_path / ODD / "query file.fa"
    query.write_text(fasta(demo_16s[:2] + demo_16s[10:11]))
    for name, prefix in (("spaced", existing), ("genes", data_dir / "databases/genes/genes")):
        run = cli(data_dir, "submit", str(query), "--db", name, "--program", "blastn", "--wait")
        assert run.returncode == 0, run.stderr
        job_id = re.search(r"blastdeck results (\S+)", run.stdout).group(1)
        out = tmp_path / ODD / f"{name} hits.tsv"
        got = cli(data_dir, "results", job_id, "--format", "tsv", "-O", str(out))
        assert got.returncode == 0, got.stderr
        assert out.read_text().splitlines()[1:] == raw_rows(query, prefix)
