"""The CLI's taxonomy report and column picks (`blastdeck results ID --taxonomy`, `--columns`)
on the data dir and through a server, against the API's answers for the same finished job."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blastdeck.domain.wording import counted
from tests.conftest import BLASTDECK, Server, fasta
from tests.support import taxdb

# The finished job on a taxid database, and its app (module-scoped fixtures).
client, job, taxonomy = taxdb.client, taxdb.job, taxdb.taxonomy


def _data_dir(client: TestClient) -> Path:
    return Path(client.app.state.runtime.settings.data_dir)


def _cli(*args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess:
    extra = ["--data-dir", str(data_dir)] if data_dir else []
    env = dict(os.environ, COLUMNS="250")  # no wrapping of names in the tables
    return subprocess.run(
        [BLASTDECK, *args, *extra], capture_output=True, text=True, timeout=120, env=env
    )


@pytest.fixture(scope="module")
def server(client: TestClient):
    running = Server(_data_dir(client), None)
    running.start()
    yield running
    running.kill()


NO_TAXIDS = "None of these subjects has a taxid"


def test_a_report_on_a_database_without_taxids_says_why(tmp_path: Path, demo_16s) -> None:
    """A database added without taxids: the report's one row is "(no taxid)", and the CLI says
    how a database gets taxids rather than leaving a table of one pseudo-organism."""
    query, genes = tmp_path / "q.fa", tmp_path / "genes.fa"
    query.write_text(fasta(demo_16s[:1]))
    genes.write_text(fasta(demo_16s))
    data_dir = tmp_path / "data"
    added = _cli("db", "add", "plain", str(genes), data_dir=data_dir)
    assert added.returncode == 0, added.stderr
    submitted = _cli("submit", str(query), "--db", "plain", "--wait", data_dir=data_dir)
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.split("blastdeck results ")[1].split()[0]
    done = _cli("results", job_id, "--taxonomy", data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    assert "(no taxid)" in done.stdout and NO_TAXIDS in done.stdout
    assert "--taxid-map" in done.stdout


def _check_report(out: str, report: dict) -> None:
    lines = out.splitlines()
    which = "the whole job" if report["query_index"] is None else f"query {report['query_id']}"
    said = f"{counted(report['hits'], 'hit')}, {counted(report['subjects'], 'subject')}"
    assert lines[0] == f"{said}: {which}"
    for node in report["tree"][:10]:
        assert any(
            (node["name"] or "(no taxid)") in line and f" {node['hits']} " in line for line in lines
        ), node
    for organism in report["organisms"]:
        assert (organism["scientific_name"] or "(no taxid)") in out


def test_taxonomy_report_on_the_data_dir(client: TestClient, job: dict) -> None:
    done = _cli("results", job["id"], "--taxonomy", data_dir=_data_dir(client))
    assert done.returncode == 0, done.stderr
    _check_report(done.stdout, client.get(f"/api/jobs/{job['id']}/taxonomy").json())
    assert NO_TAXIDS not in done.stdout
    done = _cli(
        "results", job["id"], "--taxonomy", "--rank", "genus", "--query-index", "1",
        data_dir=_data_dir(client),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    params = {"rank": "genus", "query_index": 1}
    _check_report(done.stdout, client.get(f"/api/jobs/{job['id']}/taxonomy", params=params).json())


def test_taxonomy_report_through_a_server(client: TestClient, job: dict, server) -> None:
    done = _cli("results", job["id"], "--taxonomy", "--rank", "family", "--server", server.url)
    assert done.returncode == 0, done.stderr
    report = client.get(f"/api/jobs/{job['id']}/taxonomy", params={"rank": "family"}).json()
    _check_report(done.stdout, report)


@pytest.mark.parametrize(
    "columns", ["std,staxid,sscinames,sskingdoms", "ext,btop,staxids,sscinames"]
)  # from the hit tables; from blast_formatter on the archives
def test_columns(client: TestClient, job: dict, server, columns: str) -> None:
    expected = client.get(
        f"/api/jobs/{job['id']}/download", params={"format": "csv", "columns": columns}
    ).content
    for where in (["--data-dir", str(_data_dir(client))], ["--server", server.url]):
        done = subprocess.run(
            [BLASTDECK, "results", job["id"], "--format", "csv", "--columns", columns, *where],
            capture_output=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout == expected


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--columns", "qseqid,nope"], "unknown_column"),
        (["--columns", "ext,,qseq"], "unknown_column"),
        (["--format", "json", "--columns", "std"], "invalid_request"),
        (["--taxonomy", "--rank", "strain"], "invalid_request"),
        (["--taxonomy", "--query-index", "99"], "not_found"),
    ],
)
def test_bad_input(client: TestClient, job: dict, server, args: list[str], code: str) -> None:
    for where in (["--data-dir", str(_data_dir(client))], ["--server", server.url]):
        done = _cli("results", job["id"], *args, *where)
        assert done.returncode == 2, (done.stdout, done.stderr)
        assert f"error {code}:" in done.stderr
