"""Share links (issue 15): with auth on, the owner of a job makes read-only links to it;
anyone holding one reads that job's results without signing in, and nothing else; a forged,
revoked or expired link, or one used on another job's URL, answers exactly like an unknown
one; link requests are rate-limited."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from tests.conftest import DEMO_DIR, fasta, make_settings, read_fasta, wait_for_job

BURST = 80


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    data = tmp_path_factory.mktemp("shares") / "data"
    settings = make_settings(data, auth="on", share_burst=BURST, share_rate_per_minute=6)
    with TestClient(create_app(settings)) as client:
        users = client.app.state.runtime.users
        tokens = {}
        for name in ("alice", "bob"):
            users.add(name)
            tokens[name] = users.create_token(name)
        records = read_fasta(DEMO_DIR / "demo-16s.fa")
        jobs = {}
        for name, chosen in (("alice", records[:3]), ("bob", records[5:6])):
            body = {"program": "blastn", "database": "demo-16s", "query": fasta(chosen),
                    "options": {"evalue": 1e-20, "max_target_seqs": 5}}  # fmt: skip
            response = client.post("/api/jobs", json=body, headers=auth(tokens[name]))
            assert response.status_code == 202, response.text

            def get(job_id: str, token: str = tokens[name]) -> dict:
                return client.get(f"/api/jobs/{job_id}", headers=auth(token)).json()

            jobs[name] = wait_for_job(get, response.json()["id"])
            assert jobs[name]["phase"] == "completed"
        yield {"client": client, "tokens": tokens, "jobs": jobs, "data": data}


def _share(setup: dict, who: str = "alice", **body) -> dict:
    job = setup["jobs"][who]
    response = setup["client"].post(
        f"/api/jobs/{job['id']}/shares", json=body, headers=auth(setup["tokens"][who])
    )
    assert response.status_code == 201, response.text
    return response.json()


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_holder_reads_the_job_without_signing_in(setup: dict) -> None:
    client, job = setup["client"], setup["jobs"]["alice"]
    share = _share(setup)
    assert share["active"] and share["expires_at"] is None and share["job_id"] == job["id"]
    token = share["url"].rsplit("/", 1)[1]
    assert len(token) >= 43 and share["api_url"].endswith(f"/api/shared/{token}")
    assert _path(share["url"]) == f"/shared/{token}"
    assert client.get("/api/jobs").status_code == 401  # auth is on
    shared = client.get(_path(share["api_url"]))
    assert shared.status_code == 200, shared.text
    owner = client.get(f"/api/jobs/{job['id']}", headers=auth(setup["tokens"]["alice"])).json()
    assert shared.json()["job"] == owner
    links = shared.json()["links"]
    for name, params in (("hits", {}), ("hsps", {"limit": 5}), ("queries", {}),
                         ("alignments", {"query_index": 1}), ("taxonomy", {}),
                         ("download", {"format": "tsv"})):  # fmt: skip
        mine = client.get(
            f"/api/jobs/{job['id']}/{name}", params=params, headers=auth(setup["tokens"]["alice"])
        )
        theirs = client.get(_path(links[name]), params=params)
        if name == "taxonomy" and mine.status_code == 503:  # no taxonomy index in this run
            assert theirs.status_code == 503
            continue
        assert mine.status_code == 200, (name, mine.text)
        assert theirs.status_code == 200, (name, theirs.text)
        assert theirs.content == mine.content, name
    fasta_download = client.get(
        _path(links["download"]), params={"format": "fasta", "region": "hsp"}
    )
    assert fasta_download.status_code == 200 and fasta_download.content.startswith(b">")
    head = client.head(_path(links["download"]), params={"format": "tsv"})
    assert head.status_code == 200 and head.content == b""


def test_several_links_listed_and_revoked(setup: dict) -> None:
    client, job, alice = setup["client"], setup["jobs"]["alice"], setup["tokens"]["alice"]
    first, second = _share(setup), _share(setup, expires_in_days=7)
    expires = datetime.fromisoformat(second["expires_at"])
    assert timedelta(days=6.99) < expires - datetime.now(UTC) <= timedelta(days=7)
    listed = client.get(f"/api/jobs/{job['id']}/shares", headers=auth(alice)).json()["items"]
    ids = [s["id"] for s in listed]
    assert first["id"] in ids and second["id"] in ids
    assert all("url" not in s and "token" not in s for s in listed)  # tokens are never shown again
    revoked = client.delete(f"/api/jobs/{job['id']}/shares/{first['id']}", headers=auth(alice))
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    assert client.get(_path(first["api_url"])).json() == _unknown(client)
    assert client.get(_path(first["api_url"]) + "/hits").status_code == 404
    assert client.get(_path(second["api_url"])).status_code == 200  # the other one still works
    again = client.delete(f"/api/jobs/{job['id']}/shares/{first['id']}", headers=auth(alice))
    assert again.status_code == 200 and again.json()["revoked_at"] == revoked.json()["revoked_at"]
    missing = client.delete(f"/api/jobs/{job['id']}/shares/000000000000", headers=auth(alice))
    assert missing.status_code == 404 and missing.json()["error_code"] == "share_not_found"


def _unknown(client: TestClient) -> dict:
    response = client.get("/api/shared/" + "A" * 43)
    assert response.status_code == 404
    assert response.json()["error_code"] == "share_not_found"
    return response.json()


def test_forged_expired_and_other_jobs(setup: dict) -> None:
    client = setup["client"]
    unknown = _unknown(client)
    real = _share(setup)
    token = real["url"].rsplit("/", 1)[1]
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (forged, "x", token + "x", "%2e%2e", "A" * 128):
        response = client.get(f"/api/shared/{bad}")
        assert (response.status_code, response.json()) == (404, unknown), bad
    assert client.get("/api/shared/" + "A" * 129).status_code == 422  # over the bound
    # expired: a link that ends in a second
    soon = (datetime.now(UTC) + timedelta(seconds=1.5)).isoformat()
    expiring = _share(setup, expires_at=soon)
    assert client.get(_path(expiring["api_url"])).status_code == 200
    time.sleep(2)
    assert client.get(_path(expiring["api_url"])).json() == unknown
    assert client.get(_path(expiring["api_url"]) + "/download").json() == unknown
    # a link of alice's job opens no other job: not bob's under /api/jobs, and there is no
    # /api/shared/{token}/<job id> to name one
    bob_job = setup["jobs"]["bob"]
    assert client.get(f"/api/jobs/{bob_job['id']}").status_code == 401
    other = client.get(f"/api/jobs/{bob_job['id']}/hits", params={"share": token})
    assert other.status_code == 401
    assert client.get(f"/api/shared/{token}/{bob_job['id']}").status_code == 404
    assert (
        client.get(f"/api/shared/{token}/hits", params={"job_id": bob_job["id"]}).json()["items"]
        == client.get(f"/api/shared/{token}/hits").json()["items"]
    )
    # nothing but reading: no cancel, delete, or share through the link
    for method, suffix in (("POST", "/cancel"), ("DELETE", ""), ("POST", "/shares"),
                           ("PUT", "/hits"), ("POST", "/download")):  # fmt: skip
        response = client.request(method, f"/api/shared/{token}{suffix}")
        assert response.status_code in (404, 405), (method, suffix, response.status_code)


def test_only_the_owner_manages_links(setup: dict) -> None:
    client, job, bob = setup["client"], setup["jobs"]["alice"], setup["tokens"]["bob"]
    share = _share(setup)
    for method, url in (("POST", f"/api/jobs/{job['id']}/shares"),
                        ("GET", f"/api/jobs/{job['id']}/shares"),
                        ("DELETE", f"/api/jobs/{job['id']}/shares/{share['id']}")):  # fmt: skip
        response = client.request(method, url, headers=auth(bob), json={})
        assert response.status_code == 404 and response.json()["error_code"] == "job_not_found"
        assert client.request(method, url, json={}).status_code == 401
    assert client.get(_path(share["api_url"])).status_code == 200  # bob revoked nothing
    # bob's link to his own job cannot be turned onto alice's
    bobs = _share(setup, "bob")
    hits = client.get(_path(bobs["api_url"]) + "/hits").json()["items"]
    assert hits and all(h["query_id"] == hits[0]["query_id"] for h in hits)
    assert client.get(_path(bobs["api_url"])).json()["job"]["id"] == setup["jobs"]["bob"]["id"]


def test_bad_create_bodies(setup: dict) -> None:
    client, job, alice = setup["client"], setup["jobs"]["alice"], setup["tokens"]["alice"]
    url = f"/api/jobs/{job['id']}/shares"
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    far = (datetime.now(UTC) + timedelta(days=4000)).isoformat()
    for body, field in (
        ({"expires_at": past}, "expires_at"),
        ({"expires_at": far}, "expires_at"),
        ({"expires_at": "2030-01-01T00:00:00"}, "expires_at"),  # no time zone
        ({"expires_at": "tomorrow"}, "expires_at"),
        ({"expires_in_days": 0}, "expires_in_days"),
        ({"expires_in_days": 3651}, "expires_in_days"),
        ({"expires_in_days": True}, "expires_in_days"),  # a JSON boolean is not a day count
        ({"expires_in_days": "7"}, "expires_in_days"),
        ({"expires_in_days": 1, "expires_at": far}, "expires_at"),
        ({"token": "mine"}, "token"),
    ):
        response = client.post(url, json=body, headers=auth(alice))
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error_code"] == "invalid_request", body
        assert response.json()["field"] == field, (body, response.json())
    assert client.post(url, headers=auth(alice)).status_code == 201  # no body: never expires


def test_tokens_are_stored_hashed(setup: dict) -> None:
    share = _share(setup)
    token = share["url"].rsplit("/", 1)[1]
    # Read in another process (closing a file of the database here would drop this process's
    # SQLite locks on it).
    raw = subprocess.run(
        [
            "cat",
            str(setup["data"] / "blastdeck.sqlite3"),
            str(setup["data"] / "blastdeck.sqlite3-wal"),
        ],
        capture_output=True,
    ).stdout
    assert token.encode() not in raw


def test_a_deleted_jobs_links_are_gone(setup: dict) -> None:
    client, alice = setup["client"], setup["tokens"]["alice"]
    body = {"program": "blastn", "database": "demo-16s", "query": ">x\n" + "ACGT" * 30}
    response = client.post("/api/jobs", json=body, headers=auth(alice))
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    wait_for_job(lambda i: client.get(f"/api/jobs/{i}", headers=auth(alice)).json(), job_id)
    share = client.post(f"/api/jobs/{job_id}/shares", headers=auth(alice)).json()
    assert client.get(_path(share["api_url"])).status_code == 200
    assert client.delete(f"/api/jobs/{job_id}", headers=auth(alice)).status_code == 204
    assert client.get(_path(share["api_url"])).json() == _unknown(client)


def test_rate_limited(setup: dict) -> None:
    """Runs last: it spends the client's burst."""
    client = setup["client"]
    share = _share(setup)
    answers = [client.get(_path(share["api_url"])).status_code for _ in range(BURST + 5)]
    assert 429 in answers
    limited = client.get(_path(share["api_url"]))
    assert limited.status_code == 429 and limited.json()["error_code"] == "rate_limited"
    assert client.get("/api/shared/" + "A" * 43).status_code == 429  # unknown ones count too
