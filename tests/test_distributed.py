"""Distributed mode: per-(cluster, namespace) submit lock, parallel submits, cancel, reconcile.

Real Redis, real PostgreSQL, real `blastdeck worker` processes. The only test double is the
barrier engine (tests/support/barrier_engine.py), whose submit step waits until the test
releases it, so "were two submits inside the submit step at once?" has a certain answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from tests.conftest import (
    SLOW_OPTIONS,
    Workers,
    api_job,
    blast_processes,
    distributed_settings,
    fasta,
    pg_database,
    wait_for_job,
)


class Deployment:
    def __init__(self, client: TestClient, workers: Workers, barrier: Path) -> None:
        self.client, self.workers, self.barrier = client, workers, barrier
        self.get = api_job(client)

    def add_cluster(self, name: str, namespaces: str = "default") -> None:
        body = {
            "name": name,
            "engine": "barrier",
            "namespace": "default",
            "slots": 1,
            "settings": {"barrier_dir": str(self.barrier), "namespaces": namespaces},
        }
        response = self.client.post("/api/clusters", json=body)
        assert response.status_code in (201, 409), response.text

    def submit(self, query: str, cluster: str, namespace: str = "default") -> str:
        body = {
            "program": "blastn",
            "database": "demo-16s",
            "query": query,
            "cluster": cluster,
            "namespace": namespace,
        }
        response = self.client.post("/api/jobs", json=body)
        assert response.status_code == 202, response.text
        return response.json()["id"]

    def marker(self, job_id: str, what: str) -> Path:
        return self.barrier / f"{job_id}.{what}"

    def wait_marker(self, job_id: str, what: str, timeout: float = 60) -> float:
        deadline = time.monotonic() + timeout
        while not self.marker(job_id, what).exists():
            assert time.monotonic() < deadline, f"{job_id} never reached {what}"
            time.sleep(0.02)
        time.sleep(0.01)  # the writer may still be writing the timestamp
        return float(self.marker(job_id, what).read_text())

    def release(self, job_id: str) -> None:
        self.marker(job_id, "release").touch()

    def events(self, job_id: str) -> list[dict]:
        return self.client.get(f"/api/jobs/{job_id}/events").json()["items"]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("distributed")
    with ExitStack() as stack:
        url = stack.enter_context(pg_database())
        settings = distributed_settings(root / "data", url, submit_backoff_max_s=0.5)
        client = stack.enter_context(TestClient(create_app(settings)))
        workers = Workers(settings)
        stack.callback(workers.stop_all)
        workers.start(concurrency=2)
        workers.start(concurrency=2)
        yield Deployment(client, workers, root / "barrier")


@pytest.fixture
def query(demo_16s) -> str:
    return fasta(demo_16s[:1])


def test_submits_to_different_clusters_overlap(deployment: Deployment, query: str) -> None:
    d = deployment
    d.add_cluster("east")
    d.add_cluster("west")
    a, b = d.submit(query, "east"), d.submit(query, "west")
    # Both are inside their submit step at the same time: neither has been released yet.
    d.wait_marker(a, "submit-start")
    d.wait_marker(b, "submit-start")
    assert not d.marker(a, "submit-end").exists() and not d.marker(b, "submit-end").exists()
    # A local submit's start is written with the running step's, or by the steps' timer once
    # the submit has taken WRITE_AFTER_S (step_records.py): shown within that, not at once.
    for job_id in (a, b):
        wait_for_job(d.get, job_id, until=lambda j: j["phase"] == "submitting", timeout=10)
    assert not d.marker(a, "submit-end").exists() and not d.marker(b, "submit-end").exists()
    for job_id in (a, b):
        d.release(job_id)
    for job_id in (a, b):
        assert wait_for_job(d.get, job_id)["phase"] == "completed"


def test_same_cluster_and_namespace_serialize(deployment: Deployment, query: str) -> None:
    d = deployment
    d.add_cluster("north")
    a = d.submit(query, "north")
    d.wait_marker(a, "submit-start")
    b = d.submit(query, "north")
    waiting = wait_for_job(d.get, b, until=lambda j: j["phase"] == "waiting_for_submit_slot")
    assert waiting["error_code"] == "blast_submit_lock_busy"
    assert waiting["error_category"] == "capacity" and waiting["status"] == "running"
    assert waiting["poll_after_ms"] == 1000
    assert waiting["waiting_for"]["holder_job_id"] == a
    assert (waiting["waiting_for"]["cluster"], waiting["waiting_for"]["namespace"]) == (
        "north",
        "default",
    )
    submit_step = next(s for s in waiting["steps"] if s["key"] == "submitting")
    assert submit_step["status"] == "running"  # waiting, not failed
    wait_event = next(e for e in d.events(b) if e["kind"] == "waiting")
    assert "north" in wait_event["message"] and "default" in wait_event["message"]
    assert wait_event["error_code"] == "blast_submit_lock_busy"
    slots = next(c for c in d.client.get("/api/clusters").json()["items"] if c["name"] == "north")
    holder = next(s for s in slots["submit_slots"] if s["namespace"] == "default")
    assert holder["holder_job_id"] == a and 0 < holder["ttl_ms"] <= 900_000
    time.sleep(1.5)  # several back-off rounds: B must still not be inside its submit step
    assert not d.marker(b, "submit-start").exists()

    d.release(a)
    a_end = d.wait_marker(a, "submit-end")
    b_start = d.wait_marker(b, "submit-start")
    assert b_start >= a_end, "the second submit started before the first one ended"
    d.release(b)
    done = wait_for_job(d.get, b)
    assert done["phase"] == "completed" and done["error_code"] is None
    assert wait_for_job(d.get, a)["phase"] == "completed"


def test_same_cluster_different_namespaces_overlap(deployment: Deployment, query: str) -> None:
    d = deployment
    d.add_cluster("south", namespaces="default,team-b")
    a, b = d.submit(query, "south", "default"), d.submit(query, "south", "team-b")
    d.wait_marker(a, "submit-start")
    d.wait_marker(b, "submit-start")
    assert not d.marker(a, "submit-end").exists()
    d.release(a)
    d.release(b)
    for job_id in (a, b):
        assert wait_for_job(d.get, job_id)["phase"] == "completed"


def test_unknown_namespace_of_a_cluster(deployment: Deployment, query: str) -> None:
    deployment.add_cluster("south", namespaces="default,team-b")
    body = {
        "program": "blastn",
        "database": "demo-16s",
        "query": query,
        "cluster": "south",
        "namespace": "team-c",
    }
    response = deployment.client.post("/api/jobs", json=body)
    assert response.status_code == 422 and response.json()["error_code"] == "invalid_namespace"


def test_cancel_while_waiting_for_the_slot_never_submits(
    deployment: Deployment, query: str
) -> None:
    d = deployment
    d.add_cluster("harbor")
    a = d.submit(query, "harbor")
    d.wait_marker(a, "submit-start")
    b = d.submit(query, "harbor")
    wait_for_job(d.get, b, until=lambda j: j["phase"] == "waiting_for_submit_slot")
    response = d.client.post(f"/api/jobs/{b}/cancel")
    assert response.status_code == 202 and response.json()["phase"] == "cancelled"
    d.release(a)
    assert wait_for_job(d.get, a)["phase"] == "completed"
    time.sleep(1.5)  # any back-off retry of B has come and gone
    job = d.get(b)
    assert job["phase"] == "cancelled" and job["error_code"] == "cancelled"
    assert not d.marker(b, "submit-start").exists(), "a cancelled job was submitted"
    assert next(s for s in job["steps"] if s["key"] == "submitting")["status"] != "completed"


def test_cancel_while_running_stops_blast(deployment: Deployment, demo_16s) -> None:
    body = {
        "program": "blastn",
        "database": "demo-16s",
        "query": fasta(demo_16s[:24]),
        "options": SLOW_OPTIONS,
    }
    job_id = deployment.client.post("/api/jobs", json=body).json()["id"]
    wait_for_job(deployment.get, job_id, until=lambda j: j["phase"] == "running")
    assert deployment.client.post(f"/api/jobs/{job_id}/cancel").status_code == 202
    job = wait_for_job(deployment.get, job_id)
    assert job["phase"] == "cancelled"
    deadline = time.monotonic() + 5
    while blast_processes(job_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert blast_processes(job_id) == []
