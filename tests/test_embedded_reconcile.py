"""Recovery without a babysitter in embedded mode: the server re-runs, every
`reconcile_interval_s`, a job whose run ended without ending it, as distributed workers do.

A run that ends so is made to happen on purpose (its lease reported lost once, the way a
stalled heartbeat would): the thing under test is what the server does afterwards, with real
BLAST runs."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from blastdeck import pipeline
from blastdeck.api.app import create_app
from blastdeck.runtime import Runtime
from blastdeck.store.database import make_engine, make_session_factory, migrate
from blastdeck.store.jobs import JobStore
from blastdeck.store.new_job import NewJob
from tests.conftest import (
    SLOW_OPTIONS,
    api_job,
    blast_processes,
    fasta,
    make_settings,
    wait_for_job,
)

RECONCILE_S = 1.0


def _lose_the_lease_once(monkeypatch: pytest.MonkeyPatch, method: str) -> list[str]:
    """The first job through `Pipeline.<method>` has its run end there as if its lease had been
    lost (the run returns without ending the job); returns the ids of the jobs it happened to."""
    stranded: list[str] = []
    real = getattr(pipeline.Pipeline, method)

    def once(self: pipeline.Pipeline, job: Any, *args: Any, **kwargs: Any) -> Any:
        if not stranded:
            stranded.append(job.id)
            raise pipeline._LeaseLost
        return real(self, job, *args, **kwargs)

    monkeypatch.setattr(pipeline.Pipeline, method, once)
    return stranded


def _client(tmp_path: Path) -> TestClient:
    settings = make_settings(tmp_path / "data", reconcile_interval_s=RECONCILE_S)
    return TestClient(create_app(settings))


def test_a_job_whose_run_ended_early_completes_without_a_restart(
    tmp_path: Path, demo_16s, monkeypatch: pytest.MonkeyPatch
) -> None:
    stranded = _lose_the_lease_once(monkeypatch, "_run")
    with _client(tmp_path) as client:
        body = {"program": "blastn", "database": "demo-16s", "query": fasta(demo_16s[:2])}
        job_id = client.post("/api/jobs", json=body).json()["id"]
        job = wait_for_job(api_job(client), job_id, timeout=60)
        assert stranded == [job_id]
        assert job["phase"] == "completed", job
        kinds = [e["kind"] for e in client.get(f"/api/jobs/{job_id}/events").json()["items"]]
        assert "recovered" in kinds, kinds


def test_a_cancel_of_a_stranded_job_ends_it(
    tmp_path: Path, demo_16s, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fuzzer's "accepted job still cancelling": a job left in its running step by a run
    that ended early is cancelled, and its BLAST processes killed, by the next reconcile."""
    stranded = _lose_the_lease_once(monkeypatch, "_run")
    reconciles = threading.Event()  # the periodic reconcile waits until the cancel is in
    real = Runtime.reconcile

    def after_the_cancel(self: Runtime) -> int:
        return real(self) if reconciles.is_set() else 0

    monkeypatch.setattr(Runtime, "reconcile", after_the_cancel)
    with _client(tmp_path) as client:
        body = {
            "program": "blastn",
            "database": "demo-16s",
            "query": fasta(demo_16s[:20]),
            "options": SLOW_OPTIONS,
        }
        job_id = client.post("/api/jobs", json=body).json()["id"]
        running = wait_for_job(api_job(client), job_id, until=lambda j: j["phase"] == "running")
        deadline = time.monotonic() + 10
        while not stranded and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stranded == [job_id], running
        cancelled = client.post(f"/api/jobs/{job_id}/cancel").json()
        assert cancelled["phase"] == "cancelling", cancelled
        time.sleep(2 * RECONCILE_S)
        assert api_job(client)(job_id)["phase"] == "cancelling"  # nothing else would end it
        reconciles.set()
        job = wait_for_job(api_job(client), job_id, timeout=30)
        assert job["phase"] == "cancelled", job
        assert blast_processes(job_id) == []


def test_a_late_heartbeat_does_not_take_back_a_lease_its_run_gave_back(tmp_path: Path) -> None:
    """A heartbeat whose renewal was still waiting on a busy database when its run ended and
    gave the lease back: the renewal keeps a lease it holds and takes none, so the job's next
    run (another owner) can claim it at once (the old renewal, a claim, took the free lease
    and that next run returned without running the job)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    migrate(engine)
    jobs = JobStore(make_session_factory(engine))
    new = NewJob("t", "blastn", "demo-16s", "local", "default", {}, ">q\nACGT\n", 1, 4)
    job_id = jobs.create(new).id
    assert jobs.claim_and_get(job_id, "run-1", 30) is not None
    assert jobs.renew_claim(job_id, "run-1", 30)  # while it runs
    assert not jobs.renew_claim(job_id, "run-2", 30)  # not its lease
    jobs.release_claim(job_id, "run-1")
    assert not jobs.renew_claim(job_id, "run-1", 30)  # late: its run has ended
    assert jobs.get(job_id).lease_owner is None
    assert jobs.claim_and_get(job_id, "run-2", 30) is not None
