"""Big inputs: 10,000 queries in one job (submitted, batch progress shown, cancelled), and
multi-volume databases (an alias over volumes, from `makeblastdb -max_file_sz` as NCBI ships
large ones, and from `blastdb_aliastool` over separate databases): registered, staged volume by
volume (bytes copied reported, unchanged volumes kept) and searched with BLAST's own answer.
Real BLAST+, real jobs; the 10,000-query timings are in bench/big_inputs.py."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text as sa_text

from blastdeck.api.app import create_app
from blastdeck.database_files import database_files
from blastdeck.store.database import make_engine, make_session_factory, migrate
from blastdeck.store.jobs import JobStore
from blastdeck.store.new_job import NewJob
from tests.conftest import (
    api_job,
    blast_processes,
    fasta,
    make_settings,
    pg_database,
    wait_for_job,
)
from tests.test_staging import run, staging, tmpfs  # noqa: F401 (tmpfs: a fixture)

OPTIONS = {"evalue": 1e-5}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("big") / "data")
    with TestClient(create_app(settings)) as test_client:
        # 10,000 short queries are one BLAST query batch (one process, no progress to show)
        # unless the cluster splits finer: `batch_letters` gives this job many batches.
        body = {
            "name": "fine",
            "engine": "local",
            "slots": 2,
            "settings": {"batch_letters": "20000"},
        }
        assert test_client.post("/api/clusters", json=body).status_code in (200, 201)
        yield test_client


def tool(args: list[str], cwd: Path) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def raw_hsps(directory: Path, database: str, query: str) -> int:
    """Rows BLAST itself prints for the query against the database (run beside its files)."""
    (directory / "raw-query.fa").write_text(query)
    out = tool(
        ["blastn", "-query", "raw-query.fa", "-db", database, "-evalue", "1e-5", "-outfmt", "6"],
        directory,
    )
    return len(out.splitlines())


def submit(client: TestClient, database: str, query: str, cluster: str = "local") -> dict:
    body = {
        "program": "blastn",
        "database": database,
        "query": query,
        "cluster": cluster,
        "options": OPTIONS,
    }
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 202, response.text
    return response.json()


def register(client: TestClient, name: str, prefix: Path) -> dict:
    response = client.post("/api/databases", json={"name": name, "path": str(prefix)})
    assert response.status_code == 201, response.text
    return response.json()


def copied_bytes(message: str) -> int:
    found = re.search(r"([\d,]+) bytes copied", message)
    assert found, message
    return int(found.group(1).replace(",", ""))


def test_a_multi_volume_database_is_staged_volume_by_volume_and_searched(
    client: TestClient,
    demo_16s,
    tmpfs: Path,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    source = tmp_path / "volumes"
    source.mkdir()
    (source / "all.fa").write_text(fasta(demo_16s))
    tool(
        ["makeblastdb", "-in", "all.fa", "-dbtype", "nucl", "-out", "mv", "-max_file_sz", "10kB"],
        source,
    )
    volumes = sorted(p.stem for p in source.glob("mv.*.nin"))
    assert len(volumes) >= 3 and (source / "mv.nal").is_file()
    assert register(client, "mv", source / "mv")["sequences"] == len(demo_16s)
    added = client.post(
        "/api/clusters",
        json={"name": "mv-tmpfs", "engine": "local", "settings": {"scratch_dir": str(tmpfs)}},
    )
    assert added.status_code == 201, added.text

    query = fasta(demo_16s[-3:])  # from the last volume: every volume must be searched
    job = wait_for_job(api_job(client), submit(client, "mv", query, "mv-tmpfs")["id"])
    assert job["phase"] == "completed", job
    assert job["hsps_total"] == raw_hsps(source, "mv", query) > 0
    step, message = staging(client, job)
    assert step["status"] == "completed"
    files = database_files(source / "mv")
    assert copied_bytes(message) == sum(p.stat().st_size for p in files)
    assert f"0 of {len(volumes)} volumes already warm" in message
    assert {p.name for p in (tmpfs / "dbs" / "mv").iterdir()} >= {p.name for p in files}

    # One volume changes (a new release of it): only its files are copied again.
    changed = source / f"{volumes[1]}.nsq"
    stat = changed.stat()
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    again = wait_for_job(api_job(client), submit(client, "mv", query, "mv-tmpfs")["id"])
    assert again["phase"] == "completed" and again["hsps_total"] == job["hsps_total"]
    step, message = staging(client, again)
    assert step["status"] == "completed"
    assert copied_bytes(message) == changed.stat().st_size
    assert f"{len(volumes) - 1} of {len(volumes)} volumes already warm" in message

    third = wait_for_job(api_job(client), submit(client, "mv", query, "mv-tmpfs")["id"])
    assert staging(client, third)[0]["status"] == "skipped"  # all warm: nothing to do


def test_an_alias_over_separate_databases_is_searched_and_a_missing_volume_named(
    client: TestClient, demo_16s, tmp_path: Path
) -> None:
    source = tmp_path / "alias"
    source.mkdir()
    half = len(demo_16s) // 2
    for stem, records in (("partA", demo_16s[:half]), ("partB", demo_16s[half:])):
        (source / f"{stem}.fa").write_text(fasta(records))
        tool(["makeblastdb", "-in", f"{stem}.fa", "-dbtype", "nucl", "-out", stem], source)
    tool(
        [
            "blastdb_aliastool",
            "-dblist",
            "partA partB",
            "-dbtype",
            "nucl",
            "-out",
            "both",
            "-title",
            "both",
        ],
        source,
    )
    assert register(client, "both", source / "both")["sequences"] == len(demo_16s)
    query = fasta([demo_16s[0], demo_16s[-1]])  # one from each database
    job = wait_for_job(api_job(client), submit(client, "both", query)["id"])
    assert job["phase"] == "completed", job
    assert job["hsps_total"] == raw_hsps(source, "both", query) > 0
    assert {p.name for p in database_files(source / "both")} >= {"partA.nsq", "partB.nsq"}

    (source / "partB.nin").unlink()
    listed = {d["name"]: d for d in client.get("/api/databases").json()["items"]}
    assert listed["both"]["available"] is False
    assert "partB" in listed["both"]["unavailable_reason"]
    failed = wait_for_job(api_job(client), submit(client, "both", query)["id"])
    assert failed["phase"] == "failed" and failed["error_code"] == "database_files_missing"
    assert "partB" in failed["error"]


def test_ten_thousand_queries_submit_show_batch_progress_and_cancel(
    client: TestClient, demo_16s
) -> None:
    fragments = [
        (f"q{i}", sequence[offset : offset + 60])
        for i, (offset, (_, sequence)) in enumerate(
            (offset, record) for offset in range(0, 1000, 20) for record in demo_16s
        )
    ][:10_000]
    assert len(fragments) == 10_000
    started = time.monotonic()
    job = submit(client, "demo-16s", fasta(fragments), cluster="fine")
    submit_s = time.monotonic() - started
    assert job["query_count"] == 10_000
    assert submit_s < 10, f"submit took {submit_s:.1f} s"  # the 2 s target: bench/big_inputs.py
    running = wait_for_job(
        api_job(client),
        job["id"],
        until=lambda j: j["phase"] == "running" and j["progress"]["batches_total"] > 1,
    )
    assert running["progress"]["batches_done"] < running["progress"]["batches_total"]
    started = time.monotonic()
    assert client.post(f"/api/jobs/{job['id']}/cancel").status_code == 202
    ended = wait_for_job(api_job(client), job["id"], timeout=30)
    cancel_s = time.monotonic() - started
    assert ended["phase"] == "cancelled"
    assert cancel_s < 10, f"cancel took {cancel_s:.1f} s"
    assert blast_processes(job["id"]) == []
    queries = client.get(f"/api/jobs/{job['id']}/query").text
    assert queries.count(">") == 10_000


def test_a_big_query_is_stored_with_fast_compression_on_postgresql(demo_16s) -> None:
    with pg_database() as url:
        engine = make_engine(url)
        try:
            migrate(engine)
            store = JobStore(make_session_factory(engine))
            text = fasta(demo_16s) * 4  # ~1 MB: stored compressed, out of line
            new = NewJob("t", "blastn", "demo-16s", "local", "default", {}, text, 800, 1)
            job_id = store.create(new).id
            with engine.connect() as connection:
                method = connection.execute(
                    sa_text(
                        "SELECT pg_column_compression(fasta) FROM job_queries WHERE job_id = :id"
                    ),
                    {"id": job_id},
                ).scalar()
            assert method == "lz4"  # pglz, PostgreSQL's default, is ~5x slower to write
            assert store.query_fasta(job_id) == text
        finally:
            engine.dispose()
