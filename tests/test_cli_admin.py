"""Admin basics on the server host (issue 14 item 17): `user disable/enable/remove`,
`token list`, `gc --dry-run`; all on the data dir, checked against a real server with auth on.

On the data dir there is no signed-in user, so "removing yourself" does not arise there."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, update

from blastdeck.store.database import alembic_config
from blastdeck.store.models import Job, utcnow
from tests.conftest import BLASTDECK, Server, fasta, pg_database, wait_for_job

ENV = dict(os.environ, COLUMNS="200")


def cli(data: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BLASTDECK, *args, "--data-dir", str(data)],
        capture_output=True,
        timeout=180,
        text=True,
        env={**ENV, **env},
    )


def ok(run: subprocess.CompletedProcess) -> str:
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def refused(run: subprocess.CompletedProcess, code: str) -> str:
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.startswith(f"error {code}: "), run.stderr
    assert "Traceback" not in run.stderr
    return " ".join(run.stderr.split())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_row(listing: str, token: str) -> list[str]:
    """The cells of the `token list` row of this token (its id is the part after bd_)."""
    token_id = token.split("_")[1]
    for line in listing.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if cells and cells[0] == token_id:
            return cells
    raise AssertionError(f"token {token_id} not listed:\n{listing}")


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[dict]:
    """A data dir with users alice, bob and root (admin), a token each, and a real server
    with auth on over it."""
    data = tmp_path / "data"
    ok(cli(data, "user", "add", "alice", "--group", "lab"))
    ok(cli(data, "user", "add", "bob"))
    ok(cli(data, "user", "add", "root", "--admin"))
    tokens = {
        name: ok(cli(data, "token", "create", name)).strip() for name in ("alice", "bob", "root")
    }
    server = Server(data, None)
    server.env["BLASTDECK_AUTH"] = "on"
    server.start()
    try:
        yield {"data": data, "url": server.url, "tokens": tokens}
    finally:
        server.kill(signal.SIGTERM)


def test_disable_enable_and_remove_a_user(deployment: dict, demo_16s, tmp_path: Path) -> None:
    data, url, tokens = deployment["data"], deployment["url"], deployment["tokens"]
    alice, bob, root = (bearer(tokens[n]) for n in ("alice", "bob", "root"))
    http = httpx.Client(base_url=url, timeout=60)

    # alice owns a job and a (private) database
    body = {"program": "blastn", "database": "demo-16s", "query": fasta(demo_16s[:1])}
    job = http.post("/api/jobs", json=body, headers=alice).json()
    get = lambda i: http.get(f"/api/jobs/{i}", headers=alice).json()  # noqa: E731
    assert wait_for_job(get, job["id"])["phase"] == "completed"
    upload = {"file": ("genes.fa", fasta(demo_16s[:3]).encode(), "text/plain")}
    db = http.post("/api/databases", data={"name": "alice-genes"}, files=upload, headers=alice)
    assert db.status_code == 201, db.text

    # disable: her token answers 401 at once; bob's still works; her things stay
    assert "alice (disabled) groups: lab" in ok(cli(data, "user", "disable", "alice"))
    answer = http.get("/api/jobs", headers=alice)
    assert answer.status_code == 401 and answer.json()["error_code"] == "unauthorized"
    assert "disabled" in answer.json()["message"]
    assert http.get("/api/jobs", headers=bob).status_code == 200
    assert "alice (disabled) groups: lab" in ok(cli(data, "user", "list"))
    assert http.get(f"/api/jobs/{job['id']}", headers=root).json()["phase"] == "completed"

    # enable: the same token works again and still sees her job
    assert ok(cli(data, "user", "enable", "alice")).strip() == "alice groups: lab"
    assert http.get(f"/api/jobs/{job['id']}", headers=alice).status_code == 200

    # remove is refused while she owns things, and changes nothing
    message = refused(cli(data, "user", "remove", "alice"), "user_owns_data")
    assert "alice owns 1 job(s) and 1 database(s)" in message and "--force" in message
    assert http.get("/api/jobs", headers=alice).status_code == 200

    # --force removes her and her token; her job and database are kept, seen by admins only
    out = ok(cli(data, "user", "remove", "alice", "--force"))
    assert "removed alice and 1 token(s)" in out
    assert "kept 1 job(s) and 1 database(s)" in " ".join(out.split())
    assert http.get("/api/jobs", headers=alice).status_code == 401
    assert http.get(f"/api/jobs/{job['id']}", headers=root).json()["phase"] == "completed"
    admin_dbs = http.get("/api/databases", headers=root).json()["items"]
    assert "alice/alice-genes" in [d["name"] for d in admin_dbs]  # a private name is scoped
    assert "alice" not in ok(cli(data, "user", "list"))
    assert token_row(ok(cli(data, "token", "list")), tokens["bob"])[1] == "bob"
    assert tokens["alice"].split("_")[1] not in ok(cli(data, "token", "list"))

    # a new user named alice inherits nothing
    ok(cli(data, "user", "add", "alice"))
    new_token = bearer(ok(cli(data, "token", "create", "alice")).strip())
    assert http.get(f"/api/jobs/{job['id']}", headers=new_token).status_code == 404
    assert http.get("/api/jobs", headers=new_token).json()["total"] == 0

    # removing a user who owns nothing needs no --force
    assert "removed bob and 1 token(s)" in ok(cli(data, "user", "remove", "bob"))
    assert http.get("/api/jobs", headers=bob).status_code == 401


def test_token_list_shows_ids_and_last_use(deployment: dict) -> None:
    data, url, tokens = deployment["data"], deployment["url"], deployment["tokens"]
    listing = ok(cli(data, "token", "list"))
    assert re.search(r"id\W+user\W+created\W+last used\W+state", listing.splitlines()[1])
    for name in ("alice", "bob", "root"):
        row = token_row(listing, tokens[name])
        assert row[1] == name and row[3] == "never" and row[4] == "active"
    assert tokens["alice"].split("_", 2)[2] not in listing  # never the secret (it may hold "_")

    assert httpx.get(f"{url}/api/jobs", headers=bearer(tokens["bob"])).status_code == 200
    row = token_row(ok(cli(data, "token", "list", "bob")), tokens["bob"])
    assert row[3].startswith(utcnow().strftime("%Y-%m-%d")) and row[3].endswith("UTC")
    assert token_row(ok(cli(data, "token", "list")), tokens["alice"])[3] == "never"
    only_bob = ok(cli(data, "token", "list", "bob"))
    assert tokens["alice"].split("_")[1] not in only_bob

    # the listed id is what revoke takes
    token_id = tokens["bob"].split("_")[1]
    assert ok(cli(data, "token", "revoke", token_id)).strip() == "revoked"
    assert token_row(ok(cli(data, "token", "list", "bob")), tokens["bob"])[4].startswith("revoked")
    assert httpx.get(f"{url}/api/jobs", headers=bearer(tokens["bob"])).status_code == 401


@pytest.mark.parametrize(
    "args, code",
    [
        (["user", "remove", "nobody"], "unknown_user"),
        (["user", "remove", "nobody", "--force"], "unknown_user"),
        (["user", "disable", "nobody"], "unknown_user"),
        (["user", "enable", "nobody"], "unknown_user"),
        (["token", "list", "nobody"], "unknown_user"),
        (["token", "revoke", "000000000000"], "unknown_token"),
        (["token", "revoke", "bd_zzz"], "unknown_token"),
    ],
)
def test_admin_commands_refuse_unknown_names(tmp_path: Path, args: list[str], code: str) -> None:
    data = tmp_path / "data"
    ok(cli(data, "user", "add", "carol"))
    refused(cli(data, *args), code)
    assert ok(cli(data, "user", "list")).strip() == "carol"


def test_gc_dry_run_lists_and_deletes_nothing(tmp_path: Path, demo_16s) -> None:
    data = tmp_path / "data"
    query = tmp_path / "q.fa"
    query.write_text(fasta(demo_16s[:1]))
    ids = []
    for title in ("old [bold]one[/]", "recent"):
        out = ok(cli(data, "submit", str(query), "--db", "demo-16s", "--title", title, "--wait"))
        ids.append(out.split("blastdeck results ")[1].split()[0])
    old, recent = ids
    engine = create_engine(f"sqlite:///{data / 'blastdeck.sqlite3'}")
    with engine.begin() as conn:
        for job_id, days in ((old, 40), (recent, 10)):
            ended = utcnow() - timedelta(days=days)
            conn.execute(update(Job).where(Job.id == job_id).values(finished_at=ended))
    engine.dispose()
    ended_at = (utcnow() - timedelta(days=40)).strftime("%Y-%m-%d")

    preview = ok(cli(data, "gc", "--dry-run", BLASTDECK_RETENTION_DAYS="30"))
    assert "dry run: 1 job(s) would be deleted (retention 30 days" in preview
    row = next(line for line in preview.splitlines() if old in line)
    assert "old [bold]one[/]" in row and ended_at in row
    assert recent not in preview
    for job_id in ids:  # nothing deleted: rows and files
        assert '"phase": "completed"' in ok(cli(data, "status", job_id, "--json"))
        assert (data / "jobs" / job_id).is_dir()
    assert "dry run: 0 job(s)" in ok(cli(data, "gc", "--dry-run", BLASTDECK_RETENTION_DAYS="0"))

    # the real purge deletes exactly what the preview listed
    assert "1 job(s) deleted" in ok(cli(data, "gc", BLASTDECK_RETENTION_DAYS="30"))
    refused(cli(data, "status", old), "job_not_found")
    assert not (data / "jobs" / old).exists()
    assert '"phase": "completed"' in ok(cli(data, "status", recent, "--json"))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0008_upgrades_an_existing_store(tmp_path: Path, backend: str) -> None:
    """A store from before disabled users and last use (0007) is upgraded on the next start,
    its users and tokens kept; and the migration goes down again."""
    from alembic import command

    data = tmp_path / "data"
    with pg_database() if backend == "postgresql" else nullcontext() as url:
        env = {"BLASTDECK_DATABASE_URL": url} if url else {}
        ok(cli(data, "user", "add", "dave", **env))
        token = ok(cli(data, "token", "create", "dave", **env)).strip()
        engine = create_engine(url or f"sqlite:///{data / 'blastdeck.sqlite3'}")
        try:
            command.downgrade(alembic_config(engine), "0007")
            listing = ok(cli(data, "token", "list", **env))  # upgrades to head first
            assert token_row(listing, token)[1:4:2] == ["dave", "never"]
            assert ok(cli(data, "user", "disable", "dave", **env)).startswith("dave (disabled)")
        finally:
            engine.dispose()
