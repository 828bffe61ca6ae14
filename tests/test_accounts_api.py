"""Users, tokens and the audit log over the API (auth on; the first admin made with the CLI,
as an operator does), and with auth off."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from tests.conftest import BLASTDECK, fasta, make_settings, wait_for_job


def cli(data_dir: Path, *args: str) -> str:
    env = {"BLASTDECK_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"}
    run = subprocess.run([BLASTDECK, *args], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    data = tmp_path_factory.mktemp("accounts") / "data"
    cli(data, "user", "add", "root", "--admin")
    root = cli(data, "token", "create", "root")
    with TestClient(create_app(make_settings(data, auth="on"))) as client:
        yield {"client": client, "root": bearer(root), "data": data}


def test_an_admin_adds_a_user_and_gives_them_a_token_shown_once(setup) -> None:
    client, root = setup["client"], setup["root"]
    made = client.post("/api/users", json={"name": "alice", "groups": ["lab"]}, headers=root)
    assert made.status_code == 201, made.text
    assert made.json() | {"created_at": "x"} == {
        "name": "alice", "admin": False, "groups": ["lab"], "created_at": "x", "disabled_at": None
    }  # fmt: skip
    created = client.post("/api/tokens", json={"user": "alice"}, headers=root)
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert token.startswith("bd_") and created.json()["user"] == "alice"
    setup["alice"] = bearer(token)
    session = client.get("/api/session", headers=setup["alice"]).json()
    assert session["user"] == {"name": "alice", "admin": False}
    listed = client.get("/api/tokens", params={"user": "alice"}, headers=root).json()["items"]
    assert [t["id"] for t in listed] == [created.json()["id"]]
    assert "token" not in listed[0] and token not in json.dumps(listed)
    assert listed[0]["last_used_at"] is not None  # the session call above used it
    names = [u["name"] for u in client.get("/api/users", headers=root).json()["items"]]
    assert names == ["alice", "root"]


def test_a_user_manages_their_own_tokens_and_nobody_elses(setup) -> None:
    client, root, alice = setup["client"], setup["root"], setup["alice"]
    own = client.post("/api/tokens", headers=alice)
    assert own.status_code == 201 and own.json()["user"] == "alice"
    mine = client.get("/api/tokens", headers=alice).json()["items"]
    assert {t["user"] for t in mine} == {"alice"} and len(mine) == 2
    root_token = client.get("/api/tokens", params={"user": "root"}, headers=root).json()["items"]
    # Another user's token: as if it did not exist.
    gone = client.delete(f"/api/tokens/{root_token[0]['id']}", headers=alice)
    assert gone.status_code == 404 and gone.json()["error_code"] == "unknown_token"
    assert client.get("/api/tokens", params={"user": "root"}, headers=alice).status_code == 404
    denied = client.post("/api/tokens", json={"user": "root"}, headers=alice)
    assert denied.status_code == 403 and denied.json()["error_code"] == "forbidden"
    for method, path in (("GET", "/api/users"), ("POST", "/api/users"), ("GET", "/api/audit"),
                         ("PATCH", "/api/users/root"), ("DELETE", "/api/users/root")):  # fmt: skip
        body = {"name": "x"} if method == "POST" else {} if method == "PATCH" else None
        response = client.request(method, path, json=body, headers=alice)
        assert response.status_code == 403, (method, path, response.text)
    revoked = client.delete(f"/api/tokens/{own.json()['id']}", headers=alice)
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    after = client.get("/api/session", headers=bearer(own.json()["token"]))
    assert after.json()["user"] is None  # a revoked token signs nobody in
    assert client.get("/api/tokens", headers=bearer(own.json()["token"])).status_code == 401
    unknown = client.delete("/api/tokens/ffffffffffff", headers=root)
    assert unknown.status_code == 404 and unknown.json()["error_code"] == "unknown_token"


def test_disable_groups_and_admin_flag(setup) -> None:
    client, root, alice = setup["client"], setup["root"], setup["alice"]
    changed = client.patch("/api/users/alice", json={"disabled": True, "groups": ["a", "b"]},
                           headers=root)  # fmt: skip
    assert changed.status_code == 200 and changed.json()["disabled_at"] is not None
    assert changed.json()["groups"] == ["a", "b"]
    assert client.get("/api/tokens", headers=alice).status_code == 401
    client.patch("/api/users/alice", json={"disabled": False}, headers=root)
    assert client.get("/api/tokens", headers=alice).status_code == 200
    promoted = client.patch("/api/users/alice", json={"admin": True}, headers=root).json()
    assert promoted["admin"] is True
    assert client.get("/api/users", headers=alice).status_code == 200
    client.patch("/api/users/alice", json={"admin": False}, headers=root)
    assert client.get("/api/users", headers=alice).status_code == 403
    itself = client.patch("/api/users/root", json={"admin": False}, headers=root)
    assert itself.status_code == 403  # an admin cannot lock themselves out


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "/api/users", {"name": "bad name!"}, 422, "invalid_name"),
        ("POST", "/api/users", {"name": "root"}, 409, "user_exists"),
        ("POST", "/api/users", {"name": "x", "groups": ["no good"]}, 422, "invalid_name"),
        ("POST", "/api/users", {"name": "x", "surprise": 1}, 422, "invalid_request"),
        ("POST", "/api/users", {"name": "x", "admin": 1}, 422, "invalid_request"),  # not a bool
        ("PATCH", "/api/users/root", {"disabled": "yes"}, 422, "invalid_request"),
        ("PATCH", "/api/users/nobody", {"admin": True}, 404, "unknown_user"),
        ("DELETE", "/api/users/nobody", None, 404, "unknown_user"),
        ("POST", "/api/tokens", {"user": "nobody"}, 404, "unknown_user"),
        ("DELETE", "/api/users/root", None, 403, "forbidden"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    setup, method: str, path: str, body: dict | None, status: int, code: str
) -> None:
    client, root = setup["client"], setup["root"]
    before = client.get("/api/users", headers=root).json()
    response = client.request(method, path, json=body, headers=root)
    assert response.status_code == status, response.text
    assert response.json()["error_code"] == code and response.json()["message"]
    assert client.get("/api/users", headers=root).json() == before


def test_removing_a_user_who_owns_jobs_needs_force_and_keeps_the_jobs(setup, demo_16s) -> None:
    client, root = setup["client"], setup["root"]
    client.post("/api/users", json={"name": "carol"}, headers=root)
    carol = bearer(client.post("/api/tokens", json={"user": "carol"}, headers=root).json()["token"])
    body = {"program": "blastn", "database": "demo-16s", "query": fasta(demo_16s[:1])}
    job = client.post("/api/jobs", json=body, headers=carol).json()
    wait_for_job(lambda i: client.get(f"/api/jobs/{i}", headers=root).json(), job["id"])
    refused = client.delete("/api/users/carol", headers=root)
    assert refused.status_code == 409 and refused.json()["error_code"] == "user_owns_data"
    removed = client.delete("/api/users/carol", params={"force": True}, headers=root)
    assert removed.status_code == 200, removed.text
    assert removed.json() == {
        "name": "carol", "tokens_deleted": 1, "jobs_kept": 1, "databases_kept": 0
    }  # fmt: skip
    assert client.get(f"/api/jobs/{job['id']}", headers=root).status_code == 200
    assert client.get("/api/tokens", headers=carol).status_code == 401


def test_every_change_is_in_the_audit_log_without_secrets(setup) -> None:
    client, root = setup["client"], setup["root"]
    log = client.get("/api/audit", params={"limit": 500}, headers=root).json()
    actions = [(e["actor"], e["action"], e["target"]) for e in reversed(log["items"])]
    assert actions[:2] == [("root", "user.add", "alice"), ("root", "token.create", "alice")]
    assert ("alice", "token.create", "alice") in actions
    assert ("alice", "token.revoke", "alice") in actions
    assert ("root", "user.update", "alice") in actions
    assert ("root", "user.remove", "carol") in actions
    assert log["total"] == len(log["items"])
    assert all(e["at"] for e in log["items"])
    text = json.dumps(log)
    assert "bd_" not in text  # token ids only, never a whole token
    page = client.get("/api/audit", params={"limit": 2, "offset": 1}, headers=root).json()
    assert [e["id"] for e in page["items"]] == [e["id"] for e in log["items"][1:3]]
    for params in ({"limit": 0}, {"limit": 501}, {"offset": -1}):
        assert client.get("/api/audit", params=params, headers=root).status_code == 422


def test_with_auth_off_tokens_name_their_user(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path, auth="off"))) as client:
        client.post("/api/users", json={"name": "dave"})
        nameless = client.post("/api/tokens")
        assert nameless.status_code == 422 and nameless.json()["field"] == "user"
        made = client.post("/api/tokens", json={"user": "dave"})
        assert made.status_code == 201 and made.json()["user"] == "dave"
        log = client.get("/api/audit").json()["items"]
        assert [(e["actor"], e["action"]) for e in log] == [
            (None, "token.create"), (None, "user.add")
        ]  # fmt: skip
