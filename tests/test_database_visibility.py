"""PATCH /api/databases/{name}: the owner or an admin changes who may search a database; its
name follows its new scope, its built files and taxid set move with it, its staged copies
under the old name go, and the change is in the audit log (as are a path registered and a
database deleted). GET shows where it is staged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from blastdeck.api.app import create_app
from blastdeck.databases import storage_name
from blastdeck.store.models import BlastDatabase
from blastdeck.store.new_job import NewJob
from tests.conftest import fasta, make_settings, wait_for_job

GENE1 = ("gene1 test gene", "ACGTTGCAAGGCTTAACCGGTTAACGTAGCTAGCTAGGCTAACGTTAGC" * 4)
GENES = fasta([GENE1])


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("visibility") / "data", auth="on")
    with TestClient(create_app(settings)) as test_client:
        users = test_client.app.state.runtime.users
        users.add("alice", groups=["lab"])
        users.add("bob", groups=["lab"])
        users.add("root", admin=True)
        test_client.tokens = {n: users.create_token(n) for n in ("alice", "bob", "root")}
        yield test_client


def as_(client: TestClient, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.tokens[user]}"}


def upload(client: TestClient, user: str, name: str, **fields: str) -> dict:
    response = client.post(
        "/api/databases",
        data={"name": name, "taxid": "562", **fields},
        files={"file": (f"{name}.fa", GENES.encode(), "text/plain")},
        headers=as_(client, user),
    )
    assert response.status_code == 201, response.text
    return response.json()


def patch(client: TestClient, user: str, name: str, **body: str | None):  # type: ignore[no-untyped-def]
    return client.patch(f"/api/databases/{name}", json=body, headers=as_(client, user))


def test_staged_then_shared_with_the_group_then_public(client: TestClient) -> None:
    db = upload(client, "alice", "moving")
    assert db["name"] == "alice/moving" and db["staged"] == []
    job = client.post(
        "/api/jobs",
        json={"program": "blastn", "database": db["name"], "query": GENES},
        headers=as_(client, "alice"),
    ).json()
    done = wait_for_job(
        lambda jid: client.get(f"/api/jobs/{jid}", headers=as_(client, "alice")).json(), job["id"]
    )
    assert done["status"] == "completed", done
    staged = client.get(f"/api/databases/{db['name']}", headers=as_(client, "alice")).json()
    assert [(s["cluster"], s["current"]) for s in staged["staged"]] == [("local", True)]
    listed = client.get("/api/databases", headers=as_(client, "alice")).json()["items"]
    assert [d["staged"] for d in listed if d["name"] == db["name"]] == [staged["staged"]]
    old_copy = Path(staged["staged"][0]["location"])
    assert old_copy.is_dir()

    response = patch(client, "alice", db["name"], visibility="group", group="lab")
    assert response.status_code == 200, response.text
    moved = response.json()
    assert moved["name"] == "@lab/moving" and moved["group"] == "lab"
    assert moved["available"] and moved["taxonomy"]["taxid_sequences"] == 1
    assert Path(moved["path"]).parent.name == storage_name("@lab/moving")
    assert not Path(db["path"]).parent.exists() and not old_copy.exists()
    assert moved["staged"] == []
    # bob, in the lab, now finds it; the old name is gone.
    assert client.get("/api/databases/@lab/moving", headers=as_(client, "bob")).status_code == 200
    gone = client.get(f"/api/databases/{db['name']}", headers=as_(client, "alice"))
    assert gone.status_code == 404

    response = patch(client, "root", "@lab/moving", visibility="public")
    assert response.status_code == 200 and response.json()["name"] == "moving"
    # Back to private: the owner stays alice, though an admin made the change.
    response = patch(client, "root", "moving", visibility="private")
    assert response.status_code == 200 and response.json()["name"] == "alice/moving"
    assert client.delete("/api/databases/alice/moving", headers=as_(client, "alice")).is_success
    events = client.get("/api/audit", headers=as_(client, "root")).json()["items"]
    changes = [(e["action"], e["actor"], e["target"]) for e in events]
    assert changes[:4] == [
        ("database.remove", "alice", "alice/moving"),
        ("database.visibility", "root", "alice/moving"),
        ("database.visibility", "root", "moving"),
        ("database.visibility", "alice", "@lab/moving"),
    ]
    assert events[1]["details"]["from"] == "moving"


def test_registering_a_path_is_in_the_audit_log(client: TestClient) -> None:
    demo = client.get("/api/databases/demo-16s", headers=as_(client, "root")).json()
    body = {"name": "reg-audit", "path": demo["path"]}
    response = client.post("/api/databases", json=body, headers=as_(client, "root"))
    assert response.status_code == 201, response.text
    events = client.get("/api/audit", headers=as_(client, "root")).json()["items"]
    assert (events[0]["action"], events[0]["actor"], events[0]["target"]) == (
        "database.register",
        "root",
        "reg-audit",
    )
    assert events[0]["details"] == {"path": demo["path"]}


def test_bad_changes_are_refused_and_nothing_moves(client: TestClient) -> None:
    db = upload(client, "alice", "fixed")
    folder = Path(db["path"]).parent
    bad = patch(client, "alice", db["name"], visibility="everyone")
    assert bad.status_code == 422, bad.text
    outsider = patch(client, "alice", db["name"], visibility="group", group="seq")
    assert outsider.status_code == 403 and outsider.json()["error_code"] == "forbidden"
    assert patch(client, "alice", db["name"], visibility="public", group="lab").status_code == 422
    # bob may not even see alice's private database: as if it did not exist.
    hidden = patch(client, "bob", db["name"], visibility="public")
    assert hidden.status_code == 404 and hidden.json()["error_code"] == "unknown_database"
    shared = upload(client, "alice", "labdb", visibility="group", group="lab")
    other = patch(client, "bob", shared["name"], visibility="public")
    assert other.status_code == 403 and other.json()["error_code"] == "forbidden"
    upload(client, "root", "fixed", visibility="public")  # the public name is taken
    taken = patch(client, "alice", db["name"], visibility="public")
    assert taken.status_code == 409 and taken.json()["error_code"] == "database_exists"
    assert folder.is_dir()

    jobs = client.app.state.runtime.jobs
    queued = jobs.create(NewJob("t", "blastn", db["name"], "local", "default", {}, GENES, 1, 200))
    busy = patch(client, "alice", db["name"], visibility="group", group="lab")
    assert busy.status_code == 409 and busy.json()["error_code"] == "database_in_use"
    assert queued.id in busy.json()["message"]
    assert folder.is_dir()
    assert client.get(f"/api/databases/{db['name']}", headers=as_(client, "alice")).is_success


def test_an_unowned_private_database_made_public_keeps_its_name_and_files(
    client: TestClient,
) -> None:
    # A private database with no owner (added before scoped names) keeps its plain name.
    db = upload(client, "root", "legacy", visibility="public")
    runtime = client.app.state.runtime
    with runtime.sessions.begin() as s:
        s.execute(
            update(BlastDatabase)
            .where(BlastDatabase.name == "legacy")
            .values(visibility="private", owner_id=None)
        )
    response = patch(client, "root", "legacy", visibility="public")
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "legacy" and response.json()["visibility"] == "public"
    assert response.json()["available"] and Path(db["path"]).parent.is_dir()
    refused = patch(client, "root", "legacy", visibility="private")
    assert refused.status_code == 422 and "no owner" in refused.json()["message"]
