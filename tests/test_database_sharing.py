"""Databases have owners: private ones are for their owner, group ones for the group's members,
public ones for everyone; admins see all. A database you may not use does not exist for you.
Names are scoped: `name` (public), `<owner>/name` (private), `@<group>/name` (group)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from tests.conftest import BLASTDECK, fasta, make_settings, wait_for_job

GENE1 = ("gene1 test gene", "ACGTTGCAAGGCTTAACCGGTTAACGTAGCTAGCTAGGCTAACGTTAGC" * 4)
OTHER = ("other1 another gene", "TTGACCGATGCAAGTCCGATTGCAGGCTTACCAGTGACCTAGGATCCAT" * 4)
GENES = fasta([GENE1])


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("sharing") / "data", auth="on")
    with TestClient(create_app(settings)) as test_client:
        users = test_client.app.state.runtime.users
        users.add("alice", groups=["lab"])
        users.add("bob", groups=["lab"])
        users.add("carol")
        users.add("dana", groups=["lab", "seq"])
        users.add("root", admin=True)
        names = ("alice", "bob", "carol", "dana", "root")
        test_client.tokens = {n: users.create_token(n) for n in names}
        yield test_client


def as_(client: TestClient, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.tokens[user]}"}


def upload(client: TestClient, user: str, name: str, content: str = GENES, **fields: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/databases",
        data={"name": name, **fields},
        files={"file": (f"{name}.fa", content.encode(), "text/plain")},
        headers=as_(client, user),
    )


def visible(client: TestClient, user: str) -> set[str]:
    response = client.get("/api/databases", headers=as_(client, user))
    return {d["name"] for d in response.json()["items"]}


def submit(client: TestClient, user: str, database: str, query: str = GENES):  # type: ignore[no-untyped-def]
    body = {"program": "blastn", "database": database, "query": query}
    return client.post("/api/jobs", json=body, headers=as_(client, user))


def finished(client: TestClient, user: str, job_id: str) -> dict:
    def get(jid: str) -> dict:
        return client.get(f"/api/jobs/{jid}", headers=as_(client, user)).json()

    return wait_for_job(get, job_id)


def subjects(client: TestClient, user: str, job_id: str) -> set[str]:
    hits = client.get(f"/api/jobs/{job_id}/hits", headers=as_(client, user)).json()["items"]
    return {h["subject_id"] for h in hits}


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
    assert alice_private["name"] == "alice/alice-private" and alice_private["scope"] == "alice"
    assert shared["lab-shared"]["name"] == "@lab/lab-shared"
    assert shared["lab-shared"]["scope"] == "@lab"
    assert shared["carol-public"]["name"] == "carol-public"
    assert shared["carol-public"]["scope"] == "public"
    assert alice_private["visibility"] == "private" and alice_private["group"] is None
    assert alice_private["owner_id"] is not None
    assert shared["lab-shared"]["visibility"] == "group"
    assert shared["lab-shared"]["group"] == "lab"
    assert shared["lab-shared"]["owner_id"] == alice_private["owner_id"]
    assert shared["carol-public"]["owner_id"] != alice_private["owner_id"]


def test_who_sees_which_database(client: TestClient, shared) -> None:
    demo = {"demo-16s", "demo-proteins"}  # public, from before owners existed
    everything = {"alice/alice-private", "@lab/lab-shared", "carol-public"}
    assert visible(client, "alice") >= demo | everything
    assert visible(client, "bob") >= demo | {"@lab/lab-shared", "carol-public"}
    assert "alice/alice-private" not in visible(client, "bob")
    assert visible(client, "carol") == demo | {"carol-public"}
    assert visible(client, "root") >= demo | everything


@pytest.mark.parametrize(
    ("user", "database", "allowed"),
    [
        ("alice", "alice-private", True),
        ("bob", "alice-private", False),
        ("carol", "alice-private", False),
        ("alice", "alice/alice-private", True),
        ("root", "alice/alice-private", True),
        ("root", "alice-private", False),  # a plain name is the admin's own, group or public
        ("bob", "alice/alice-private", False),  # qualified: still not confirmed
        ("bob", "lab-shared", True),
        ("bob", "@lab/lab-shared", True),
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
    assert added.json()["name"] == "@lab/lab-registered"
    assert "@lab/lab-registered" in visible(client, "bob")
    assert "@lab/lab-registered" not in visible(client, "carol")


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


def test_private_names_are_scoped_to_their_owner(client: TestClient, shared) -> None:
    """Issue 14: as alice, adding `bob-private` answered database_exists, although bob's private
    database is invisible to alice everywhere else."""
    bobs = upload(client, "bob", "bob-private", fasta([OTHER]))
    assert bobs.status_code == 201, bobs.text
    alices = upload(client, "alice", "bob-private")
    assert alices.status_code == 201, alices.text  # used to be 409 database_exists
    assert alices.json()["name"] == "alice/bob-private"
    assert bobs.json()["name"] == "bob/bob-private"
    assert "alice/bob-private" in visible(client, "alice")
    assert "bob/bob-private" not in visible(client, "alice")
    assert "bob/bob-private" in visible(client, "bob")
    assert "alice/bob-private" not in visible(client, "bob")
    assert visible(client, "root") >= {"alice/bob-private", "bob/bob-private"}
    # Each one's job searches their own database, and records which one it was.
    both = fasta([GENE1, OTHER])
    for user, own, subject in (
        ("alice", "alice/bob-private", "gene1"),
        ("bob", "bob/bob-private", "other1"),
    ):
        response = submit(client, user, "bob-private", both)
        assert response.status_code == 202, response.text
        assert response.json()["database"] == own
        job = finished(client, user, response.json()["id"])
        assert job["phase"] == "completed", job
        assert subjects(client, user, job["id"]) == {subject}
    # A second database of the same name in the same scope is refused.
    again = upload(client, "alice", "bob-private")
    assert again.status_code == 409 and again.json()["error_code"] == "database_exists"
    assert "alice/bob-private" in again.json()["message"]


def test_a_plain_name_prefers_own_then_group_then_public(client: TestClient, shared) -> None:
    assert upload(client, "carol", "twin", visibility="public").status_code == 201
    assert submit(client, "dana", "twin").json()["database"] == "twin"
    lab = upload(client, "alice", "twin", visibility="group", group="lab")
    assert lab.status_code == 201 and lab.json()["name"] == "@lab/twin"
    assert submit(client, "dana", "twin").json()["database"] == "@lab/twin"
    assert submit(client, "carol", "twin").json()["database"] == "twin"
    seq = upload(client, "dana", "twin", visibility="group", group="seq")
    assert seq.status_code == 201 and seq.json()["name"] == "@seq/twin"
    ambiguous = submit(client, "dana", "twin")
    assert ambiguous.status_code == 409, ambiguous.text
    body = ambiguous.json()
    assert body["error_code"] == "ambiguous_database" and body["field"] == "database"
    assert "@lab/twin" in body["message"] and "@seq/twin" in body["message"]
    assert submit(client, "dana", "@seq/twin").json()["database"] == "@seq/twin"
    assert submit(client, "bob", "twin").json()["database"] == "@lab/twin"  # only in lab
    assert upload(client, "dana", "twin").json()["name"] == "dana/twin"
    assert submit(client, "dana", "twin").json()["database"] == "dana/twin"
    put = {"CMD": "Put", "PROGRAM": "blastn", "DATABASE": "twin", "QUERY": GENES}
    cgi = client.post("/blast/Blast.cgi", data={**put, "TOKEN": client.tokens["bob"]})
    rid = cgi.text.split("RID = ")[1].split()[0]
    assert client.get(f"/api/jobs/{rid}", headers=as_(client, "bob")).json()["database"] == (
        "@lab/twin"
    )


def test_a_qualified_name_of_someone_elses_database_is_unknown(client: TestClient, shared) -> None:
    for name in ("alice/alice-private", "alice/no-such-db", "@seq/lab-shared", "@lab/nope"):
        response = submit(client, "carol", name)
        assert response.status_code == 404, (name, response.text)
        assert response.json()["error_code"] == "unknown_database"
        assert (
            response.json()["message"]
            == f"Unknown database {name!r}; GET /api/databases lists them."
        )
