"""Failures end a job with a stable code, the failing step marked failed, nothing left running."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from fastapi.testclient import TestClient

from tests.conftest import SLOW_OPTIONS, api_job, blast_processes, fasta, wait_for_job


def build_db(client: TestClient, name: str, records) -> dict:
    response = client.post(
        "/api/databases",
        data={"name": name},
        files={"file": (f"{name}.fa", fasta(records).encode(), "text/plain")},
    )
    assert response.status_code == 201, response.text
    return response.json()


def run_job(client: TestClient, database: str, query: str, **extra) -> dict:
    body = {"program": "blastn", "database": database, "query": query, **extra}
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 202, response.text
    return wait_for_job(api_job(client), response.json()["id"])


def assert_failed(job: dict, code: str, step: str) -> None:
    assert job["phase"] == "failed" and job["status"] == "failed", job
    assert job["error_code"] == code and job["error"], job["error"]
    assert job["error_category"] in ("permanent", "transient", "capacity")
    failed = [s["key"] for s in job["steps"] if s["status"] == "failed"]
    assert failed == [step], job["steps"]
    assert not any(s["status"] == "running" for s in job["steps"])
    assert job["poll_after_ms"] is None


def test_database_files_gone(client: TestClient, demo_16s) -> None:
    db = build_db(client, "vanishing", demo_16s[:5])
    for f in Path(db["path"]).parent.iterdir():
        f.unlink()
    job = run_job(client, "vanishing", fasta(demo_16s[:1]))
    assert_failed(job, "database_files_missing", "preparing")
    assert "vanishing" in job["error"]


def test_corrupt_database_fails_the_search(client: TestClient, demo_16s) -> None:
    db = build_db(client, "corrupt", demo_16s[:30])
    for f in Path(db["path"]).parent.glob("corrupt.n[si][qn]"):
        f.write_bytes(b"\x00garbage" * 10)
    job = run_job(client, "corrupt", fasta(demo_16s[:1]))
    assert_failed(job, "blast_search_failed", "running")
    assert "BLAST" in job["error"]


def test_blast_process_killed_mid_run(client: TestClient, demo_16s) -> None:
    body = {
        "program": "blastn",
        "database": "demo-16s",
        "query": fasta(demo_16s[:24]),
        "options": SLOW_OPTIONS,
    }
    job_id = client.post("/api/jobs", json=body).json()["id"]
    wait_for_job(api_job(client), job_id, until=lambda j: j["phase"] == "running")
    deadline = time.monotonic() + 30
    while not (pids := blast_processes(job_id)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pids, "no BLAST process seen"
    os.kill(pids[0], signal.SIGKILL)
    job = wait_for_job(api_job(client), job_id)
    assert_failed(job, "blast_search_failed", "running")
    assert "signal 9" in job["error"]
    deadline = time.monotonic() + 5
    while blast_processes(job_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert blast_processes(job_id) == [], "the job's other batches kept running after it failed"


def test_cancel_while_queued_never_runs(client: TestClient, demo_16s) -> None:
    runtime = client.app.state.runtime
    executor, runtime.service._executor = runtime.service._executor, _Hold()
    try:
        body = {"program": "blastn", "database": "demo-16s", "query": fasta(demo_16s[:1])}
        job_id = client.post("/api/jobs", json=body).json()["id"]
    finally:
        runtime.service._executor = executor
    response = client.post(f"/api/jobs/{job_id}/cancel")
    assert response.status_code == 202 and response.json()["phase"] == "cancelled"
    executor.enqueue(job_id)  # the queued message arrives after the cancel
    time.sleep(0.5)
    job = api_job(client)(job_id)
    assert job["phase"] == "cancelled"
    assert all(s["status"] == "pending" for s in job["steps"])
    kinds = [e["kind"] for e in client.get(f"/api/jobs/{job_id}/events").json()["items"]]
    assert kinds == ["created", "cancel_requested", "cancelled"]


class _Hold:
    """An executor that keeps jobs queued (as a broker does before a worker takes them)."""

    def enqueue(self, job_id: str, delay_s: float = 0.0) -> None:
        pass
