"""Limits: configurable, enforced server-side with a stable code, published at /api/limits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from blastdeck.domain.rate_limit import RateLimiter
from tests.conftest import TEST_PLUGINS, api_job, fasta, make_settings, wait_for_job


class _Hold:
    """Keeps submitted jobs queued, as a busy broker would, so quotas can fill up."""

    def enqueue(self, job_id: str, delay_s: float = 0.0) -> None:
        pass


@contextmanager
def held_client(data_dir: Path, **limits: Any) -> Iterator[TestClient]:
    """Auth on, users alice and bob with tokens, and submitted jobs kept queued."""
    with TestClient(create_app(make_settings(data_dir, auth="on", **limits))) as test_client:
        runtime = test_client.app.state.runtime
        runtime.service._executor = _Hold()
        for name in ("alice", "bob"):
            runtime.users.add(name)
        test_client.tokens = {n: runtime.users.create_token(n) for n in ("alice", "bob")}
        yield test_client


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with held_client(
        tmp_path / "data",
        max_query_letters=3000,
        max_queued_jobs_per_user=2,
        max_active_jobs_per_user=1,
    ) as test_client:
        yield test_client


def submit(client: TestClient, user: str, query: str):  # type: ignore[no-untyped-def]
    body = {"program": "blastn", "database": "demo-16s", "query": query}
    return client.post(
        "/api/jobs", json=body, headers={"Authorization": f"Bearer {client.tokens[user]}"}
    )


def test_limits_are_published(client: TestClient) -> None:
    limits = client.get("/api/limits").json()
    assert limits["max_query_letters_per_job"] == 3000
    assert limits["max_queued_jobs_per_user"] == 2 and limits["max_active_jobs_per_user"] == 1
    assert limits["max_nucleotide_letters_per_sequence"] == 1_000_000
    assert set(limits) >= {"max_sequences_per_job", "max_upload_bytes", "max_defline_chars"}


def test_query_letters_per_job(client: TestClient, demo_16s) -> None:
    response = submit(client, "alice", fasta(demo_16s[:3]))  # ~4,400 letters
    assert response.status_code == 422
    assert response.json()["error_code"] == "query_too_large"
    assert "3,000" in response.json()["message"]


def test_queued_jobs_per_user(client: TestClient, demo_16s) -> None:
    one = fasta(demo_16s[:1])
    assert submit(client, "alice", one).status_code == 202
    assert submit(client, "alice", one).status_code == 202
    third = submit(client, "alice", one)
    assert third.status_code == 429 and third.json()["error_code"] == "quota_exceeded"
    assert submit(client, "bob", one).status_code == 202  # each user has their own quota
    alice = {"Authorization": f"Bearer {client.tokens['alice']}"}
    assert client.get("/api/jobs", headers=alice).json()["total"] == 2  # nothing else stored


def test_blast_cgi_is_held_to_the_same_limits(client: TestClient, demo_16s) -> None:
    put = {
        "CMD": "Put",
        "PROGRAM": "blastn",
        "DATABASE": "demo-16s",
        "QUERY": fasta(demo_16s[:3]),
        "TOKEN": client.tokens["bob"],
    }
    page = client.post("/blast/Blast.cgi", data=put)
    assert page.status_code == 200 and "[query_too_large]" in page.text


def test_running_jobs_per_user(tmp_path: Path, demo_16s) -> None:
    barrier = tmp_path / "barrier"
    settings = make_settings(tmp_path / "data", max_active_jobs_per_user=1, plugins=TEST_PLUGINS)
    with TestClient(create_app(settings)) as client:
        body = {"name": "gate", "engine": "barrier", "settings": {"barrier_dir": str(barrier)}}
        assert client.post("/api/clusters", json=body).status_code == 201
        job = {
            "program": "blastn",
            "database": "demo-16s",
            "query": fasta(demo_16s[:1]),
            "cluster": "gate",
        }
        first = client.post("/api/jobs", json=job).json()
        wait_for_job(api_job(client), first["id"], until=lambda j: j["phase"] == "submitting")
        second = client.post("/api/jobs", json=job)
        assert second.status_code == 429 and second.json()["error_code"] == "quota_exceeded"
        assert "running" in second.json()["message"]
        (barrier / "release-all").touch()
        assert wait_for_job(api_job(client), first["id"])["phase"] == "completed"
        assert client.post("/api/jobs", json=job).status_code == 202  # room again
        (barrier / "release-all").touch()


def test_submits_are_rate_limited_per_user(tmp_path: Path, demo_16s) -> None:
    with held_client(tmp_path / "data", submit_burst=3, submit_rate_per_minute=6) as client:
        one = fasta(demo_16s[:1])
        assert [submit(client, "alice", one).status_code for _ in range(3)] == [202] * 3
        limited = submit(client, "alice", one)
        assert limited.status_code == 429 and limited.json()["error_code"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 10  # 6 a minute: one every 10 s
        assert "try again in" in limited.json()["message"]
        assert submit(client, "bob", one).status_code == 202  # each user has their own bucket
        alice = {"Authorization": f"Bearer {client.tokens['alice']}"}
        assert client.get("/api/jobs", headers=alice).json()["total"] == 3  # refused: not stored


def test_hits_per_query_are_capped(tmp_path: Path, demo_16s) -> None:
    with TestClient(create_app(make_settings(tmp_path / "data", max_hits_per_query=5))) as client:
        assert client.get("/api/limits").json()["max_hits_per_query"] == 5
        body = {"program": "blastn", "database": "demo-16s", "query": fasta(demo_16s[:2])}
        over = client.post("/api/jobs", json={**body, "options": {"max_target_seqs": 6}})
        assert over.status_code == 422 and over.json()["error_code"] == "invalid_option_value"
        assert over.json()["field"] == "options.max_target_seqs"
        job = client.post("/api/jobs", json=body).json()
        assert job["options"] == {"max_target_seqs": 5}  # BLAST's own default would be 500
        done = wait_for_job(api_job(client), job["id"])
        hits = client.get(f"/api/jobs/{job['id']}/hsps", params={"limit": 1000}).json()["items"]
        per_query: dict[str, set[str]] = {}
        for hit in hits:
            per_query.setdefault(hit["query_id"], set()).add(hit["subject_id"])
        assert done["phase"] == "completed" and len(per_query) == 2
        assert all(len(subjects) == 5 for subjects in per_query.values())


def test_rate_limiter_refills_over_time() -> None:
    limiter = RateLimiter(rate_per_minute=60, capacity=2)
    assert limiter.take("u", 0.0) is None and limiter.take("u", 0.0) is None
    assert limiter.take("u", 0.0) == pytest.approx(1.0)
    assert limiter.take("u", 0.5) == pytest.approx(0.5)
    assert limiter.take("u", 1.0) is None  # one a second
    assert limiter.take("v", 1.0) is None  # another key, its own bucket
    assert RateLimiter(rate_per_minute=0, capacity=1).take("u", 0.0) is None  # off
