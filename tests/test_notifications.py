"""Notifications of a job's end: signed webhooks and e-mail, delivered at least once.

Real receivers (an http.server thread, an aiosmtpd SMTP server), real BLAST+ jobs; embedded on
SQLite and PostgreSQL, and distributed (a real worker's main process sends them).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from blastdeck.api.app import create_app
from blastdeck.domain.errors import ErrorCode
from blastdeck.domain.notifications import backoff_s, forbidden_address, sign
from blastdeck.domain.wording import counted
from blastdeck.store.database import make_engine, make_session_factory, migrate
from blastdeck.store.jobs import JobStore
from blastdeck.store.models import NotificationDelivery, utcnow
from blastdeck.store.new_job import NewJob
from blastdeck.store.notifications import NotificationStore
from tests.conftest import (
    SLOW_OPTIONS,
    Server,
    Workers,
    api_job,
    distributed_settings,
    fasta,
    free_port,
    make_settings,
    pg_database,
    wait_for_job,
)
from tests.support.notify_receivers import HttpReceiver, SmtpReceiver, wait_until
from tests.test_auth import cli
from tests.test_cli import cli as run_cli


@pytest.fixture(scope="module", params=["sqlite", "distributed"])
def backend_name(request: pytest.FixtureRequest) -> str:
    """SQLite embedded, and distributed (PostgreSQL, Redis, Celery workers): PostgreSQL
    embedded adds nothing these tests could tell apart, and CI's 30 minutes are shared."""
    return request.param


NOTIFY = {
    "webhook_allow_private": True,
    "notify_timeout_s": 1.0,
    "notify_backoff_s": 0.2,
    "notify_backoff_max_s": 0.5,
    "notify_max_attempts": 3,
    "notify_poll_s": 0.2,
    "public_url": "https://blast.example.org",
}


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver(free_port()).start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def client(
    backend_name: str, smtp: SmtpReceiver, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    data_dir = tmp_path_factory.mktemp(f"notify-{backend_name}")
    values = dict(NOTIFY, smtp_host="127.0.0.1", smtp_port=smtp.port)
    with ExitStack() as stack:
        url = stack.enter_context(pg_database()) if backend_name != "sqlite" else None
        if backend_name == "distributed":
            settings = distributed_settings(data_dir, url, **values)
        else:
            settings = make_settings(data_dir, url, **values)
        test_client = stack.enter_context(TestClient(create_app(settings)))
        if backend_name == "distributed":
            workers = Workers(settings)
            stack.callback(workers.stop_all)
            workers.start(concurrency=2)
        yield test_client


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    hook = HttpReceiver().start()
    yield hook
    hook.stop()


def submit(client: TestClient, demo_16s: list, notify: Any, **extra: Any) -> dict[str, Any]:
    body = {"program": "blastn", "database": "demo-16s", "query": fasta(demo_16s[:2]), **extra}
    if notify is not ...:
        body["notify"] = notify
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 202, response.text
    return response.json()


def deliveries(client: TestClient, job_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/jobs/{job_id}/notifications")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def settled(client: TestClient, job_id: str, count: int = 1, timeout: float = 30) -> list[dict]:
    return wait_until(
        lambda: (
            len(items := deliveries(client, job_id)) >= count
            and all(d["status"] != "pending" for d in items)
        ),
        timeout,
        lambda: deliveries(client, job_id),
    )


def finished(client: TestClient, job_id: str) -> dict[str, Any]:
    return wait_for_job(api_job(client), job_id)


def test_webhook_is_signed_and_sent_once(client, demo_16s, receiver) -> None:
    secret = "s3cret-ünï"
    job = submit(client, demo_16s, [{"type": "webhook", "url": receiver.url, "secret": secret}])
    done = finished(client, job["id"])
    assert done["phase"] == "completed"
    [hit] = receiver.wait_for(1)
    expected = hmac.new(secret.encode(), hit.body, hashlib.sha256).hexdigest()
    assert hit.headers["x-blastdeck-signature"] == f"sha256={expected}"
    body = json.loads(hit.body)
    assert body["event"] == "job.completed" and body["status"] == "completed"
    assert body["job"]["id"] == job["id"]
    assert body["job"]["hits_total"] == done["hits_total"] and done["hits_total"] > 0
    assert body["job"]["query_count"] == 2 and body["job"]["program"] == "blastn"
    assert body["links"]["web"] == f"https://blast.example.org/jobs/{job['id']}"
    assert body["links"]["api"] == f"https://blast.example.org/api/jobs/{job['id']}"
    [delivery] = settled(client, job["id"])
    assert hit.headers["x-blastdeck-delivery"] == delivery["id"] == body["delivery_id"]
    assert delivery["status"] == "delivered" and delivery["attempts"] == 1
    assert delivery["event"] == "completed" and delivery["delivered_at"]
    assert delivery["target"]["secret_set"] is True and "secret" not in delivery["target"]
    assert secret not in json.dumps(deliveries(client, job["id"]))
    # Nothing failed: never sent a second time (the loops keep looking for work meanwhile).
    time.sleep(1.5)
    assert len(receiver.received) == 1


def test_slack_format(client, demo_16s, receiver) -> None:
    job = submit(client, demo_16s, [{"type": "webhook", "url": receiver.url, "format": "slack"}])
    [hit] = receiver.wait_for(1)
    body = json.loads(hit.body)
    assert set(body) == {"text"}
    assert "completed" in body["text"] and f"/jobs/{job['id']}|open>" in body["text"]
    assert "x-blastdeck-signature" not in hit.headers  # no secret, no signature


def test_a_500_is_retried_with_the_same_delivery_id(client, demo_16s, receiver) -> None:
    receiver.script = [500, 500]
    job = submit(client, demo_16s, [{"type": "webhook", "url": receiver.url, "secret": "k"}])
    hits = receiver.wait_for(3)
    assert len({h.headers["x-blastdeck-delivery"] for h in hits}) == 1
    assert hits[0].body == hits[2].body
    [delivery] = settled(client, job["id"])
    assert delivery["status"] == "delivered" and delivery["attempts"] == 3
    assert finished(client, job["id"])["phase"] == "completed"


def test_a_receiver_that_never_answers_is_retried_then_failed(client, demo_16s, receiver):
    receiver.default, receiver.hang_s = "hang", 3.0
    job = submit(client, demo_16s, [{"type": "webhook", "url": receiver.url}])
    [delivery] = settled(client, job["id"], timeout=60)
    assert delivery["status"] == "failed" and delivery["attempts"] == 3
    assert "did not answer" in delivery["last_error"]
    assert len(receiver.received) == 3
    assert finished(client, job["id"])["phase"] == "completed"  # the job is unaffected


def test_a_500_every_time_ends_failed(client, demo_16s, receiver) -> None:
    receiver.default = 500
    job = submit(client, demo_16s, [{"type": "webhook", "url": receiver.url}])
    [delivery] = settled(client, job["id"])
    assert delivery["status"] == "failed" and delivery["attempts"] == 3
    assert "HTTP 500" in delivery["last_error"] and len(receiver.received) == 3
    assert finished(client, job["id"])["phase"] == "completed"


def test_a_4xx_answer_fails_at_once(client, demo_16s, receiver) -> None:
    receiver.default = 410
    job = submit(client, demo_16s, [{"type": "webhook", "url": receiver.url}])
    [delivery] = settled(client, job["id"])
    assert delivery["status"] == "failed" and delivery["attempts"] == 1
    assert "HTTP 410" in delivery["last_error"] and len(receiver.received) == 1


def test_email_has_the_summary_and_a_link(client, demo_16s, smtp) -> None:
    before = len(smtp.messages)
    job = submit(client, demo_16s, [{"type": "email", "to": "ana@example.org"}], title="16S x2")
    done = finished(client, job["id"])
    message, _, rcpt = smtp.wait_for(before + 1)[before]
    assert rcpt == ["ana@example.org"] and message["To"] == "ana@example.org"
    assert message["Subject"] == "BlastDeck job 16S x2 completed"
    [delivery] = settled(client, job["id"])
    assert message["X-BlastDeck-Delivery"] == delivery["id"]
    text = message.get_payload(decode=True).decode()
    assert counted(done["hits_total"], "hit") in text
    assert f"https://blast.example.org/jobs/{job['id']}" in text


def test_smtp_down_then_up(client, demo_16s, smtp) -> None:
    smtp.stop()
    try:
        job = submit(client, demo_16s, [{"type": "email", "to": "bo@example.org"}])
        wait_until(
            lambda: (d := deliveries(client, job["id"])) and d[0]["attempts"] >= 1,
            60,
            lambda: deliveries(client, job["id"]),
        )
        [delivery] = deliveries(client, job["id"])
        assert delivery["status"] == "pending" and "connect" in delivery["last_error"]
    finally:
        before = len(smtp.messages)
        smtp.start()
    [delivery] = settled(client, job["id"])
    assert delivery["status"] == "delivered"
    assert any(m["X-BlastDeck-Delivery"] == delivery["id"] for m, _, _ in smtp.messages[before:])


def test_cancelled_and_the_events_a_target_asked_for(client, demo_16s, receiver) -> None:
    only_failed = HttpReceiver().start()
    try:
        targets = [
            {"type": "webhook", "url": receiver.url, "on": ["cancelled"]},
            {"type": "webhook", "url": only_failed.url, "on": ["failed"]},
        ]
        body = {"options": SLOW_OPTIONS}
        job = submit(client, demo_16s * 20, targets, **body)
        assert client.post(f"/api/jobs/{job['id']}/cancel").status_code == 202
        [hit] = receiver.wait_for(1)
        assert json.loads(hit.body)["status"] == "cancelled"
        assert finished(client, job["id"])["phase"] == "cancelled"
        [delivery] = settled(client, job["id"])
        assert delivery["event"] == "cancelled" and delivery["target"]["url"] == receiver.url
        time.sleep(0.5)
        assert only_failed.received == []
    finally:
        only_failed.stop()


def test_user_defaults(client, demo_16s, receiver) -> None:
    assert client.get("/api/me/notify").json() == {"targets": []}
    put = client.put(
        "/api/me/notify",
        json={"targets": [{"type": "webhook", "url": receiver.url, "secret": "d"}]},
    )
    assert put.status_code == 200, put.text
    [shown] = client.get("/api/me/notify").json()["targets"]
    assert shown["url"] == receiver.url and shown["secret_set"] is True
    assert shown["on"] == ["completed", "failed", "cancelled"] and "secret" not in shown
    try:
        with_defaults = submit(client, demo_16s, ...)
        [hit] = receiver.wait_for(1)
        assert json.loads(hit.body)["job"]["id"] == with_defaults["id"]
        none = submit(client, demo_16s, [])  # an explicit empty list: no notification
        finished(client, none["id"])
        time.sleep(0.5)
        assert deliveries(client, none["id"]) == [] and len(receiver.received) == 1
    finally:
        assert client.put("/api/me/notify", json={"targets": []}).status_code == 200


def test_multipart_submit_takes_notify(client, demo_16s, receiver) -> None:
    notify = json.dumps([{"type": "webhook", "url": receiver.url}])
    form = {"program": "blastn", "database": "demo-16s", "notify": notify}
    files = {"query": ("q.fa", fasta(demo_16s[:1]), "text/plain")}
    response = client.post("/api/jobs", data=form, files=files)
    assert response.status_code == 202, response.text
    [hit] = receiver.wait_for(1)
    assert json.loads(hit.body)["job"]["id"] == response.json()["id"]


def test_back_off_doubles_up_to_its_cap() -> None:
    assert [backoff_s(n, 0.2, 1.0) for n in range(1, 6)] == [0.2, 0.4, 0.8, 1.0, 1.0]


def test_signature_and_addresses() -> None:
    body = b'{"a":1}'
    assert sign(body, "k") == "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()
    forbidden = ["127.0.0.1", "10.0.0.1", "192.168.1.1", "169.254.169.254", "::1", "fe80::1%eth0",
                 "::ffff:10.0.0.1", "0.0.0.0", "100.64.0.1", "224.0.0.1"]  # fmt: skip
    assert all(forbidden_address(a) for a in forbidden)
    assert not any(forbidden_address(a) for a in ["93.184.215.14", "2606:4700::1111"])


# -- bad input: refused at submit with a stable code, nothing stored --------------------------


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A server as shipped: private webhook addresses refused, no SMTP server set."""
    settings = make_settings(tmp_path_factory.mktemp("notify-strict"), None)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


BAD = [
    ("not a list", {"type": "webhook"}, "invalid_notification", "notify"),
    ("unknown type", [{"type": "sms", "to": "1"}], "invalid_notification", "notify[0].type"),
    ("ftp url", [{"type": "webhook", "url": "ftp://example.org/x"}], "invalid_notification",
     "notify[0].url"),
    ("file url", [{"type": "webhook", "url": "file:///etc/passwd"}], "invalid_notification",
     "notify[0].url"),
    ("no host", [{"type": "webhook", "url": "http:///x"}], "invalid_notification",
     "notify[0].url"),
    ("credentials", [{"type": "webhook", "url": "https://u:p@example.org/"}],
     "invalid_notification", "notify[0].url"),
    ("bad port", [{"type": "webhook", "url": "https://example.org:99999/"}],
     "invalid_notification", "notify[0].url"),
    ("newline", [{"type": "webhook", "url": "https://example.org/\r\nX: y"}],
     "invalid_notification", "notify[0].url"),
    ("loopback", [{"type": "webhook", "url": "http://127.0.0.1:9/x"}],
     "notification_target_forbidden", "notify[0].url"),
    ("localhost", [{"type": "webhook", "url": "http://localhost/x"}],
     "notification_target_forbidden", "notify[0].url"),
    ("ipv6 loopback", [{"type": "webhook", "url": "http://[::1]/x"}],
     "notification_target_forbidden", "notify[0].url"),
    ("link-local", [{"type": "webhook", "url": "http://169.254.169.254/latest/meta-data"}],
     "notification_target_forbidden", "notify[0].url"),
    ("private", [{"type": "webhook", "url": "https://10.1.2.3/"}],
     "notification_target_forbidden", "notify[0].url"),
    ("mapped", [{"type": "webhook", "url": "http://[::ffff:127.0.0.1]/"}],
     "notification_target_forbidden", "notify[0].url"),
    ("bad format", [{"type": "webhook", "url": "https://example.org/", "format": "xml"}],
     "invalid_notification", "notify[0].format"),
    ("bad on", [{"type": "webhook", "url": "https://example.org/", "on": ["done"]}],
     "invalid_notification", "notify[0].on"),
    ("unknown field", [{"type": "email", "to": "a@example.org", "cc": "b@example.org"}],
     "invalid_notification", "notify[0].cc"),
    ("two addresses", [{"type": "email", "to": "a@example.org, b@example.org"}],
     "invalid_notification", "notify[0].to"),
    ("header injection", [{"type": "email", "to": "a@example.org\nBcc: c@example.org"}],
     "invalid_notification", "notify[0].to"),
    ("email without smtp", [{"type": "email", "to": "a@example.org"}], "email_unavailable",
     "notify[0].to"),
    ("too many", [{"type": "webhook", "url": "https://example.org/"}] * 11,
     "invalid_notification", "notify"),
]  # fmt: skip


@pytest.mark.parametrize(("notify", "code", "field"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_targets_are_refused(strict, demo_16s, notify, code, field) -> None:
    total = strict.get("/api/jobs").json()["total"]
    body = {"program": "blastn", "database": "demo-16s", "query": fasta(demo_16s[:1])}
    response = strict.post("/api/jobs", json={**body, "notify": notify})
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["error_code"] == code, error
    assert error.get("field") == field and error["message"]
    put = strict.put("/api/me/notify", json={"targets": notify})
    assert put.status_code == 422 and put.json()["error_code"] in (code, "invalid_request")
    assert strict.get("/api/jobs").json()["total"] == total  # nothing stored
    assert strict.get("/api/me/notify").json() == {"targets": []}


def test_bad_multipart_notify(strict, demo_16s) -> None:
    form = {"program": "blastn", "database": "demo-16s", "notify": "[{"}
    files = {"query": ("q.fa", fasta(demo_16s[:1]), "text/plain")}
    response = strict.post("/api/jobs", data=form, files=files)
    assert response.status_code == 422 and response.json()["error_code"] == "invalid_notification"


def test_notifications_of_an_unknown_job(strict) -> None:
    response = strict.get("/api/jobs/00000000-0000-0000-0000-000000000000/notifications")
    assert response.status_code == 404 and response.json()["error_code"] == "job_not_found"


# -- restarts: the outbox survives the process that wrote it ----------------------------------


EMBEDDED = pytest.mark.parametrize("embedded_on", ["sqlite", "postgresql"])


@pytest.fixture
def serve(tmp_path: Path, embedded_on: str) -> Iterator[Server]:
    """A real `blastdeck serve` (embedded: it sends the outbox itself), SIGTERMed at the end."""
    with ExitStack() as stack:
        url = stack.enter_context(pg_database()) if embedded_on == "postgresql" else None
        server = Server(tmp_path / "data", url)
        server.env.update({f"BLASTDECK_{k.upper()}": str(v) for k, v in NOTIFY.items()})
        server.env["BLASTDECK_NOTIFY_MAX_ATTEMPTS"] = "50"
        yield server
        if server.proc and server.proc.poll() is None:
            server.kill(signal.SIGTERM)


def _items(server: Server, job_id: str) -> list[dict[str, Any]]:
    return httpx.get(f"{server.url}/api/jobs/{job_id}/notifications", timeout=10).json()["items"]


@EMBEDDED
def test_an_undelivered_notification_is_sent_after_a_restart(serve: Server, demo_16s) -> None:
    hook = HttpReceiver(port=free_port())  # not listening yet: every try fails to connect
    serve.start()
    try:
        body = {"program": "blastn", "database": "demo-16s", "query": fasta(demo_16s[:2])}
        body["notify"] = [{"type": "webhook", "url": hook.url, "secret": "r"}]
        job = httpx.post(f"{serve.url}/api/jobs", json=body, timeout=30).json()
        wait_for_job(serve.job, job["id"])
        wait_until(lambda: _items(serve, job["id"])[0]["attempts"] >= 1, 30, lambda: None)
        serve.kill(signal.SIGKILL)
        hook.start()
        serve.start()
        [hit] = hook.wait_for(1)
        wait_until(
            lambda: _items(serve, job["id"])[0]["status"] == "delivered",
            30,
            lambda: _items(serve, job["id"]),
        )
        [delivery] = _items(serve, job["id"])
        assert hit.headers["x-blastdeck-delivery"] == delivery["id"]
        time.sleep(1.0)
        assert len(hook.received) == 1
    finally:
        hook.stop()


@EMBEDDED
def test_a_private_address_is_refused_at_delivery_too(serve: Server, demo_16s) -> None:
    """The operator turns private addresses off while a delivery to one still waits: resolved
    at delivery, it is refused and marked failed, never sent."""
    hook = HttpReceiver(port=free_port())  # down: the first tries fail, the row waits
    serve.start()
    try:
        body = {"program": "blastn", "database": "demo-16s", "query": fasta(demo_16s[:1])}
        body["notify"] = [{"type": "webhook", "url": hook.url.replace("127.0.0.1", "localhost")}]
        job = httpx.post(f"{serve.url}/api/jobs", json=body, timeout=30).json()
        wait_until(lambda: _items(serve, job["id"]), 60, lambda: None)
        serve.kill(signal.SIGTERM)
        hook.start()
        serve.env["BLASTDECK_WEBHOOK_ALLOW_PRIVATE"] = "off"
        serve.start()
        wait_until(
            lambda: _items(serve, job["id"])[0]["status"] == "failed",
            30,
            lambda: _items(serve, job["id"]),
        )
        [delivery] = _items(serve, job["id"])
        assert "loopback, private or link-local" in delivery["last_error"]
        assert hook.received == []
    finally:
        hook.stop()


# -- the outbox store: claims and the retention -----------------------------------------------


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[NotificationStore]:
    engine = make_engine(f"sqlite:///{tmp_path / 'outbox.sqlite3'}")
    migrate(engine)
    yield NotificationStore(make_session_factory(engine))
    engine.dispose()


def _row(outbox: NotificationStore, status: str, age_days: float) -> str:
    at = utcnow() - timedelta(days=age_days)
    row = NotificationDelivery(
        id=uuid.uuid4().hex, job_id=str(uuid.uuid4()), event="completed", kind="webhook",
        target={"type": "webhook", "url": "https://example.org/"}, status=status, attempts=0,
        next_attempt_at=at, created_at=at,
    )  # fmt: skip
    with outbox._sessions.begin() as s:
        s.add(row)
    return row.id


def test_a_claimed_delivery_is_held_by_one_loop_until_its_lease_ends(outbox) -> None:
    delivery = _row(outbox, "pending", 0)
    [mine] = outbox.claim_due("loop-a", lease_s=0.5)
    assert mine.id == delivery
    assert outbox.claim_due("loop-b", lease_s=30) == []  # held: never sent twice at once
    time.sleep(0.6)  # loop-a died mid-send: its lease ends and another loop takes it over
    [again] = outbox.claim_due("loop-b", lease_s=30)
    assert again.id == delivery
    outbox.delivered(delivery, "loop-a")  # the late first sender records nothing
    assert outbox.of_job(again.job_id)[0].status == "pending"
    outbox.delivered(delivery, "loop-b")
    [done] = outbox.of_job(again.job_id)
    assert done.status == "delivered" and done.attempts == 1
    assert outbox.claim_due("loop-c", lease_s=30) == []


def test_old_ended_deliveries_are_purged_pending_ones_kept(outbox) -> None:
    old_done, old_failed = _row(outbox, "delivered", 40), _row(outbox, "failed", 40)
    old_pending, new_done = _row(outbox, "pending", 40), _row(outbox, "delivered", 1)
    assert outbox.purge_ended_before(utcnow() - timedelta(days=30)) == 2
    with outbox._sessions() as s:
        left = set(s.scalars(select(NotificationDelivery.id)))
    assert left == {old_pending, new_done} and not left & {old_done, old_failed}


# -- with auth on: defaults and deliveries are each user's own --------------------------------


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict]]:
    data = tmp_path_factory.mktemp("notify-auth") / "data"
    tokens = {}
    for name in ("alice", "bob"):
        assert cli(data, "user", "add", name).returncode == 0
        run = cli(data, "token", "create", name)
        assert run.returncode == 0, run.stderr
        tokens[name] = {"Authorization": f"Bearer {run.stdout.decode().strip()}"}
    settings = make_settings(data, None, auth="on", **NOTIFY)
    with TestClient(create_app(settings)) as test_client:
        yield test_client, tokens


def test_each_user_has_their_own_defaults_and_deliveries(users, demo_16s, receiver) -> None:
    client, tokens = users
    assert client.get("/api/me/notify").status_code == 401
    target = {"type": "webhook", "url": receiver.url}
    put = client.put("/api/me/notify", json={"targets": [target]}, headers=tokens["alice"])
    assert put.status_code == 200, put.text
    assert client.get("/api/me/notify", headers=tokens["bob"]).json() == {"targets": []}
    body = {"program": "blastn", "database": "demo-16s", "query": fasta(demo_16s[:1])}
    jobs = {}
    for name in ("alice", "bob"):
        response = client.post("/api/jobs", json=body, headers=tokens[name])
        assert response.status_code == 202, response.text
        jobs[name] = response.json()["id"]
    [hit] = receiver.wait_for(1)
    assert json.loads(hit.body)["job"]["id"] == jobs["alice"]
    url = f"/api/jobs/{jobs['alice']}/notifications"
    assert client.get(url, headers=tokens["bob"]).status_code == 404
    wait_until(
        lambda: (
            client.get(url, headers=tokens["alice"]).json()["items"][0]["status"] == "delivered"
        ),
        30,
        lambda: client.get(url, headers=tokens["alice"]).json(),
    )
    bob_url = f"/api/jobs/{jobs['bob']}/notifications"
    wait_for_job(lambda i: client.get(f"/api/jobs/{i}", headers=tokens["bob"]).json(), jobs["bob"])
    assert client.get(bob_url, headers=tokens["bob"]).json() == {"items": []}
    assert len(receiver.received) == 1


# -- the CLI ------------------------------------------------------------------------------------


@pytest.mark.parametrize("embedded_on", ["sqlite"])
def test_cli_submit_with_notify_options(serve: Server, demo_16s, receiver, tmp_path) -> None:
    serve.start()
    query = tmp_path / "q.fa"
    query.write_text(fasta(demo_16s[:1]))
    base = ["submit", str(query), "--db", "demo-16s", "--server", serve.url]
    run = run_cli(*base, "--wait", "--notify-webhook", receiver.url, "--notify-secret", "cli")
    assert run.returncode == 0, run.stderr.decode()
    [hit] = receiver.wait_for(1)
    expected = hmac.new(b"cli", hit.body, hashlib.sha256).hexdigest()
    assert hit.headers["x-blastdeck-signature"] == f"sha256={expected}"
    for bad, code in (
        (["--notify-webhook", "ftp://example.org/x"], "invalid_notification"),
        (["--notify-email", "not an address"], "invalid_notification"),
        (["--notify-email", "a@example.org"], "email_unavailable"),
    ):
        run = run_cli(*base, *bad)
        assert run.returncode != 0 and code in run.stderr.decode(), run.stderr.decode()
        assert "Traceback" not in run.stderr.decode()


def test_the_outbox_tells_its_listeners_once_rows_are_committed(tmp_path: Path) -> None:
    """The delivery loop is woken by a commit that added outbox rows (a job's end with a
    target), not by every change of every job: a queued job, its cancel request, a job ending
    without targets wake nobody; a job ending with targets wakes each listener once."""
    engine = make_engine(f"sqlite:///{tmp_path / 'outbox.sqlite3'}")
    migrate(engine)
    sessions = make_session_factory(engine)
    store, jobs = NotificationStore(sessions), JobStore(sessions)
    woken: list[str] = []
    store.add_outbox_listener(lambda: woken.append("a"))
    store.add_outbox_listener(lambda: woken.append("b"))
    target = [{"type": "webhook", "url": "https://example.org/hook", "on": ["failed"]}]

    def new(notify: list | None) -> str:
        return jobs.create(NewJob("t", "blastn", "db", "local", "default", {}, ">q\nACGT\n", 1, 4,
                                  notify=notify)).id  # fmt: skip

    quiet, told = new(None), new(target)
    jobs.request_cancel(quiet)  # a queued job ends at once: cancelled, no target
    jobs.finish_failed(told, ErrorCode.BLAST_SEARCH_FAILED, "BLAST failed")  # its target's event
    assert woken == ["a", "b"]
    assert [d.event for d in store.of_job(told)] == ["failed"] and store.of_job(quiet) == []
    jobs.finish_failed(told, ErrorCode.BLAST_SEARCH_FAILED, "again")  # already ended: no new row
    assert woken == ["a", "b"]
    engine.dispose()
