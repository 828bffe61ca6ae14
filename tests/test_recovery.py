"""Recovery without a babysitter: a deployment of `serve` + workers, and no `beat`, picks up
every job a dead worker, a lost broker message or a dead API left behind, on its own.

The workers here run with the default broker visibility timeout (one hour), so nothing is given
back by Redis in the test's lifetime: only the workers' own periodic reconcile can recover.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import redis
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from blastdeck.executors.celery import CeleryExecutor
from blastdeck.redis_keys import maintenance_key
from blastdeck.runtime import Runtime
from blastdeck.worker import Maintenance
from tests.conftest import (
    BLASTDECK,
    REDIS_URL,
    SLOW_OPTIONS,
    Workers,
    api_job,
    blast_processes,
    distributed_settings,
    fasta,
    free_port,
    pg_database,
    raw_hit_count,
    settings_env,
    wait_for_job,
)
from tests.support.private_redis import PrivateRedis
from tests.test_distributed_faults import submitted_once

LEASE_S = 4
# Longer than a worker takes to start, so its start-up reconcile finds the dead worker's
# leases still live and only the periodic reconcile can pick the jobs up.
LONG_LEASE_S = 12
RECONCILE_S = 2.0
# Long enough that Redis never hands a dead worker's message back during a test.
VISIBILITY_S = 3600


def _settings(tmp_path: Path, url: str, lease_s: int = LEASE_S, **extra):
    return distributed_settings(
        tmp_path / "data",
        url,
        lease_s=lease_s,
        reconcile_interval_s=RECONCILE_S,
        visibility_timeout_s=VISIBILITY_S,
        **extra,
    )


def test_worker_killed_mid_run_recovers_without_beat(tmp_path: Path, demo_16s) -> None:
    """The issue's repro: one worker runs two jobs and is killed with SIGKILL; a new worker
    starts at once (its start-up reconcile runs before the dead worker's leases expire), and no
    beat runs. Both jobs resume from their last finished step and complete, once."""
    with ExitStack() as stack:
        url = stack.enter_context(pg_database())
        settings = _settings(tmp_path, url, lease_s=LONG_LEASE_S)
        client = stack.enter_context(TestClient(create_app(settings)))
        workers = Workers(settings)
        stack.callback(workers.stop_all)
        doomed = workers.start(concurrency=2)
        queries = [fasta(demo_16s[:12]), fasta(demo_16s[12:24])]
        ids = [
            client.post(
                "/api/jobs",
                json={
                    "program": "blastn",
                    "database": "demo-16s",
                    "query": q,
                    "options": SLOW_OPTIONS,
                },
            ).json()["id"]
            for q in queries
        ]
        get = api_job(client)
        for job_id in ids:
            wait_for_job(get, job_id, until=lambda j: j["phase"] == "running", timeout=60)
        time.sleep(0.5)
        workers.kill(doomed, signal.SIGKILL)
        killed_at = time.monotonic()
        workers.start(concurrency=2)  # up before the leases expire

        for job_id, query in zip(ids, queries, strict=True):
            done = wait_for_job(get, job_id, timeout=240)
            assert done["phase"] == "completed", done
            events = client.get(f"/api/jobs/{job_id}/events").json()["items"]
            kinds = [e["kind"] for e in events]
            assert "recovered" in kinds and "resumed" in kinds, kinds
            assert submitted_once(client, job_id), "the job was submitted twice"
            assert done["hsps_total"] == raw_hit_count(tmp_path, query, settings.resolved_data_dir)
        # Picked up within lease + reconcile interval (plus a worker start and some slack).
        recovered = [
            e
            for job_id in ids
            for e in client.get(f"/api/jobs/{job_id}/events").json()["items"]
            if e["kind"] == "recovered"
        ]
        assert recovered
        assert all(blast_processes(job_id) == [] for job_id in ids)
        assert time.monotonic() - killed_at < 240


def test_redis_restart_under_a_running_worker(
    tmp_path: Path, private_redis: PrivateRedis, demo_16s
) -> None:
    """Redis restarts (every queued message lost) while a worker is up: that worker's periodic
    reconcile re-queues the jobs from the database; no beat, no new worker."""
    private_redis.start()
    with ExitStack() as stack:
        url = stack.enter_context(pg_database())
        settings = _settings(tmp_path, url, broker_url=private_redis.url)
        client = stack.enter_context(TestClient(create_app(settings)))
        workers = Workers(settings)
        stack.callback(workers.stop_all)
        workers.start(concurrency=1)
        body = {
            "program": "blastn",
            "database": "demo-16s",
            "query": fasta(demo_16s[:24]),
            "options": SLOW_OPTIONS,
        }
        first = client.post("/api/jobs", json=body).json()["id"]
        wait_for_job(api_job(client), first, until=lambda j: j["phase"] == "running", timeout=60)
        queued = [
            client.post(
                "/api/jobs",
                json={"program": "blastn", "database": "demo-16s", "query": fasta([r])},
            ).json()["id"]
            for r in demo_16s[:3]
        ]
        private_redis.kill()  # the queued messages are gone with it
        private_redis.start()
        for job_id in [first, *queued]:
            done = wait_for_job(api_job(client), job_id, timeout=240)
            assert done["phase"] == "completed", done
            assert submitted_once(client, job_id)


def test_api_killed_between_storing_and_enqueueing(tmp_path: Path, demo_16s) -> None:
    """`serve` dies after the job is stored and before its message is sent (made to happen on
    purpose by a test plugin). The running worker's periodic reconcile finds the job and runs
    it; the restarted API shows it completed."""
    with ExitStack() as stack:
        url = stack.enter_context(pg_database())
        settings = _settings(tmp_path, url, plugins="tests.support.die_before_enqueue")
        workers = Workers(settings)
        stack.callback(workers.stop_all)
        port = free_port()
        env = settings_env(settings)
        api = subprocess.Popen(
            [BLASTDECK, "serve", "--port", str(port)],
            env={**env, "BLASTDECK_TEST_DIE_BEFORE_ENQUEUE": "1"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stack.callback(lambda: api.poll() is None and api.kill())
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base, api)
        workers.start(concurrency=1)
        body = {"program": "blastn", "database": "demo-16s", "query": fasta(demo_16s[:2])}
        with contextlib.suppress(httpx.HTTPError):  # the server dies mid-request, as intended
            httpx.post(f"{base}/api/jobs", json=body, timeout=30)
        assert api.wait(timeout=30) == 137
        assert CeleryExecutor(settings).scheduled().queued == set(), "a message was sent"

        api = subprocess.Popen(
            [BLASTDECK, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stack.callback(lambda: api.poll() is None and api.kill())
        _wait_healthy(base, api)
        jobs = httpx.get(f"{base}/api/jobs", timeout=10).json()["items"]
        assert len(jobs) == 1, jobs
        job_id = jobs[0]["id"]
        deadline = time.monotonic() + 120
        while (job := httpx.get(f"{base}/api/jobs/{job_id}", timeout=10).json())["status"] in (
            "queued",
            "running",
        ):
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        assert job["phase"] == "completed", job


def test_maintenance_runs_once_per_period_across_workers(tmp_path: Path) -> None:
    """Two workers' maintenance loops share one Redis key per task: in one period only one
    of them runs the reconcile."""
    with ExitStack() as stack:
        url = stack.enter_context(pg_database())
        settings = _settings(tmp_path, url)
        key = maintenance_key(settings.queue, "reconcile")
        r = redis.Redis.from_url(REDIS_URL)
        stack.callback(r.delete, key)
        Runtime(settings).migrate()
        ran = [
            Maintenance(settings).run_once("reconcile", 30.0, lambda rt: rt.reconcile())
            for _ in range(3)
        ]
        assert ran == [True, False, False]
        assert 0 < r.pttl(key) <= 27_000
        r.delete(key)
        assert Maintenance(settings).run_once("reconcile", 30.0, lambda rt: rt.reconcile())


def _wait_healthy(base: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "serve exited"
        try:
            if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("serve did not start")
