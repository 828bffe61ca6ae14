"""Users and tokens: with auth on, every job has an owner, other users' jobs do not exist for
you (404 / Blast.cgi UNKNOWN), and a missing, malformed or revoked token is refused."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from tests.conftest import BLASTDECK, fasta, make_settings, wait_for_job


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BLASTDECK, *args, "--data-dir", str(data_dir)], capture_output=True, timeout=120
    )


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    data = tmp_path_factory.mktemp("auth") / "data"
    assert cli(data, "user", "add", "alice").returncode == 0
    assert cli(data, "user", "add", "bob").returncode == 0
    assert cli(data, "user", "add", "root", "--admin").returncode == 0
    tokens = {}
    for name in ("alice", "bob", "root"):
        run = cli(data, "token", "create", name)
        assert run.returncode == 0, run.stderr
        tokens[name] = run.stdout.decode().strip()
    with TestClient(create_app(make_settings(data, auth="on"))) as client:
        yield {"client": client, "tokens": tokens, "data": data}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def submit_as(client: TestClient, token: str, query: str) -> dict:
    body = {"program": "blastn", "database": "demo-16s", "query": query}
    response = client.post("/api/jobs", json=body, headers=auth(token))
    assert response.status_code == 202, response.text
    return response.json()


def test_token_is_shown_once_and_stored_hashed(setup) -> None:
    token = setup["tokens"]["alice"]
    assert re.fullmatch(r"bd_[0-9a-f]{12}_[\w-]{40,}", token)
    # Read in another process: closing a file of the database here would drop the POSIX locks
    # this process's SQLite connections (the app's) hold on it (sqlite.org/howtocorrupt.html).
    database = setup["data"] / "blastdeck.sqlite3"
    raw = subprocess.run(["cat", str(database)], capture_output=True, check=True).stdout
    assert token.encode() not in raw and token.split("_", 2)[2].encode() not in raw


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Token abc"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Bearer bd_000000000000_forged"},
        {"Authorization": "Bearer " + "x" * 100_000},
    ],
    ids=["missing", "empty", "wrong-scheme", "malformed", "forged", "oversized"],
)
def test_bad_tokens_are_refused(setup, headers: dict) -> None:
    client = setup["client"]
    for method, url in [("GET", "/api/jobs"), ("POST", "/api/jobs"), ("GET", "/api/databases")]:
        response = client.request(method, url, headers=headers, json={})
        assert response.status_code == 401, (url, response.text)
        assert response.json()["error_code"] == "unauthorized"
    assert client.get("/api/health").status_code == 200  # liveness stays open


def test_users_see_only_their_own_jobs(setup, demo_16s) -> None:
    client, tokens = setup["client"], setup["tokens"]
    job = submit_as(client, tokens["alice"], fasta(demo_16s[:1]))
    get = lambda i: client.get(f"/api/jobs/{i}", headers=auth(tokens["alice"])).json()  # noqa: E731
    wait_for_job(get, job["id"])
    for url in (
        f"/api/jobs/{job['id']}",
        f"/api/jobs/{job['id']}/hsps",
        f"/api/jobs/{job['id']}/events",
        f"/api/jobs/{job['id']}/download?format=tsv",
    ):
        mine = client.get(url, headers=auth(tokens["alice"]))
        theirs = client.get(url, headers=auth(tokens["bob"]))
        assert mine.status_code == 200, mine.text
        assert theirs.status_code == 404 and theirs.json()["error_code"] == "job_not_found"
    assert (
        client.post(f"/api/jobs/{job['id']}/cancel", headers=auth(tokens["bob"])).status_code == 404
    )
    assert client.delete(f"/api/jobs/{job['id']}", headers=auth(tokens["bob"])).status_code == 404
    bob_list = client.get("/api/jobs", headers=auth(tokens["bob"])).json()
    assert job["id"] not in [j["id"] for j in bob_list["items"]]
    admin_list = client.get("/api/jobs", headers=auth(tokens["root"])).json()
    assert job["id"] in [j["id"] for j in admin_list["items"]]
    listed = next(j for j in admin_list["items"] if j["id"] == job["id"])
    assert listed["owner"] == "alice"  # admins see who submitted each job
    assert client.get(f"/api/jobs/{job['id']}", headers=auth(tokens["root"])).status_code == 200
    assert job["owner"] == "alice"


def test_only_admins_register_paths_and_add_clusters(setup) -> None:
    client, tokens = setup["client"], setup["tokens"]
    body = {"name": "c-new", "engine": "local"}
    denied = client.post("/api/clusters", json=body, headers=auth(tokens["alice"]))
    assert denied.status_code == 403 and denied.json()["error_code"] == "forbidden"
    assert client.post("/api/clusters", json=body, headers=auth(tokens["root"])).status_code == 201
    register = {"name": "etc", "path": "/etc/passwd"}
    denied = client.post("/api/databases", json=register, headers=auth(tokens["alice"]))
    assert denied.status_code == 403


def test_blast_cgi_uses_the_same_tokens(setup, demo_16s) -> None:
    client, tokens = setup["client"], setup["tokens"]
    put = {"CMD": "Put", "PROGRAM": "blastn", "DATABASE": "demo-16s", "QUERY": demo_16s[2][1]}
    refused = client.post("/blast/Blast.cgi", data=put)
    assert refused.status_code == 401 and "[unauthorized]" in refused.text
    page = client.post("/blast/Blast.cgi", data={**put, "TOKEN": tokens["alice"]})
    rid = re.search(r"RID = (\S+)", page.text).group(1)
    info = {"CMD": "Get", "FORMAT_OBJECT": "SearchInfo", "RID": rid}
    get = lambda i: client.get(f"/api/jobs/{i}", headers=auth(tokens["alice"])).json()  # noqa: E731
    wait_for_job(get, rid)
    mine = client.post("/blast/Blast.cgi", data=info, headers=auth(tokens["alice"]))
    assert "Status=READY" in mine.text
    theirs = client.post("/blast/Blast.cgi", data={**info, "TOKEN": tokens["bob"]})
    assert "Status=UNKNOWN" in theirs.text  # another user's RID does not exist for you
    report = {"CMD": "Get", "RID": rid, "FORMAT_TYPE": "XML", "TOKEN": tokens["bob"]}
    assert "Status=UNKNOWN" in client.post("/blast/Blast.cgi", data=report).text
    assert (
        "Status=UNKNOWN"
        in client.post(
            "/blast/Blast.cgi", data={"CMD": "Delete", "RID": rid, "TOKEN": tokens["bob"]}
        ).text
    )
    assert get(rid)["phase"] == "completed"  # bob's Delete did nothing


def test_revoked_token_stops_working(setup) -> None:
    data, client = setup["data"], setup["client"]
    token = cli(data, "token", "create", "alice").stdout.decode().strip()
    assert client.get("/api/jobs", headers=auth(token)).status_code == 200
    revoked = cli(data, "token", "revoke", token)
    assert revoked.returncode == 0, revoked.stderr
    response = client.get("/api/jobs", headers=auth(token))
    assert response.status_code == 401 and response.json()["error_code"] == "unauthorized"


def test_user_and_token_command_errors(setup) -> None:
    data = setup["data"]
    for args, code in [
        (("user", "add", "alice"), "user_exists"),
        (("user", "add", "../x"), "invalid_name"),
        (("token", "create", "nobody"), "unknown_user"),
        (("token", "revoke", "bd_000000000000_x"), "unknown_token"),
    ]:
        run = cli(data, *args)
        assert run.returncode == 2 and code in run.stderr.decode(), (args, run.stderr)


def test_auth_auto_is_off_on_loopback_and_on_elsewhere(tmp_path: Path) -> None:
    assert not make_settings(tmp_path, auth="auto", host="127.0.0.1").auth_enabled
    assert make_settings(tmp_path, auth="auto", host="0.0.0.0").auth_enabled
    assert make_settings(tmp_path, auth="on").auth_enabled
    assert not make_settings(tmp_path, auth="off", host="0.0.0.0").auth_enabled


def test_biopython_with_the_token_in_url_base(tmp_path: Path, demo_16s) -> None:
    from Bio.Blast import NCBIWWW, NCBIXML

    from tests.conftest import Server

    data = tmp_path / "data"
    assert cli(data, "user", "add", "carol").returncode == 0
    token = cli(data, "token", "create", "carol").stdout.decode().strip()
    server = Server(data, None)
    server.env["BLASTDECK_AUTH"] = "on"
    server.start()
    try:
        NCBIWWW.qblast.previous = 0
        url = f"{server.url}/blast/Blast.cgi?TOKEN={token}"
        records = list(
            NCBIXML.parse(NCBIWWW.qblast("blastn", "demo-16s", fasta(demo_16s[:1]), url_base=url))
        )
        assert records[0].alignments
        listed = httpx.get(f"{server.url}/api/jobs", headers=auth(token)).json()
        assert listed["total"] == 1 and listed["items"][0]["phase"] == "completed"
    finally:
        server.kill()
