"""Pausing a cluster or one namespace (POST /api/clusters/{cluster}/pause and /resume): real
jobs on the local engine wait in phase `paused` before taking the submit slot, while other
namespaces run; a resume lets them finish. GET /api/clusters shows the pauses and, per
namespace, the waiting jobs in order and the jobs past the slot; DELETE /api/clusters/{name} is
refused while jobs use the cluster. The barrier engine (tests/support) is the only test double:
it holds a job inside its submit step so a lock holder can be seen."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

import tests.support.barrier_engine  # noqa: F401  (registers the "barrier" engine here)
from blastdeck.api.app import create_app
from blastdeck.engines import local, registry
from blastdeck.engines.registry import register
from tests.conftest import (
    BLASTDECK,
    TEST_PLUGINS,
    Server,
    api_job,
    fasta,
    make_settings,
    wait_for_job,
)


@pytest.fixture(scope="module", params=["sqlite", "distributed"])
def backend_name(request: pytest.FixtureRequest) -> str:
    """SQLite embedded, and distributed (PostgreSQL, Redis, Celery workers): PostgreSQL
    embedded adds nothing these tests could tell apart, and CI's 30 minutes are shared."""
    return request.param


NAMESPACES = "team-a,team-b"


def submit(client: TestClient, query: str, cluster: str, namespace: str, **kw: Any) -> str:
    body = {
        "program": "blastn",
        "database": "demo-16s",
        "query": query,
        "cluster": cluster,
        "namespace": namespace,
    }
    response = client.post("/api/jobs", json=body, **kw)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def add_cluster(client: TestClient, name: str, **kw: Any) -> None:
    body = {"name": name, "engine": "local", "slots": 1, "settings": {"namespaces": NAMESPACES}}
    response = client.post("/api/clusters", json=body, **kw)
    assert response.status_code == 201, response.text


def cluster_of(client: TestClient, name: str, **kw: Any) -> dict:
    response = client.get("/api/clusters", **kw)
    assert response.status_code == 200, response.text
    found = [c for c in response.json()["items"] if c["name"] == name]
    assert len(found) == 1, response.json()
    return found[0]


def slot_of(cluster: dict, namespace: str) -> dict:
    return next(s for s in cluster["submit_slots"] if s["namespace"] == namespace)


def is_paused(job: dict) -> bool:
    return job["phase"] == "paused"


def test_a_paused_namespace_waits_while_another_runs_then_resumes(
    client: TestClient, demo_16s, backend_name: str
) -> None:
    add_cluster(client, "pz")
    get = api_job(client)
    response = client.post("/api/clusters/pz/pause", json={"namespace": "team-a"})
    assert response.status_code == 200, response.text
    state = response.json()
    assert state["cluster"] == "pz" and state["namespace"] == "team-a"
    assert state["paused"]["paused_by"] == "admin"  # auth is off: the anonymous admin
    assert state["paused"]["message"].startswith(
        "cluster pz / namespace team-a is paused by admin since "
    )

    held = submit(client, fasta(demo_16s[:1]), "pz", "team-a")
    other = submit(client, fasta(demo_16s[1:2]), "pz", "team-b")
    job = wait_for_job(get, held, until=is_paused, timeout=60)
    assert job["status"] == "running"  # unfinished, as a wait for the slot is
    waiting = job["waiting_for"]
    assert waiting["what"] == "paused" and waiting["scope"] == "namespace"
    assert waiting["cluster"] == "pz" and waiting["namespace"] == "team-a"
    assert waiting["paused_by"] == "admin"
    assert waiting["message"] == state["paused"]["message"]
    submitting = next(s for s in job["steps"] if s["key"] == "submitting")
    assert submitting["status"] == "running"

    # The other namespace runs meanwhile; the paused job is still paused after it.
    done = wait_for_job(get, other)
    assert done["status"] == "completed", done
    assert get(held)["phase"] == "paused"
    events = client.get(f"/api/jobs/{held}/events").json()["items"]
    paused_events = [e for e in events if e["kind"] == "waiting" and e["phase"] == "paused"]
    assert len(paused_events) == 1, events  # one event per wait, not one per re-check
    assert "is paused by admin since" in paused_events[0]["message"]

    cluster = cluster_of(client, "pz")
    assert cluster["paused"] is None
    team_a, team_b = slot_of(cluster, "team-a"), slot_of(cluster, "team-b")
    assert team_a["paused"]["namespace"] == "team-a"
    assert [j["job_id"] for j in team_a["waiting_jobs"]] == [held]
    assert team_a["waiting_jobs"][0]["phase"] == "paused"
    assert team_a["waiting_jobs"][0]["waited_ms"] >= 0
    assert team_a["holder_job_id"] is None  # a paused namespace's slot is never taken
    assert team_b["paused"] is None and team_b["waiting_jobs"] == []

    response = client.post("/api/clusters/pz/resume", json={"namespace": "team-a"})
    assert response.status_code == 200, response.text
    assert response.json()["paused"] is None
    done = wait_for_job(get, held)
    assert done["status"] == "completed", done
    assert done["hits_total"] > 0
    assert slot_of(cluster_of(client, "pz"), "team-a")["paused"] is None


def test_a_paused_cluster_holds_every_namespace_in_order(
    client: TestClient, demo_16s, backend_name: str
) -> None:
    add_cluster(client, "whole")
    get = api_job(client)
    response = client.post("/api/clusters/whole/pause")  # no body: the whole cluster
    assert response.status_code == 200, response.text
    assert response.json()["namespace"] is None
    assert response.json()["paused"]["message"].startswith("cluster whole is paused by admin")

    first = submit(client, fasta(demo_16s[:1]), "whole", "team-a")
    second = submit(client, fasta(demo_16s[1:2]), "whole", "team-a")
    third = submit(client, fasta(demo_16s[2:3]), "whole", "team-b")
    for job_id in (first, second, third):
        job = wait_for_job(get, job_id, until=is_paused, timeout=60)
        assert job["waiting_for"]["scope"] == "cluster", job
        assert job["waiting_for"]["message"].startswith("cluster whole is paused by admin")

    cluster = cluster_of(client, "whole")
    assert cluster["paused"]["namespace"] is None
    team_a = slot_of(cluster, "team-a")
    assert team_a["paused"]["namespace"] is None  # the cluster's pause holds the namespace
    waiting = team_a["waiting_jobs"]
    assert sorted(j["job_id"] for j in waiting) == sorted([first, second])
    assert [j["since"] for j in waiting] == sorted(j["since"] for j in waiting)  # in order
    assert [j["job_id"] for j in slot_of(cluster, "team-b")["waiting_jobs"]] == [third]
    assert cluster["queue_depth"] == 3

    # Resuming one namespace does not lift the cluster's pause: the answer says so.
    response = client.post("/api/clusters/whole/resume", json={"namespace": "team-b"})
    assert response.status_code == 200, response.text
    assert response.json()["paused"]["namespace"] is None
    time.sleep(1.5)  # more than a paused job's re-check interval
    assert get(third)["phase"] == "paused"

    assert client.post("/api/clusters/whole/resume").status_code == 200
    for job_id in (first, second, third):
        done = wait_for_job(get, job_id)
        assert done["status"] == "completed", done
    assert cluster_of(client, "whole")["paused"] is None


def test_a_cluster_in_use_cannot_be_deleted(client: TestClient, demo_16s) -> None:
    add_cluster(client, "gone")
    get = api_job(client)
    assert client.post("/api/clusters/gone/pause").status_code == 200
    job_id = submit(client, fasta(demo_16s[:1]), "gone", "team-a")
    wait_for_job(get, job_id, until=is_paused, timeout=60)

    response = client.delete("/api/clusters/gone")
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["error_code"] == "cluster_in_use" and job_id in body["message"]
    assert cluster_of(client, "gone")["paused"] is not None  # nothing was removed

    assert client.post(f"/api/jobs/{job_id}/cancel").status_code in (200, 202)
    assert wait_for_job(get, job_id)["status"] == "cancelled"
    response = client.delete("/api/clusters/gone")
    assert response.status_code == 200, response.text
    assert response.json() == {"name": "gone", "engine": "local"}
    names = [c["name"] for c in client.get("/api/clusters").json()["items"]]
    assert "gone" not in names
    response = client.post("/api/clusters/gone/pause")
    assert response.status_code == 404 and response.json()["error_code"] == "unknown_cluster"
    # The name is free again, and the old pause went with the cluster.
    add_cluster(client, "gone")
    assert cluster_of(client, "gone")["paused"] is None
    assert client.delete("/api/clusters/gone").status_code == 200

    response = client.delete("/api/clusters/local")
    assert response.status_code == 409, response.text
    assert response.json()["error_code"] == "cluster_not_removable"


# -- with auth on: who may act, and every bad input ------------------------------------------


@pytest.fixture(scope="module")
def auth_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data = tmp_path_factory.mktemp("pause-auth") / "data"
    settings = make_settings(data, None, auth="on", plugins=TEST_PLUGINS)
    with TestClient(create_app(settings)) as test_client:
        users = test_client.app.state.runtime.users
        users.add("alice")
        users.add("root", admin=True)
        test_client.tokens = {n: users.create_token(n) for n in ("alice", "root")}
        yield test_client


def as_(client: TestClient, user: str) -> dict[str, dict[str, str]]:
    return {"headers": {"Authorization": f"Bearer {client.tokens[user]}"}}


def assert_error(response: httpx.Response, status: int, code: str, field: str | None = None):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code, body
    assert body["message"], body
    if field is not None:
        assert body["field"] == field, body
    return body


def test_only_admins_act_and_the_pause_names_them(auth_client: TestClient) -> None:
    c = auth_client
    add_cluster(c, "adm", **as_(c, "root"))
    for method, path, body in [
        ("post", "/api/clusters/adm/pause", {"namespace": "team-a"}),
        ("post", "/api/clusters/adm/resume", None),
        ("delete", "/api/clusters/adm", None),
        ("post", "/api/clusters", {"name": "x", "engine": "local"}),
    ]:
        kwargs: dict[str, Any] = {"json": body} if body is not None else {}
        response = getattr(c, method)(path, **kwargs, **as_(c, "alice"))
        assert_error(response, 403, "forbidden")
    # Everyone sees the clusters (and nobody unauthenticated does).
    assert cluster_of(c, "adm", **as_(c, "alice"))["paused"] is None
    assert c.get("/api/clusters").status_code == 401

    response = c.post("/api/clusters/adm/pause", json={"namespace": "team-a"}, **as_(c, "root"))
    assert response.status_code == 200, response.text
    assert response.json()["paused"]["paused_by"] == "root"
    # Pausing again keeps the first pause (who, since when).
    again = c.post("/api/clusters/adm/pause", json={"namespace": "team-a"}, **as_(c, "root"))
    assert again.json()["paused"]["paused_at"] == response.json()["paused"]["paused_at"]
    slot = slot_of(cluster_of(c, "adm", **as_(c, "alice")), "team-a")
    assert slot["paused"]["message"].startswith("cluster adm / namespace team-a is paused by root")
    resumed = c.post("/api/clusters/adm/resume", json={"namespace": "team-a"}, **as_(c, "root"))
    assert resumed.status_code == 200 and resumed.json()["paused"] is None
    # Resuming what is not paused is no error.
    assert c.post("/api/clusters/adm/resume", **as_(c, "root")).status_code == 200


def test_bad_pause_and_delete_inputs(auth_client: TestClient) -> None:
    c = auth_client
    root = as_(c, "root")
    add_cluster(c, "bad", **root)
    for path in ("/api/clusters/nowhere/pause", "/api/clusters/nowhere/resume"):
        assert_error(c.post(path, **root), 404, "unknown_cluster", "cluster")
    assert_error(c.delete("/api/clusters/nowhere", **root), 404, "unknown_cluster", "cluster")
    # A namespace the cluster does not have, and one that is no namespace at all.
    for action in ("pause", "resume"):
        body = assert_error(
            c.post(f"/api/clusters/bad/{action}", json={"namespace": "team-z"}, **root),
            422,
            "invalid_namespace",
            "namespace",
        )
        assert "team-a, team-b" in body["message"]
    for bad in ("Team A!", "-x", "a" * 64, "../etc"):
        response = c.post("/api/clusters/bad/pause", json={"namespace": bad}, **root)
        assert_error(response, 422, "invalid_namespace", "namespace")
    # On a cluster that lists no namespaces, any well-formed one may be paused in advance.
    response = c.post("/api/clusters/local/pause", json={"namespace": "later"}, **root)
    assert response.status_code == 200, response.text
    assert slot_of(cluster_of(c, "local", **root), "later")["paused"] is not None
    assert c.post("/api/clusters/local/resume", json={"namespace": "later"}, **root).is_success
    # Not an object / wrong types.
    for raw in ('{"namespace": 5}', '["team-a"]', '{"namespace": "' + "x" * 300 + '"}'):
        response = c.post(
            "/api/clusters/bad/pause",
            content=raw,
            headers={**root["headers"], "content-type": "application/json"},
        )
        assert response.status_code == 422, response.text
        assert response.json()["error_code"] == "invalid_request"
    assert cluster_of(c, "bad", **root)["paused"] is None  # nothing stored by any of those
    assert all(s["paused"] is None for s in cluster_of(c, "bad", **root)["submit_slots"])


def test_the_cluster_form_names_each_invalid_field(auth_client: TestClient) -> None:
    c = auth_client
    root = as_(c, "root")
    cases = [
        ({"name": "Bad Name!", "engine": "local"}, "invalid_name", "name"),
        ({"name": "e1", "engine": "nosuch"}, "unknown_engine", "engine"),
        ({"name": "e2", "engine": "local", "namespace": "NOPE!"}, "invalid_namespace", "namespace"),
        ({"name": "e3", "engine": "local", "slots": 0}, "invalid_request", "slots"),
        ({"name": "e6", "engine": "local", "slots": True}, "invalid_request", "slots"),
        (
            {"name": "e4", "engine": "local", "settings": {"partition": "x"}},
            "invalid_cluster_setting",
            "settings",
        ),
        (
            {"name": "e5", "engine": "local", "settings": {"namespaces": "ok,Not OK"}},
            "invalid_namespace",
            "settings.namespaces",
        ),
        ({"name": "local", "engine": "local"}, "cluster_exists", "name"),
    ]
    for body, code, field in cases:
        response = c.post("/api/clusters", json=body, **root)
        assert response.status_code in (409, 422), (body, response.text)
        got = response.json()
        assert (got["error_code"], got["field"]) == (code, field), (body, got)
    names = {x["name"] for x in c.get("/api/clusters", **root).json()["items"]}
    assert not names & {"e1", "e2", "e3", "e4", "e5"}


def test_holder_waiting_and_running_jobs_per_namespace(
    auth_client: TestClient, tmp_path: Path, demo_16s
) -> None:
    c = auth_client
    root = as_(c, "root")
    barrier = tmp_path / "barrier"
    body = {
        "name": "bar",
        "engine": "barrier",
        "slots": 1,
        "settings": {"barrier_dir": str(barrier)},
    }
    assert c.post("/api/clusters", json=body, **root).status_code == 201

    def get(job_id: str) -> dict:
        return c.get(f"/api/jobs/{job_id}", **root).json()

    first = submit(c, fasta(demo_16s[:1]), "bar", "default", **root)
    deadline = time.monotonic() + 60
    while not (barrier / f"{first}.submit-start").exists():
        assert time.monotonic() < deadline, "the first job never reached its submit"
        time.sleep(0.02)
    # a submit that stays in this process writes its start within step_records.WRITE_AFTER_S
    wait_for_job(get, first, until=lambda j: j["phase"] == "submitting", timeout=10)
    second = submit(c, fasta(demo_16s[1:2]), "bar", "default", **root)
    wait_for_job(get, second, until=lambda j: j["phase"] == "waiting_for_submit_slot")

    slot = slot_of(cluster_of(c, "bar", **root), "default")
    assert slot["holder_job_id"] == first and slot["ttl_ms"] > 0
    assert [j["job_id"] for j in slot["waiting_jobs"]] == [second]
    assert slot["waiting_jobs"][0]["phase"] == "waiting_for_submit_slot"
    assert [(j["job_id"], j["phase"]) for j in slot["running_jobs"]] == [(first, "submitting")]
    assert slot["running_jobs"][0]["waited_ms"] is None
    assert slot["queue_depth"] == 2

    (barrier / "release-all").write_text("")
    for job_id in (first, second):
        assert wait_for_job(get, job_id)["status"] == "completed"
    slot = slot_of(cluster_of(c, "bar", **root), "default")
    assert slot["holder_job_id"] is None
    assert slot["waiting_jobs"] == [] and slot["running_jobs"] == []


def test_secret_settings_are_never_shown(auth_client: TestClient) -> None:
    """A plugin engine's secret setting (its name says so) is stored but never listed."""
    register(replace(local.KIND, name="secretive", settings=local.KIND.settings | {"api_token"}))
    try:
        _secret_not_shown(auth_client)
    finally:
        registry._KINDS.pop("secretive", None)  # other tests list the engine kinds


def _secret_not_shown(c: TestClient) -> None:
    body = {"name": "sec", "engine": "secretive", "settings": {"api_token": "s3cr3t-value"}}
    response = c.post("/api/clusters", json=body, **as_(c, "root"))
    assert response.status_code == 201, response.text
    assert response.json()["settings"] == {"api_token": "(hidden)"}
    listing = c.get("/api/clusters", **as_(c, "alice"))
    assert "s3cr3t-value" not in listing.text
    assert cluster_of(c, "sec", **as_(c, "alice"))["settings"] == {"api_token": "(hidden)"}
    assert c.delete("/api/clusters/sec", **as_(c, "root")).status_code == 200


# -- the live stream ---------------------------------------------------------------------------


def read_events(response: httpx.Response) -> Iterator[tuple[str, Any]]:
    name = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: ") and name:
            yield name, json.loads(line[len("data: ") :])
            name = None


def test_the_stream_sends_each_change(tmp_path: Path, demo_16s) -> None:
    """A real server: GET /api/clusters/stream sends the listing on connect, then a new event
    when a pause and a lock release change it."""
    server = Server(tmp_path / "data", None)
    repo = str(Path(__file__).resolve().parents[1])
    server.env["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))
    server.env["BLASTDECK_PLUGINS"] = TEST_PLUGINS
    server.start()
    try:
        barrier = tmp_path / "barrier"
        body = {"name": "live", "engine": "barrier", "settings": {"barrier_dir": str(barrier)}}
        assert httpx.post(f"{server.url}/api/clusters", json=body).status_code == 201
        query = {"program": "blastn", "database": "demo-16s", "query": fasta(demo_16s[:1])}
        job_id = httpx.post(f"{server.url}/api/jobs", json={**query, "cluster": "live"}).json()[
            "id"
        ]
        with httpx.stream("GET", f"{server.url}/api/clusters/stream", timeout=30) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = read_events(response)

            def live_slot() -> dict:
                while True:
                    name, data = next(events)
                    if name == "clusters":
                        live = next(x for x in data["items"] if x["name"] == "live")
                        return live["submit_slots"][0]

            slot = live_slot()
            while slot["holder_job_id"] != job_id:
                slot = live_slot()
            assert httpx.post(f"{server.url}/api/clusters/live/pause").status_code == 200
            while slot["paused"] is None:
                slot = live_slot()
            assert slot["paused"]["namespace"] is None
            (barrier / f"{job_id}.release").write_text("")
            while slot["holder_job_id"] is not None:
                slot = live_slot()
    finally:
        server.kill()


# -- the CLI: on the data dir and over --server ------------------------------------------------


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"BLASTDECK_DATA_DIR": str(data_dir), "PATH": os.environ["PATH"]}
    return subprocess.run([BLASTDECK, *args], capture_output=True, text=True, env=env)


def test_the_cli_pauses_resumes_and_removes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    added = cli(
        data, "cluster", "add", "pc", "--engine", "local", "--set", f"namespaces={NAMESPACES}"
    )
    assert added.returncode == 0, added.stderr
    paused = cli(data, "cluster", "pause", "pc", "--namespace", "team-a")
    assert paused.returncode == 0, paused.stderr
    assert "cluster pc / namespace team-a is paused by cli since" in paused.stdout
    for args, code in [
        (("pause", "pc", "--namespace", "team-z"), "invalid_namespace"),
        (("pause", "pc", "--namespace", "Not OK"), "invalid_namespace"),
        (("pause", "nowhere"), "unknown_cluster"),
        (("resume", "nowhere"), "unknown_cluster"),
        (("remove", "local"), "cluster_not_removable"),
    ]:
        run = cli(data, "cluster", *args)
        assert run.returncode == 2, (args, run.stdout, run.stderr)
        assert f"error {code}" in run.stderr, (args, run.stderr)
    resumed = cli(data, "cluster", "resume", "pc", "--namespace", "team-a")
    assert resumed.returncode == 0 and "pc / team-a resumed" in resumed.stdout, resumed.stderr
    removed = cli(data, "cluster", "remove", "pc")
    assert removed.returncode == 0 and "removed pc" in removed.stdout, removed.stderr

    # Over --server: the same answers through the HTTP client.
    server = Server(data, None)
    server.start()
    try:
        url = ["--server", server.url]
        run = cli(data, "cluster", "pause", "local", *url)
        assert run.returncode == 0, run.stderr
        assert "cluster local is paused by admin since" in run.stdout
        run = cli(data, "cluster", "resume", "local", "--namespace", "default", *url)
        assert run.returncode == 0 and "still held: cluster local is paused" in run.stdout
        run = cli(data, "cluster", "resume", "local", *url)
        assert run.returncode == 0 and "local resumed" in run.stdout, run.stderr
        run = cli(data, "cluster", "pause", "nowhere", *url)
        assert run.returncode == 2 and "error unknown_cluster" in run.stderr, run.stderr
        run = cli(data, "cluster", "remove", "local", *url)
        assert run.returncode == 2 and "error cluster_not_removable" in run.stderr, run.stderr
    finally:
        server.kill()
