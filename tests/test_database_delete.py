"""DELETE /api/databases/{name}: the owner or an admin deletes a database; others get 404 (or
403 when they may search it); refused with database_in_use while an unfinished job searches it;
its built files and its staged copies go, a registered database's files stay."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from blastdeck.databases import storage_name
from blastdeck.store.new_job import NewJob
from tests.conftest import BLASTDECK, fasta, make_settings, pg_database, wait_for_job

GENE1 = ("gene1 test gene", "ACGTTGCAAGGCTTAACCGGTTAACGTAGCTAGCTAGGCTAACGTTAGC" * 4)
GENES = fasta([GENE1])


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    with ExitStack() as stack:
        url = stack.enter_context(pg_database()) if request.param == "postgresql" else None
        data = tmp_path_factory.mktemp("delete") / "data"
        settings = make_settings(data, url, auth="on")
        test_client = stack.enter_context(TestClient(create_app(settings)))
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
        data={"name": name, **fields},
        files={"file": (f"{name}.fa", GENES.encode(), "text/plain")},
        headers=as_(client, user),
    )
    assert response.status_code == 201, response.text
    return response.json()


def delete(client: TestClient, user: str, name: str):  # type: ignore[no-untyped-def]
    return client.delete(f"/api/databases/{name}", headers=as_(client, user))


def test_owner_deletes_and_files_and_staged_copy_go(client: TestClient) -> None:
    db = upload(client, "alice", "gone")
    folder = Path(db["path"]).parent
    assert folder.is_dir() and db["size_bytes"] > 0
    body = {"program": "blastn", "database": db["name"], "query": GENES}
    job = client.post("/api/jobs", json=body, headers=as_(client, "alice")).json()
    done = wait_for_job(
        lambda jid: client.get(f"/api/jobs/{jid}", headers=as_(client, "alice")).json(), job["id"]
    )
    assert done["status"] == "completed", done
    scratch = client.app.state.runtime.settings.scratch_dir
    staged = list(scratch.glob(f"*/dbs/{storage_name(db['name'])}"))
    assert staged, "the job staged a copy on the local cluster"

    response = delete(client, "alice", db["name"])
    assert response.status_code == 200, response.text
    removed = response.json()
    assert removed["name"] == "alice/gone" and removed["files_removed"] is True
    assert sorted(removed["staged_removed"]) == sorted(str(p) for p in staged)
    assert not folder.exists()
    assert not any(p.exists() for p in staged)
    assert client.get("/api/databases/alice/gone", headers=as_(client, "alice")).status_code == 404
    # the name is free again
    assert upload(client, "alice", "gone")["name"] == "alice/gone"


def test_other_user_gets_404_or_403_admin_may(client: TestClient) -> None:
    private = upload(client, "alice", "mine")
    response = delete(client, "bob", private["name"])
    assert response.status_code == 404 and response.json()["error_code"] == "unknown_database"
    shared = upload(client, "alice", "ours", visibility="group", group="lab")
    response = delete(client, "bob", shared["name"])
    assert response.status_code == 403 and response.json()["error_code"] == "forbidden"
    assert delete(client, "bob", "no-such-db").status_code == 404
    assert delete(client, "bob", "x" * 300).status_code == 404
    assert delete(client, "root", private["name"]).status_code == 200
    assert delete(client, "root", shared["name"]).status_code == 200


def test_in_use_refused_until_the_job_ends(client: TestClient) -> None:
    db = upload(client, "alice", "busy")
    jobs = client.app.state.runtime.jobs
    # A queued job row on it (as the API makes one before a worker picks it up).
    queued = jobs.create(NewJob("t", "blastn", db["name"], "local", "default", {}, GENES, 1, 200))
    response = delete(client, "alice", db["name"])
    assert response.status_code == 409, response.text
    error = response.json()
    assert error["error_code"] == "database_in_use" and queued.id in error["message"]
    assert Path(db["path"]).parent.is_dir()  # nothing removed
    jobs.finish_cancelled(queued.id)
    assert delete(client, "alice", db["name"]).status_code == 200


def test_registered_database_files_stay(client: TestClient, tmp_path: Path) -> None:
    (tmp_path / "reg.fa").write_text(GENES)
    subprocess.run(
        ["makeblastdb", "-in", "reg.fa", "-dbtype", "nucl", "-out", "reg"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    body = {"name": "reg", "path": str(tmp_path / "reg")}
    response = client.post("/api/databases", json=body, headers=as_(client, "root"))
    assert response.status_code == 201, response.text
    before = sorted(p.name for p in tmp_path.iterdir())
    response = delete(client, "root", "reg")
    assert response.status_code == 200 and response.json()["files_removed"] is False
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_cli_db_remove(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (tmp_path / "cli.fa").write_text(GENES)

    def cli(*args: str) -> subprocess.CompletedProcess:
        command = [BLASTDECK, "db", *args, "--data-dir", str(data)]
        return subprocess.run(command, capture_output=True, timeout=180, text=True)

    assert cli("add", "clidb", str(tmp_path / "cli.fa")).returncode == 0
    built = data / "databases" / "clidb"
    assert built.is_dir()
    done = cli("remove", "clidb")
    assert done.returncode == 0, done.stderr
    assert "removed clidb" in done.stdout
    assert not built.exists()
    again = cli("remove", "clidb")
    assert again.returncode == 2 and "unknown_database" in again.stderr + again.stdout
