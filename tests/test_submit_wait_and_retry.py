"""Embedded mode: waiting for a submit slot (and its deadline), transient retries, and
clusters from the config file. The barrier engine is the only test double (tests/support)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from blastdeck.config import ClusterConfig
from tests.conftest import TEST_PLUGINS, api_job, fasta, make_settings, wait_for_job


@pytest.fixture
def app_factory(tmp_path: Path) -> Iterator:
    clients: list[TestClient] = []

    def make(**overrides) -> TestClient:
        settings = make_settings(tmp_path / "data", plugins=TEST_PLUGINS, **overrides)
        client = TestClient(create_app(settings))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def add_barrier_cluster(client: TestClient, name: str, barrier: Path) -> None:
    body = {
        "name": name,
        "engine": "barrier",
        "slots": 1,
        "settings": {"barrier_dir": str(barrier)},
    }
    assert client.post("/api/clusters", json=body).status_code == 201


def submit(client: TestClient, query: str, cluster: str = "local") -> str:
    body = {"program": "blastn", "database": "demo-16s", "query": query, "cluster": cluster}
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def wait_file(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.02)


def test_embedded_wait_for_the_slot_then_submit(app_factory, tmp_path: Path, demo_16s) -> None:
    client = app_factory(submit_backoff_max_s=0.3)
    barrier = tmp_path / "barrier"
    add_barrier_cluster(client, "bench", barrier)
    query = fasta(demo_16s[:1])
    a = submit(client, query, "bench")
    wait_file(barrier / f"{a}.submit-start")
    b = submit(client, query, "bench")
    job = wait_for_job(api_job(client), b, until=lambda j: j["phase"] == "waiting_for_submit_slot")
    assert job["error_code"] == "blast_submit_lock_busy"
    assert job["waiting_for"]["holder_job_id"] == a
    (barrier / "release-all").touch()
    for job_id in (a, b):
        assert wait_for_job(api_job(client), job_id)["phase"] == "completed"
    waits = [
        e for e in client.get(f"/api/jobs/{b}/events").json()["items"] if e["kind"] == "waiting"
    ]
    assert len(waits) == 1, "one wait event per wait, not one per back-off round"


def test_wait_deadline_fails_the_job_with_its_code(app_factory, tmp_path: Path, demo_16s) -> None:
    client = app_factory(submit_backoff_max_s=0.2, submit_wait_deadline_s=1)
    barrier = tmp_path / "barrier"
    add_barrier_cluster(client, "busy", barrier)
    query = fasta(demo_16s[:1])
    a = submit(client, query, "busy")
    wait_file(barrier / f"{a}.submit-start")
    b = submit(client, query, "busy")
    job = wait_for_job(api_job(client), b, timeout=30)
    assert job["phase"] == "failed"
    assert job["error_code"] == "blast_submit_slot_wait_deadline_exceeded"
    assert job["error_category"] == "capacity"
    assert "busy" in job["error"] and "default" in job["error"]
    assert [s["key"] for s in job["steps"] if s["status"] == "failed"] == ["submitting"]
    assert not (barrier / f"{b}.submit-start").exists()
    (barrier / "release-all").touch()
    assert wait_for_job(api_job(client), a)["phase"] == "completed"


def test_transient_failures_retry_with_back_off_then_fail(
    app_factory, tmp_path: Path, demo_16s
) -> None:
    not_a_dir = tmp_path / "scratch-is-a-file"
    not_a_dir.write_text("x")
    settings = {"scratch_dir": str(not_a_dir)}
    # In the config file: a cluster added at run time with such a scratch dir is refused.
    broken = ClusterConfig(name="broken", engine="local", settings=settings)
    client = app_factory(max_attempts=3, retry_backoff_s=0.1, clusters=[broken])
    refused = client.post(
        "/api/clusters", json={"name": "broken2", "engine": "local", "settings": settings}
    )
    assert refused.status_code == 422 and refused.json()["field"] == "settings.scratch_dir"
    job = wait_for_job(api_job(client), submit(client, fasta(demo_16s[:1]), "broken"))
    assert job["phase"] == "failed" and job["error_code"] == "staging_failed"
    assert job["error_category"] == "transient"
    events = client.get(f"/api/jobs/{job['id']}/events").json()["items"]
    retries = [e for e in events if e["kind"] == "retry_scheduled"]
    assert len(retries) == 2 and all(e["error_code"] == "staging_failed" for e in retries)
    assert "attempt 2 of 3" in retries[0]["message"] and "attempt 3 of 3" in retries[1]["message"]
    assert not any(s["status"] == "running" for s in job["steps"])


def test_clusters_from_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from blastdeck.config import load_settings

    data = tmp_path / "data"
    data.mkdir()
    (data / "blastdeck.toml").write_text(
        '[[clusters]]\nname = "bigbox"\nengine = "local"\nslots = 1\n'
        'settings = { namespaces = "default,teaching" }\n'
        '[[clusters]]\nname = "east"\nengine = "local"\nnamespace = "lab"\n'
    )
    monkeypatch.delenv("BLASTDECK_DATA_DIR", raising=False)
    settings = load_settings(data_dir=data)
    with TestClient(create_app(settings)) as client:
        clusters = {c["name"]: c for c in client.get("/api/clusters").json()["items"]}
        assert set(clusters) == {"local", "bigbox", "east"}
        assert clusters["bigbox"]["namespaces"] == ["default", "teaching"]
        assert clusters["east"]["namespace"] == "lab"
        query = ">q\n" + "ACGT" * 30 + "\n"
        body = {"program": "blastn", "database": "demo-16s", "query": query, "cluster": "east"}
        job = client.post("/api/jobs", json=body).json()
        assert job["namespace"] == "lab"  # the cluster's default namespace, not a constant
        bad = {**body, "cluster": "bigbox", "namespace": "other"}
        assert client.post("/api/jobs", json=bad).json()["error_code"] == "invalid_namespace"
        wait_for_job(api_job(client), job["id"])
