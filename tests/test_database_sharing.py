"""Databases have owners: private ones are for their owner, group ones for the group's members,
public ones for everyone; admins see all. A database you may not use does not exist for you."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from tests.conftest import BLASTDECK, fasta, make_settings

GENES = fasta([("gene1 test gene", "ACGTTGCAAGGCTTAACCGGTTAACGTAGCTAGCTAGGCTAACGTTAGC" * 4)])


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("sharing") / "data", auth="on")
    with TestClient(create_app(settings)) as test_client:
        users = test_client.app.state.runtime.users
        users.add("alice", groups=["lab"])
        users.add("bob", groups=["lab"])
        users.add("carol")
        users.add("root", admin=True)
        test_client.tokens = {n: users.create_token(n) for n in ("alice", "bob", "carol", "root")}
        yield test_client


def as_(client: TestClient, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.tokens[user]}"}


def upload(client: TestClient, user: str, name: str, **fields: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/databases",
        data={"name": name, **fields},
        files={"file": (f"{name}.fa", GENES.encode(), "text/plain")},
        headers=as_(client, user),
    )


def visible(client: TestClient, user: str) -> set[str]:
    response = client.get("/api/databases", headers=as_(client, user))
    return {d["name"] for d in response.json()["items"]}


def submit(client: TestClient, user: str, database: str):  # type: ignore[no-untyped-def]
    body = {"program": "blastn", "database": database, "query": GENES}
    return client.post("/api/jobs", json=body, headers=as_(client, user))


@pytest.fixture(scope="module")
def shared(client: TestClient) -> dict[str, dict]:
    made = {
        "alice-private": upload(client, "alice", "alice-private"),
        "lab-shared": upload(client, "alice", "lab-shared", visibility="group", group="lab"),
        "carol-public": upload(client, "carol", "carol-public", visibility="public"),
    }
    for name, response in made.items():
        assert response.status_code == 201, (name, response.text)
    return {name: response.json() for name, response in made.items()}


def test_each_database_records_its_owner_and_sharing(client: TestClient, shared) -> None:
    alice_private = shared["alice-private"]
    assert alice_private["visibility"] == "private" and alice_private["group"] is None
    assert alice_private["owner_id"] is not None
    assert shared["lab-shared"]["visibility"] == "group"
    assert shared["lab-shared"]["group"] == "lab"
    assert shared["lab-shared"]["owner_id"] == alice_private["owner_id"]
    assert shared["carol-public"]["owner_id"] != alice_private["owner_id"]


def test_who_sees_which_database(client: TestClient, shared) -> None:
    demo = {"demo-16s", "demo-proteins"}  # public, from before owners existed
    assert visible(client, "alice") == demo | {"alice-private", "lab-shared", "carol-public"}
    assert visible(client, "bob") == demo | {"lab-shared", "carol-public"}
    assert visible(client, "carol") == demo | {"carol-public"}
    assert visible(client, "root") == demo | {"alice-private", "lab-shared", "carol-public"}


@pytest.mark.parametrize(
    ("user", "database", "allowed"),
    [
        ("alice", "alice-private", True),
        ("bob", "alice-private", False),
        ("carol", "alice-private", False),
        ("root", "alice-private", True),
        ("bob", "lab-shared", True),
        ("carol", "lab-shared", False),
        ("carol", "carol-public", True),
        ("alice", "carol-public", True),
    ],
)
def test_searching_a_database_needs_access(
    client: TestClient, shared, user: str, database: str, allowed: bool
) -> None:
    response = submit(client, user, database)
    if allowed:
        assert response.status_code == 202, response.text
    else:  # same answer as for a name that does not exist: the name is not confirmed
        assert response.status_code == 404
        assert response.json()["error_code"] == "unknown_database"
        unknown = submit(client, user, "no-such-db").json()
        assert response.json()["message"].replace(database, "X") == unknown["message"].replace(
            "no-such-db", "X"
        )


def test_blast_cgi_respects_database_access(client: TestClient, shared) -> None:
    put = {"CMD": "Put", "PROGRAM": "blastn", "DATABASE": "alice-private", "QUERY": GENES}
    refused = client.post("/blast/Blast.cgi", data={**put, "TOKEN": client.tokens["carol"]})
    assert "[unknown_database]" in refused.text
    accepted = client.post("/blast/Blast.cgi", data={**put, "TOKEN": client.tokens["alice"]})
    assert "RID = " in accepted.text


@pytest.mark.parametrize(
    ("fields", "status", "code", "field"),
    [
        ({"visibility": "secret"}, 422, "invalid_request", "visibility"),
        ({"visibility": "group"}, 422, "invalid_request", "group"),
        ({"visibility": "public", "group": "lab"}, 422, "invalid_request", "group"),
        ({"visibility": "group", "group": "other"}, 403, "forbidden", "group"),
        ({"visibility": "group", "group": "../lab"}, 422, "invalid_name", "group"),
    ],
)
def test_bad_sharing_is_refused_and_nothing_is_stored(
    client: TestClient, shared, fields: dict, status: int, code: str, field: str
) -> None:
    response = upload(client, "carol", "refused-db", **fields)
    assert response.status_code == status, response.text
    assert response.json()["error_code"] == code and response.json()["field"] == field
    assert "refused-db" not in visible(client, "root")


def test_registering_a_path_is_for_admins_and_can_be_shared(
    client: TestClient, shared, tmp_path: Path
) -> None:
    prefix = Path(client.app.state.runtime.databases.get("carol-public").path)
    body = {"name": "lab-registered", "path": str(prefix), "visibility": "group", "group": "lab"}
    refused = client.post("/api/databases", json=body, headers=as_(client, "alice"))
    assert refused.status_code == 403
    added = client.post("/api/databases", json=body, headers=as_(client, "root"))
    assert added.status_code == 201, added.text
    assert "lab-registered" in visible(client, "bob")
    assert "lab-registered" not in visible(client, "carol")


def test_cli_adds_users_with_groups_and_shared_databases(tmp_path: Path) -> None:
    data = tmp_path / "data"
    fa = tmp_path / "genes.fa"
    fa.write_text(GENES)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [BLASTDECK, *args, "--data-dir", str(data)], capture_output=True, timeout=120
        )

    added = run("user", "add", "dave", "--group", "lab", "--group", "seq")
    assert added.returncode == 0 and "groups: lab, seq" in added.stdout.decode()
    built = run("db", "add", "cli-lab", str(fa), "--visibility", "group", "--group", "lab")
    assert built.returncode == 0, built.stderr
    bad = run("db", "add", "cli-bad", str(fa), "--visibility", "secret")
    assert bad.returncode != 0 and "invalid_request" in bad.stderr.decode()
