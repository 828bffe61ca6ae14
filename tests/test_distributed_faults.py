"""Faults in distributed mode: a worker killed mid-run, Redis restarted with jobs queued, a
broker that does not answer, bad start-up configuration. No job is lost, none runs twice."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path

from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from tests.conftest import (
    BLASTDECK,
    SLOW_OPTIONS,
    Workers,
    api_job,
    blast_processes,
    distributed_settings,
    fasta,
    pg_database,
    raw_hit_count,
    settings_env,
    wait_for_job,
)
from tests.support.private_redis import PrivateRedis


def submitted_once(client: TestClient, job_id: str) -> bool:
    events = client.get(f"/api/jobs/{job_id}/events").json()["items"]
    return sum(e["kind"] == "step_completed" and e["step"] == "submitting" for e in events) == 1


def test_worker_killed_mid_run_is_resumed_elsewhere(tmp_path: Path, demo_16s) -> None:
    with ExitStack() as stack:
        url = stack.enter_context(pg_database())
        settings = distributed_settings(tmp_path / "data", url)
        client = stack.enter_context(TestClient(create_app(settings)))
        workers = Workers(settings)
        stack.callback(workers.stop_all)
        doomed = workers.start(concurrency=1)
        workers.start(command="beat")
        query = fasta(demo_16s[:24])
        body = {
            "program": "blastn",
            "database": "demo-16s",
            "query": query,
            "options": SLOW_OPTIONS,
        }
        job_id = client.post("/api/jobs", json=body).json()["id"]
        get = api_job(client)
        wait_for_job(get, job_id, until=lambda j: j["phase"] == "running", timeout=60)
        time.sleep(1.0)
        workers.kill(doomed, signal.SIGKILL)
        workers.start(concurrency=1)

        done = wait_for_job(get, job_id, timeout=240)
        assert done["phase"] == "completed", done
        kinds = [e["kind"] for e in client.get(f"/api/jobs/{job_id}/events").json()["items"]]
        assert "recovered" in kinds and "resumed" in kinds
        assert submitted_once(client, job_id), "the job was submitted twice"
        assert blast_processes(job_id) == [], "a BLAST process of the dead worker lives on"
        assert done["hsps_total"] == raw_hit_count(tmp_path, query, settings.resolved_data_dir)


def test_redis_restart_with_jobs_queued(
    tmp_path: Path, private_redis: PrivateRedis, demo_16s
) -> None:
    private_redis.start()
    with ExitStack() as stack:
        url = stack.enter_context(pg_database())
        settings = distributed_settings(tmp_path / "data", url, broker_url=private_redis.url)
        client = stack.enter_context(TestClient(create_app(settings)))
        ids = []
        for record in demo_16s[:3]:
            body = {"program": "blastn", "database": "demo-16s", "query": fasta([record])}
            ids.append(client.post("/api/jobs", json=body).json()["id"])
        runtime = client.app.state.runtime
        assert set(ids) <= runtime.executor.scheduled().queued

        private_redis.kill()  # every queued message is gone with it
        private_redis.start()
        assert runtime.executor.scheduled().queued == set()
        assert all(api_job(client)(i)["phase"] == "queued" for i in ids)

        workers = Workers(settings)
        stack.callback(workers.stop_all)
        workers.start(concurrency=2)  # its start-up reconcile re-queues them from the database
        for job_id in ids:
            assert wait_for_job(api_job(client), job_id, timeout=120)["phase"] == "completed"
            assert submitted_once(client, job_id)


def test_broker_down_answers_503_and_keeps_the_job(tmp_path: Path, demo_16s) -> None:
    down = PrivateRedis()  # a port where nothing listens yet
    with ExitStack() as stack:
        stack.callback(down.kill)
        url = stack.enter_context(pg_database())
        settings = distributed_settings(
            tmp_path / "data", url, broker_url=down.url, redis_socket_timeout_s=1.0
        )
        client = stack.enter_context(TestClient(create_app(settings)))
        body = {"program": "blastn", "database": "demo-16s", "query": fasta(demo_16s[:1])}
        started = time.monotonic()
        response = client.post("/api/jobs", json=body)
        assert time.monotonic() - started < 15, "a dead broker must not hang the API"
        assert response.status_code == 503, response.text
        error = response.json()
        assert error["error_code"] == "broker_unavailable" and error["message"]
        job_id = error["detail"]["job_id"]
        job = api_job(client)(job_id)
        assert job["phase"] == "queued"
        kinds = [e["kind"] for e in client.get(f"/api/jobs/{job_id}/events").json()["items"]]
        assert kinds == ["created", "enqueue_failed"]
        assert client.get("/api/health").json()["broker"] == "unavailable"

        down.start()  # the broker comes back: a worker's reconcile runs the kept job
        workers = Workers(settings)
        stack.callback(workers.stop_all)
        workers.start(concurrency=1)
        assert wait_for_job(api_job(client), job_id, timeout=120)["phase"] == "completed"


def _worker_exit(env_overrides: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    settings = distributed_settings(tmp_path / "data", "postgresql+psycopg://postgres@127.0.0.1/x")
    env = {**settings_env(settings), **env_overrides}
    return subprocess.run([BLASTDECK, "worker"], env=env, capture_output=True, timeout=60)


def test_worker_refuses_a_submit_timeout_not_below_the_lock_ttl(tmp_path: Path) -> None:
    run = _worker_exit(
        {"BLASTDECK_SUBMIT_TIMEOUT_S": "900", "BLASTDECK_LOCK_TTL_S": "900"}, tmp_path
    )
    assert run.returncode == 2
    err = run.stderr.decode()
    assert "invalid_configuration" in err and "lock_ttl_s" in err and "Traceback" not in err


def test_worker_with_postgresql_down_exits_with_a_clear_error(tmp_path: Path) -> None:
    run = _worker_exit(
        {"BLASTDECK_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/x"}, tmp_path
    )
    assert run.returncode == 2
    assert "cannot reach the database" in " ".join(run.stderr.decode().split())


def test_worker_without_a_broker_explains_itself(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLASTDECK_")}
    env["BLASTDECK_DATA_DIR"] = str(tmp_path)
    run = subprocess.run([BLASTDECK, "worker"], env=env, capture_output=True, timeout=60)
    assert run.returncode == 2 and "BLASTDECK_BROKER_URL" in run.stderr.decode()
