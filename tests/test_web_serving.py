"""What the browser relies on: the job event stream, the sign-in cookie with CSRF protection,
security headers, and the single-page app's routes (deep links survive a reload)."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from blastdeck.api import stream
from blastdeck.api.app import create_app
from blastdeck.api.web import install_web_app
from blastdeck.domain.pipeline_model import STEPS
from blastdeck.job_watch import JobWatcher
from tests.conftest import SLOW_OPTIONS, Server, fasta, make_settings, wait_for_job
from tests.test_auth import cli

STEP_ORDER = [s.value for s in STEPS]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("stream") / "data", None)
    running.start()
    yield running
    if running.proc and running.proc.poll() is None:
        running.kill(signal.SIGTERM)


def submit(server: Server, query: str, **options) -> dict:
    body = {"program": "blastn", "database": "demo-16s", "query": query, "options": options}
    response = httpx.post(f"{server.url}/api/jobs", json=body, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()


def read_events(response: httpx.Response) -> Iterator[tuple[str, dict]]:
    name, data = None, []
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])
        elif line == "" and name:
            yield name, json.loads("\n".join(data))
            name, data = None, []


def test_stream_sends_every_change_until_the_job_ends(server: Server, demo_16s) -> None:
    job = submit(server, fasta(demo_16s[:6]), evalue=1e-5)
    url = f"{server.url}/api/jobs/{job['id']}/stream"
    with httpx.stream("GET", url, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = list(read_events(response))  # returns only because the server ends it
    payloads = [payload for name, payload in events if name == "job"]
    assert len(payloads) == len(events) >= 3
    assert payloads[-1]["phase"] == "completed" and payloads[-1]["poll_after_ms"] is None
    assert payloads[-1] == server.job(job["id"])  # same JSON as GET /api/jobs/{id}
    for before, after in pairwise(payloads):
        assert before != after, "one event per change, never a repeat"
    # steps only move forward: each event's finished steps include the previous event's
    finished = [
        [s["key"] for s in p["steps"] if s["status"] in ("completed", "skipped")] for p in payloads
    ]
    for before, after in pairwise(finished):
        assert after[: len(before)] == before
    assert finished[-1] == STEP_ORDER


def test_stream_of_a_finished_job_sends_it_once_and_ends(server: Server, demo_16s) -> None:
    job = submit(server, fasta(demo_16s[:1]))
    wait_for_job(server.job, job["id"])
    with httpx.stream("GET", f"{server.url}/api/jobs/{job['id']}/stream", timeout=30) as r:
        events = list(read_events(r))
    assert [name for name, _ in events] == ["job"]
    assert events[0][1]["phase"] == "completed"


def test_stream_says_gone_when_the_job_is_deleted(server: Server, demo_16s) -> None:
    job = submit(server, fasta(demo_16s[:1]))
    wait_for_job(server.job, job["id"])
    with httpx.stream("GET", f"{server.url}/api/jobs/{job['id']}/stream", timeout=30) as r:
        first = next(read_events(r))
        assert first[0] == "job"
    deleted = httpx.delete(f"{server.url}/api/jobs/{job['id']}", timeout=10)
    assert deleted.status_code == 204
    gone = httpx.get(f"{server.url}/api/jobs/{job['id']}/stream", timeout=10)
    assert gone.status_code == 404 and gone.json()["error_code"] == "job_not_found"


def test_server_stops_promptly_with_a_stream_open(tmp_path: Path, demo_16s) -> None:
    own = Server(tmp_path / "data", None)
    own.start()
    job = submit(own, fasta(demo_16s[:24]), **SLOW_OPTIONS)
    with httpx.stream("GET", f"{own.url}/api/jobs/{job['id']}/stream", timeout=30) as response:
        next(read_events(response))
        started = time.monotonic()
        own.kill(signal.SIGTERM)
        stopped_after = time.monotonic() - started
    assert own.proc is not None and own.proc.returncode is not None
    assert stopped_after < 15, f"server took {stopped_after:.1f} s to stop"


def test_security_headers_and_no_cors(server: Server) -> None:
    for path in ("/api/health", "/docs", "/openapi.json", "/api/jobs/nope"):
        response = httpx.get(
            f"{server.url}{path}", headers={"Origin": "https://evil.example"}, timeout=10
        )
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "access-control-allow-origin" not in response.headers
    preflight = httpx.options(
        f"{server.url}/api/jobs",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_docs_page_has_no_inline_script(server: Server) -> None:
    page = httpx.get(f"{server.url}/docs", timeout=10).text
    assert '<script src="/docs-assets/swagger-ui-bundle.js"></script>' in page
    assert "<script>" not in page and "style=" not in page
    assert httpx.get(f"{server.url}/docs-init/init.js", timeout=10).status_code == 200


# -- the single-page app's routes --------------------------------------------------------


@pytest.fixture
def spa_client(tmp_path: Path) -> TestClient:
    static = tmp_path / "static"
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text("<!doctype html><title>app</title>")
    (static / "assets" / "main-abc123.js").write_text("console.log(1)")
    (static / "favicon.svg").write_text("<svg/>")
    app = FastAPI()

    @app.get("/api/ping")
    def ping() -> dict:
        return {"ok": True}

    install_web_app(app, static)
    return TestClient(app)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/search",
        "/jobs",
        "/jobs/abc-123?tab=hits",
        "/shared/tok_-9?tab=hits",  # a share link's page
        "/shared/tok/abc-123",  # anything after the token: the app's invalid-link page
    ],
)
def test_page_routes_serve_the_app_for_deep_links(spa_client: TestClient, path: str) -> None:
    response = spa_client.get(path)
    assert response.status_code == 200 and "<title>app</title>" in response.text
    assert response.headers["cache-control"] == "no-cache"


def test_assets_and_top_level_files_are_served(spa_client: TestClient) -> None:
    assert spa_client.get("/assets/main-abc123.js").text == "console.log(1)"
    assert spa_client.get("/favicon.svg").text == "<svg/>"
    assert spa_client.get("/api/ping").json() == {"ok": True}
    assert spa_client.get("/assets/../index.html").status_code == 404
    assert spa_client.get("/not-a-page").status_code == 404


def test_without_a_built_app_the_root_opens_the_docs(tmp_path: Path) -> None:
    app = FastAPI()
    install_web_app(app, tmp_path / "missing")
    response = TestClient(app).get("/", follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"] == "/docs"


# -- sign-in with a token: HttpOnly cookie + CSRF -----------------------------------------


@pytest.fixture(scope="module")
def auth_setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    data = tmp_path_factory.mktemp("session") / "data"
    assert cli(data, "user", "add", "carol").returncode == 0
    token = cli(data, "token", "create", "carol").stdout.decode().strip()
    with TestClient(create_app(make_settings(data, auth="on"))) as client:
        yield {"client": client, "token": token}


def test_session_reports_whether_sign_in_is_needed(auth_setup: dict) -> None:
    client: TestClient = auth_setup["client"]
    client.cookies.clear()
    assert client.get("/api/session").json() == {"auth_enabled": True, "user": None}
    assert client.get("/api/jobs").status_code == 401


def test_sign_in_sets_an_httponly_strict_cookie_and_csrf_guards_writes(
    auth_setup: dict, demo_16s
) -> None:
    client: TestClient = auth_setup["client"]
    client.cookies.clear()
    response = client.post("/api/session", json={"token": auth_setup["token"]})
    assert response.status_code == 200
    assert response.json() == {"auth_enabled": True, "user": {"name": "carol", "admin": False}}
    cookies = {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}
    session, csrf = cookies["blastdeck_session"], cookies["blastdeck_csrf"]
    assert "HttpOnly" in session and "SameSite=strict" in session and "Path=/" in session
    assert "HttpOnly" not in csrf and "SameSite=strict" in csrf
    assert client.get("/api/session").json()["user"]["name"] == "carol"
    assert client.get("/api/jobs").status_code == 200  # reads need no CSRF header

    body = {"program": "blastn", "database": "demo-16s", "query": fasta(demo_16s[:1])}
    refused = client.post("/api/jobs", json=body)
    assert refused.status_code == 403 and refused.json()["error_code"] == "forbidden"
    wrong = client.post("/api/jobs", json=body, headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    accepted = client.post(
        "/api/jobs", json=body, headers={"X-CSRF-Token": client.cookies["blastdeck_csrf"]}
    )
    assert accepted.status_code == 202, accepted.text

    signed_out = client.delete("/api/session")
    assert signed_out.status_code == 204
    assert client.get("/api/session").json()["user"] is None
    assert client.get("/api/jobs").status_code == 401


@pytest.mark.parametrize("token", ["", "bd_000000000000_nope", "x" * 513, "garbage"])
def test_sign_in_with_a_bad_token_is_refused(auth_setup: dict, token: str) -> None:
    client: TestClient = auth_setup["client"]
    client.cookies.clear()
    response = client.post("/api/session", json={"token": token})
    assert response.status_code in (401, 422)
    assert response.json()["error_code"] in ("unauthorized", "invalid_request")
    assert "set-cookie" not in response.headers


def test_bearer_requests_need_no_csrf(auth_setup: dict, demo_16s) -> None:
    client: TestClient = auth_setup["client"]
    client.cookies.clear()
    body = {"program": "blastn", "database": "demo-16s", "query": fasta(demo_16s[:1])}
    response = client.post(
        "/api/jobs", json=body, headers={"Authorization": f"Bearer {auth_setup['token']}"}
    )
    assert response.status_code == 202


def test_a_quiet_stream_is_pinged(monkeypatch: pytest.MonkeyPatch) -> None:
    """A job that does not change (e.g. waiting for a slot) still gets `ping` events, so the
    page can tell a quiet stream from a dead one."""
    monkeypatch.setattr(stream, "KEEPALIVE_S", 0.05)
    fixed = datetime(2026, 1, 1, tzinfo=UTC)
    waiting_job = SimpleNamespace(id="j", updated_at=fixed)
    jobs = SimpleNamespace(
        add_change_listener=lambda _listener: None,
        get=lambda _id: waiting_job,
        changed_at_many=lambda ids: {job_id: fixed for job_id in ids},
    )

    def render(job: SimpleNamespace) -> tuple[bytes, bool]:
        return stream.sse_event("job", json.dumps({"id": job.id})).encode(), False

    watcher = JobWatcher(jobs, render, fallback_s=0.01)

    async def first_frames(count: int) -> list[str]:
        frames = []
        async for frame in stream.job_events_stream(watcher, "j"):
            frames.append(frame)
            if len(frames) == count:
                break
        return frames

    watcher.start()
    try:
        frames = asyncio.run(first_frames(4))
    finally:
        watcher.stop()
    assert frames[0].startswith("retry: ")
    assert frames[1] == b'event: job\ndata: {"id": "j"}\n\n'  # once: the job does not change
    assert frames[2:] == ["event: ping\ndata: {}\n\n"] * 2
