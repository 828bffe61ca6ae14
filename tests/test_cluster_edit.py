"""Editing a cluster (PATCH /api/clusters/{cluster}, `blastdeck cluster edit`): checked as an
add is, admins only, recorded in the audit log; a job that has started keeps the definition it
started with (a real BLAST job on the local engine, held by a pause), new jobs get the new one.
SQLite embedded only: the edit is one row and the pin one column, the same on every backend."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from blastdeck.engines import local, registry
from blastdeck.engines.registry import register
from tests.conftest import BLASTDECK, fasta, make_settings, wait_for_job
from tests.test_cluster_pause import NAMESPACES, add_cluster, as_, assert_error, cluster_of, submit


@pytest.fixture(scope="module")
def auth_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data = tmp_path_factory.mktemp("edit-auth") / "data"
    with TestClient(create_app(make_settings(data, None, auth="on"))) as test_client:
        users = test_client.app.state.runtime.users
        users.add("alice")
        users.add("root", admin=True)
        test_client.tokens = {n: users.create_token(n) for n in ("alice", "root")}
        yield test_client


def patch(c: TestClient, name: str, body: Any, user: str = "root"):
    return c.patch(f"/api/clusters/{name}", json=body, **as_(c, user))


def test_an_edit_changes_only_what_it_names_and_is_audited(auth_client: TestClient) -> None:
    c = auth_client
    add_cluster(c, "ed", **as_(c, "root"))  # slots 1, namespaces team-a,team-b
    response = patch(c, "ed", {"slots": 3, "settings": {"namespaces": "team-a,team-c"}})
    assert response.status_code == 200, response.text
    got = cluster_of(c, "ed", **as_(c, "alice"))
    assert (got["slots"], got["namespace"], got["engine"]) == (3, "default", "local")
    assert got["namespaces"] == ["team-a", "team-c"]
    # The same engine and name may be sent back (a form sends the whole cluster); null removes
    # a setting; an absent field stays as it was.
    response = patch(c, "ed", {"name": "ed", "engine": "local", "settings": {"namespaces": None}})
    assert response.status_code == 200, response.text
    assert response.json()["settings"] == {} and response.json()["slots"] == 3

    events = c.get("/api/audit", **as_(c, "root")).json()["items"]
    ours = [(e["actor"], e["action"], e["details"]) for e in events if e["target"] == "ed"]
    assert ours[::-1] == [  # newest first
        (
            "root",
            "cluster.add",
            {"engine": "local", "slots": 1, "settings": {"namespaces": NAMESPACES}},
        ),
        ("root", "cluster.update", {"slots": 3, "settings": {"namespaces": "team-a,team-c"}}),
        ("root", "cluster.update", {"engine": "local", "settings": {"namespaces": None}}),
    ]


def test_bad_edits_are_refused_and_change_nothing(auth_client: TestClient) -> None:
    c = auth_client
    add_cluster(c, "firm", **as_(c, "root"))
    before = cluster_of(c, "firm", **as_(c, "root"))
    assert_error(patch(c, "firm", {"slots": 2}, user="alice"), 403, "forbidden")
    assert_error(patch(c, "nowhere", {"slots": 2}), 404, "unknown_cluster", "cluster")
    assert_error(patch(c, "local", {"slots": 2}), 409, "cluster_not_editable", "cluster")
    cases = [
        ({"slots": 0}, "invalid_request", "slots"),
        ({"slots": 10_001}, "invalid_request", "slots"),
        ({"engine": "slurm"}, "invalid_cluster_setting", "engine"),
        ({"name": "other"}, "invalid_cluster_setting", "name"),
        ({"namespace": "NOPE!"}, "invalid_namespace", "namespace"),
        ({"settings": {"partition": "x"}}, "invalid_cluster_setting", "settings"),
        ({"settings": {"namespaces": "ok,Not OK"}}, "invalid_namespace", "settings.namespaces"),
        ({"settings": {"namespaces": 5}}, "invalid_request", "settings.namespaces"),
    ]
    for body, code, field in cases:
        got = patch(c, "firm", body).json()
        assert (got["error_code"], got["field"]) == (code, field), (body, got)
    assert cluster_of(c, "firm", **as_(c, "root")) == before


def test_a_secret_stays_hidden_and_kept(auth_client: TestClient) -> None:
    register(replace(local.KIND, name="secretive2", settings=local.KIND.settings | {"api_token"}))
    try:
        c = auth_client
        body = {"name": "sec2", "engine": "secretive2", "settings": {"api_token": "s3cr3t"}}
        assert c.post("/api/clusters", json=body, **as_(c, "root")).status_code == 201
        # The form sends back what it was shown: "(hidden)" keeps the secret.
        response = patch(c, "sec2", {"slots": 2, "settings": {"api_token": "(hidden)"}})
        assert response.status_code == 200 and "s3cr3t" not in response.text
        registry_ = c.app.state.runtime.clusters
        assert registry_.get("sec2").settings == {"api_token": "s3cr3t"}
        events = c.get("/api/audit", **as_(c, "root")).text
        assert "s3cr3t" not in events
    finally:
        registry._KINDS.pop("secretive2", None)


def test_a_started_job_keeps_the_settings_it_started_with(
    auth_client: TestClient, demo_16s
) -> None:
    c = auth_client
    root = as_(c, "root")
    add_cluster(c, "keep", **root)
    assert c.post("/api/clusters/keep/pause", **root).status_code == 200

    def get(job_id: str) -> dict:
        return c.get(f"/api/jobs/{job_id}", **root).json()

    job_id = submit(c, fasta(demo_16s[:1]), "keep", "team-a", **root)
    wait_for_job(get, job_id, until=lambda j: j["phase"] == "paused", timeout=60)
    response = patch(c, "keep", {"slots": 2, "settings": {"namespaces": "team-c"}})
    assert response.status_code == 200, response.text
    assert c.post("/api/clusters/keep/resume", **root).status_code == 200
    assert wait_for_job(get, job_id)["status"] == "completed"  # team-a is gone now, yet it ran

    runtime = c.app.state.runtime
    started = runtime.pipeline.context(runtime.jobs.get(job_id)).cluster
    assert (started.slots, started.namespaces) == (1, ("team-a", "team-b"))
    # A new job gets the new definition: team-a is refused, team-c accepted.
    body = {"program": "blastn", "database": "demo-16s", "query": fasta(demo_16s[:1])}
    response = c.post("/api/jobs", json={**body, "cluster": "keep", "namespace": "team-a"}, **root)
    assert_error(response, 422, "invalid_namespace", "namespace")


def test_the_cli_edits_a_cluster(tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [BLASTDECK, "cluster", *args, "--data-dir", str(tmp_path)]
        return subprocess.run(command, capture_output=True, text=True, timeout=60)

    added = cli("add", "c1", "--engine", "local", "--slots", "1", "--set", "namespaces=x,y")
    assert added.returncode == 0, added.stderr
    done = cli("edit", "c1", "--slots", "4", "--set", "batch_letters=5000", "--unset", "namespaces")
    assert done.returncode == 0, done.stderr
    assert '4 slots, settings {"batch_letters": "5000"}' in done.stdout, done.stdout
    bad = cli("edit", "c1", "--slots", "0")
    assert bad.returncode != 0 and "slots must be at least 1" in bad.stdout + bad.stderr
