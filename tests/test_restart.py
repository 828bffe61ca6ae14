"""A server killed mid-job (kill -9) and started again: the job resumes and completes.

Real `blastdeck serve` processes, real BLAST+, SQLite and PostgreSQL.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import SLOW_OPTIONS, Server, blast_processes, fasta, raw_hit_count, wait_for_job


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend_name(request: pytest.FixtureRequest) -> str:
    """Embedded mode only: the distributed restart cases are in test_distributed_faults.py."""
    return request.param


@pytest.fixture
def server(tmp_path: Path, database_url: str | None) -> Iterator[Server]:
    srv = Server(tmp_path / "data", database_url)
    yield srv
    if srv.proc and srv.proc.poll() is None:
        srv.kill(signal.SIGTERM)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_job_survives_a_server_restart(server: Server, demo_16s, how: int) -> None:
    server.start()
    query = fasta(demo_16s[:24])
    body = {"program": "blastn", "database": "demo-16s", "query": query, "options": SLOW_OPTIONS}
    job = httpx.post(f"{server.url}/api/jobs", json=body, timeout=30).json()
    wait_for_job(server.job, job["id"], until=lambda j: j["phase"] == "running", timeout=60)
    time.sleep(1.0)  # let some batches be mid-run
    server.kill(how)

    server.start()
    done = wait_for_job(server.job, job["id"], timeout=240)
    assert done["phase"] == "completed", done
    assert all(s["status"] in ("completed", "skipped") for s in done["steps"])
    kinds = [
        e["kind"] for e in httpx.get(f"{server.url}/api/jobs/{job['id']}/events").json()["items"]
    ]
    assert "recovered" in kinds and "resumed" in kinds
    assert blast_processes(job["id"]) == [], "a BLAST process outlived its job"

    # Same hits as one uninterrupted BLAST+ run over the same queries.
    data = Path(server.env["BLASTDECK_DATA_DIR"])
    assert done["hsps_total"] == raw_hit_count(data, query, data)
