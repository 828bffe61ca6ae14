"""GET /metrics: Prometheus' text format, read back with prometheus_client's own parser, after
real BLAST jobs (embedded, and distributed with the jobs run by a real Celery worker) and their
notifications, sent to a real local HTTP receiver."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from blastdeck.api.app import create_app
from blastdeck.domain.pipeline_model import STEPS
from tests.conftest import (
    BLASTDECK,
    TEST_PLUGINS,
    Workers,
    api_job,
    distributed_settings,
    fasta,
    free_port,
    make_settings,
    pg_database,
    wait_for_job,
)
from tests.support.notify_receivers import HttpReceiver, wait_until
from tests.test_notifications import NOTIFY

Samples = dict[tuple[str, frozenset], float]


def scrape(client: TestClient, **kwargs) -> Samples:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def matching(samples: Samples, name: str, **labels: str) -> dict[frozenset, float]:
    want = set(labels.items())
    return {k: v for (n, k), v in samples.items() if n == name and want <= set(k)}


def run_job(client: TestClient, demo_16s, **extra) -> dict:
    body = {"program": "blastn", "database": "demo-16s", "query": fasta(demo_16s[:3]), **extra}
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 202, response.text
    return response.json()


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data = tmp_path_factory.mktemp("metrics")
    # SMTP at a port nobody listens on: every e-mail is retried, then fails.
    smtp = {"smtp_host": "127.0.0.1", "smtp_port": free_port()}
    settings = make_settings(data, metrics=True, plugins=TEST_PLUGINS, **NOTIFY, **smtp)
    with TestClient(create_app(settings)) as client:
        yield client


def deliveries_counted(client: TestClient, **labels: str) -> float:
    return value(scrape(client), "blastdeck_notification_deliveries_total", **labels)


def test_notification_deliveries_are_counted_by_type_and_outcome(
    embedded: TestClient, demo_16s
) -> None:
    """A webhook answered 500 once then 200 (retried, delivered) and an e-mail to an SMTP
    server that is down (retried twice, then failed: three attempts)."""
    hook = HttpReceiver().start()
    try:
        hook.script = [500]
        notify = [{"type": "webhook", "url": hook.url}, {"type": "email", "to": "a@example.org"}]
        run_job(embedded, demo_16s, notify=notify)
        want = {
            ("webhook", "retried"): 1.0,
            ("webhook", "delivered"): 1.0,
            ("email", "retried"): 2.0,
            ("email", "failed"): 1.0,
            ("webhook", "failed"): 0.0,
        }
        wait_until(
            lambda: all(
                deliveries_counted(embedded, type=t, outcome=o) == n for (t, o), n in want.items()
            ),
            30,
            lambda: scrape(embedded),
        )
    finally:
        hook.stop()


def test_metrics_are_off_unless_the_operator_turns_them_on(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path))) as client:
        response = client.get("/metrics")
    assert response.status_code == 404
    assert response.json()["error_code"] == "not_found"
    assert "BLASTDECK_METRICS=on" in response.json()["message"]


def test_a_finished_job_shows_its_steps_lock_wait_and_blast_cpu(
    embedded: TestClient, demo_16s
) -> None:
    before = scrape(embedded)
    job = wait_for_job(api_job(embedded), run_job(embedded, demo_16s)["id"])
    assert job["phase"] == "completed"
    after = scrape(embedded)
    assert value(after, "blastdeck_jobs", phase="completed") == (
        value(before, "blastdeck_jobs", phase="completed") + 1
    )
    assert value(after, "blastdeck_jobs", phase="failed") == 0  # every phase is listed
    where = {"cluster": job["cluster"], "namespace": job["namespace"]}
    for step in STEPS[:-1]:  # "completed" is the end, not a step that takes time
        name = "blastdeck_step_duration_seconds_count"
        grew = value(after, name, step=step.value, **where) - value(
            before, name, step=step.value, **where
        )
        assert grew == 1, step
    running = next(s for s in job["steps"] if s["key"] == "running")
    total = value(after, "blastdeck_step_duration_seconds_sum", step="running", **where)
    assert total >= running["duration_ms"] / 1000 - 1e-6
    assert value(after, "blastdeck_submit_lock_wait_seconds_count", **where) >= 1
    cpu = value(after, "blastdeck_blast_cpu_seconds_total", program="blastn", **where)
    assert cpu > value(before, "blastdeck_blast_cpu_seconds_total", program="blastn", **where)
    # Buckets are cumulative and end with +Inf = the count.
    buckets = matching(after, "blastdeck_step_duration_seconds_bucket", step="running", **where)
    by_bound = sorted((float(dict(k)["le"]), v) for k, v in buckets.items())
    assert [v for _, v in by_bound] == sorted(v for _, v in by_bound)
    assert by_bound[-1] == (float("inf"), value(after, name, step="running", **where))


def test_http_latency_is_labelled_by_route_template_never_by_raw_path(
    embedded: TestClient,
) -> None:
    embedded.get("/api/jobs/00000000-0000-0000-0000-000000000000")  # 404, a real route
    embedded.get("/api/no-such-path/and-more")
    samples = scrape(embedded)
    name = "blastdeck_http_request_duration_seconds_count"
    assert value(samples, name, method="GET", route="/api/jobs/{job_id}", status="4xx") >= 1
    routes = {dict(k)["route"] for k in matching(samples, name)}
    assert not any("0000" in r or "no-such-path" in r for r in routes), routes
    assert "unmatched" in routes or "/{path:path}" in routes  # the web page's catch-all


def test_queue_depth_and_a_real_wait_for_the_submit_slot(
    embedded: TestClient, demo_16s, tmp_path: Path
) -> None:
    barrier = tmp_path / "barrier"
    settings = {"barrier_dir": str(barrier)}
    body = {"name": "gate", "engine": "barrier", "slots": 1, "settings": settings}
    assert embedded.post("/api/clusters", json=body).status_code in (200, 201)
    first = run_job(embedded, demo_16s, cluster="gate")
    second = run_job(embedded, demo_16s, cluster="gate")
    get = api_job(embedded)
    # Whichever reached the submit slot first holds it at the barrier; the other waits.
    deadline = time.monotonic() + 120
    while not any(get(j["id"])["phase"] == "waiting_for_submit_slot" for j in (first, second)):
        assert time.monotonic() < deadline, "neither job waits for the submit slot"
        time.sleep(0.05)
    samples = scrape(embedded)
    depth = value(samples, "blastdeck_queue_depth", cluster="gate", namespace=first["namespace"])
    clusters = embedded.get("/api/clusters").json()["items"]
    assert depth == 2 == next(c["queue_depth"] for c in clusters if c["name"] == "gate")
    time.sleep(1.0)  # the second job has now waited at least this long
    (barrier / "release-all").write_text("")
    for job in (first, second):
        assert wait_for_job(get, job["id"])["phase"] == "completed"
    samples = scrape(embedded)
    where = {"cluster": "gate", "namespace": first["namespace"]}
    assert value(samples, "blastdeck_submit_lock_wait_seconds_count", **where) == 2
    assert value(samples, "blastdeck_submit_lock_wait_seconds_sum", **where) >= 1.0
    assert value(samples, "blastdeck_submit_lock_wait_seconds_bucket", le="0.5", **where) == 1
    assert value(samples, "blastdeck_queue_depth", **where) == 0  # no row: nothing unfinished


def test_metrics_need_an_admin_token_when_auth_is_on(tmp_path: Path) -> None:
    data = tmp_path / "data"

    def cli(*args: str) -> str:
        env = {"BLASTDECK_DATA_DIR": str(data), "PATH": "/usr/bin:/bin"}
        run = subprocess.run([BLASTDECK, *args], capture_output=True, text=True, env=env)
        assert run.returncode == 0, run.stderr
        return run.stdout.strip()

    cli("user", "add", "alice")
    cli("user", "add", "root", "--admin")
    alice, root = cli("token", "create", "alice"), cli("token", "create", "root")
    with TestClient(create_app(make_settings(data, auth="on", metrics=True))) as client:
        assert client.get("/metrics").status_code == 401
        denied = client.get("/metrics", headers={"Authorization": f"Bearer {alice}"})
        assert denied.status_code == 403 and denied.json()["error_code"] == "forbidden"
        samples = scrape(client, headers={"Authorization": f"Bearer {root}"})
    assert value(samples, "blastdeck_jobs", phase="queued") == 0


@pytest.mark.postgres
def test_a_workers_observations_reach_the_apis_metrics(
    tmp_path_factory: pytest.TempPathFactory, demo_16s
) -> None:
    """Distributed: a Celery worker runs the job; the API process, which ran none of it,
    shows its steps and BLAST CPU (the worker added them to Redis)."""
    data = tmp_path_factory.mktemp("metrics-distributed")
    with ExitStack() as stack:
        url = stack.enter_context(pg_database())
        settings = distributed_settings(data, url, metrics=True, **NOTIFY)
        client = stack.enter_context(TestClient(create_app(settings)))
        workers = Workers(settings)
        stack.callback(workers.stop_all)
        workers.start(concurrency=1)
        hook = HttpReceiver().start()
        stack.callback(hook.stop)
        notify = [{"type": "webhook", "url": hook.url}]
        job = wait_for_job(api_job(client), run_job(client, demo_16s, notify=notify)["id"])
        assert job["phase"] == "completed"
        samples = scrape(client)
        where = {"cluster": job["cluster"], "namespace": job["namespace"]}
        assert value(samples, "blastdeck_step_duration_seconds_count", step="running", **where) == 1
        assert value(samples, "blastdeck_blast_cpu_seconds_total", program="blastn", **where) > 0
        assert value(samples, "blastdeck_jobs", phase="completed") == 1
        # The worker's main process sent the webhook; the API process counts it from Redis.
        wait_until(
            lambda: deliveries_counted(client, type="webhook", outcome="delivered") == 1,
            30,
            lambda: scrape(client),
        )
        # The runtime's own Redis client: the keys go with the deployment's queue.
        import redis

        from blastdeck.metrics import METRICS
        from blastdeck.redis_keys import metrics_key

        r = redis.Redis.from_url(settings.broker_url)
        stack.callback(r.delete, *(metrics_key(settings.queue, m.name) for m in METRICS))
