"""Upgrading from the previous release (tests/support/previous_release.py), for real.

The previous release's own code (git archive of its commit) makes a data dir and a database, on
SQLite and on PostgreSQL: users, groups and tokens with its CLI, databases built from FASTA, and
jobs that complete, fail and are cancelled on its server, whose TSV and XML downloads are
fetched (so its export cache exists). Then this release's `blastdeck serve` starts on the same
data dir and database and must show every job, step, event and hit as the previous release
showed them, serve the same bytes, honour the same tokens, and search the same databases.

A failed upgrade changes nothing (the database is compared in full before and after), and a
database a newer release has upgraded is refused by the server, the workers and the CLI.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from blastdeck.store.database import (
    MIGRATIONS_DIR,
    MigrationError,
    current_revisions,
    make_engine,
    migrate,
    schema_head,
)
from tests.conftest import (
    BLASTDECK,
    REDIS_URL,
    SLOW_OPTIONS,
    TERMINAL,
    fasta,
    free_port,
    pg_database,
)
from tests.support import previous_release
from tests.support.previous_release import PreviousRelease

USERS = ("root", "alice", "bob", "carol")
NEWER_REVISION = "0099_from_a_newer_release"


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> PreviousRelease:
    return previous_release.extract(tmp_path_factory.mktemp("previous-release"))


def test_without_the_previous_release_in_git_history_the_upgrade_tests_fail(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A shallow clone must not pass these tests by skipping them: they fail, saying why."""
    monkeypatch.setattr(previous_release, "PREVIOUS_RELEASE", "0" * 40)
    with pytest.raises(pytest.fail.Exception) as failed:
        previous_release.extract(tmp_path / "release")
    message = str(failed.value)
    assert f"The previous release {'0' * 40}" in message
    assert "is not in the git history" in message and "git fetch --unshallow" in message


class Deployment:
    """One data dir and its database (SQLite in the data dir, or a fresh PostgreSQL one)."""

    def __init__(self, data_dir: Path, database_url: str | None) -> None:
        self.data_dir, self.database_url = data_dir, database_url

    @property
    def url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'blastdeck.sqlite3'}"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BLASTDECK_")}
        env.update(BLASTDECK_DATA_DIR=str(self.data_dir), BLASTDECK_AUTH="on", COLUMNS="250")
        if self.database_url:
            env["BLASTDECK_DATABASE_URL"] = self.database_url
        return {**env, **extra}

    def execute(self, *statements: str) -> None:
        engine = create_engine(self.url, poolclass=NullPool)
        try:
            with engine.begin() as connection:
                for statement in statements:
                    connection.execute(text(statement))
        finally:
            engine.dispose()

    def revisions(self) -> tuple[str, ...]:
        engine = make_engine(self.url)
        try:
            return current_revisions(engine)
        finally:
            engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    if request.param == "sqlite":
        yield Deployment(tmp_path / "data", None)
    else:
        with pg_database() as url:
            yield Deployment(tmp_path / "data", url)


class Serving:
    """`blastdeck serve` of either release, as a process on a free port."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command, self.env, self.log = command, env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Serving:
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [*self.command, "serve", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.log.parent,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("server did not start in 120 s")

    def __exit__(self, *_: object) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def as_user(self, token: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text[:2000])
    return response.json() if "json" in response.headers.get("content-type", "") else response


def wait_done(api: httpx.Client, job_id: str, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = ok(api.get(f"/api/jobs/{job_id}"))
        if job["phase"] in TERMINAL:
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['phase']}"
        time.sleep(0.1)


def submit(api: httpx.Client, program: str, database: str, query: str, **extra: Any) -> str:
    body = {"program": program, "database": database, "query": query, **extra}
    return ok(api.post("/api/jobs", json=body), 202)["id"]


def upload_database(api: httpx.Client, name: str, records: list[tuple[str, str]]) -> dict:
    files = {"file": (f"{name}.fa", fasta(records).encode(), "text/plain")}
    return ok(api.post("/api/databases", data={"name": name}, files=files), 201)


def all_hits(api: httpx.Client, job_id: str, route: str = "hsps") -> list[dict[str, Any]]:
    """Every HSP of a job: at /hsps in this release, at /hits in the previous one."""
    hits: list[dict[str, Any]] = []
    while True:
        params = {"sort": "query", "limit": 1000, "offset": len(hits)}
        page = ok(api.get(f"/api/jobs/{job_id}/{route}", params=params))
        hits += page["items"]
        if len(hits) >= page["total"]:
            assert len(hits) == page["total"]
            return hits


def observe(
    server: Serving, tokens: dict[str, str], revoked: str, release: str = "this"
) -> dict[str, Any]:
    """Everything the API shows about the deployment, as each user sees it; for this release,
    in the previous release's words (`as_previous_release`)."""
    previous = release == "previous"
    admin = server.as_user(tokens["root"])
    jobs = ok(admin.get("/api/jobs", params={"limit": 500}))["items"]
    seen: dict[str, Any] = {"jobs": {}}
    for listed in jobs:
        job_id = listed["id"]
        seen["jobs"][job_id] = {
            "job": ok(admin.get(f"/api/jobs/{job_id}")),
            "listed": listed,
            "events": ok(admin.get(f"/api/jobs/{job_id}/events"))["items"],
            "hits": all_hits(admin, job_id, "hits" if previous else "hsps"),
            "queries": ok(admin.get(f"/api/jobs/{job_id}/queries"))["items"],
            "query": ok(admin.get(f"/api/jobs/{job_id}/query")).text,
        }
    for name, token in tokens.items():
        user = server.as_user(token)
        seen[name] = {
            "session": ok(user.get("/api/session")),
            "jobs": sorted(j["id"] for j in ok(user.get("/api/jobs"))["items"]),
            "databases": sorted(ok(user.get("/api/databases"))["items"], key=lambda d: d["name"]),
        }
    seen["revoked token"] = server.as_user(revoked).get("/api/jobs").status_code
    seen["no token"] = httpx.get(f"{server.url}/api/jobs").status_code
    return seen if previous else as_previous_release(seen)


def as_previous_release(seen: dict[str, Any]) -> dict[str, Any]:
    """This release's API, said as the previous release said it: the documented changes of
    docs/upgrading.md, and nothing else, are undone here, so any other difference fails.

    - A job's HSPs moved from /hits to /hsps (observe reads each release's own route), and its
      `hits_total` (which counted HSPs) is now `hsps_total`; `hits_total` counts hits.
    - /queries lists every query, also those without HSPs, and its `hits` (which counted HSPs)
      is now `hsps`.
    - Private and group databases have qualified names (`alice/x`, `@lab/x`), also in jobs.
    """

    def plain(name: str) -> str:
        return name.rsplit("/", 1)[-1]

    for job in seen["jobs"].values():
        for shown in (job["job"], job["listed"]):
            shown["hits_total"] = shown["hsps_total"]
            shown["database"] = plain(shown["database"])
        job["queries"] = [{**q, "hits": q["hsps"]} for q in job["queries"] if q["hsps"] > 0]
    for user in seen.values():
        if isinstance(user, dict) and "databases" in user:
            for database in user["databases"]:
                database["name"] = plain(database["name"])
            # listed by name: a qualified name sorts elsewhere than the plain one did
            user["databases"].sort(key=lambda d: d["name"])
    return seen


def assert_kept(before: Any, after: Any, where: str = "") -> None:
    """`after` shows everything `before` showed, equal (a new release may add fields)."""
    if isinstance(before, dict):
        assert isinstance(after, dict), where
        for key, value in before.items():
            assert key in after, f"{where}.{key} is gone"
            assert_kept(value, after[key], f"{where}.{key}")
    elif isinstance(before, list):
        assert isinstance(after, list) and len(after) == len(before), (where, before, after)
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            assert_kept(old, new, f"{where}[{index}]")
    else:
        assert before == after, f"{where}: {before!r} became {after!r}"


def dump(url: str) -> dict[str, Any]:
    """Every table of the database: its columns, indexes and all its rows."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        inspector = inspect(engine)
        tables: dict[str, Any] = {}
        with engine.connect() as connection:
            for table in sorted(inspector.get_table_names()):
                rows = connection.execute(text(f'SELECT * FROM "{table}"')).all()
                tables[table] = {
                    "columns": [
                        (c["name"], str(c["type"]), c["nullable"])
                        for c in inspector.get_columns(table)
                    ],
                    "indexes": sorted(
                        (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                        for i in inspector.get_indexes(table)
                    ),
                    "rows": sorted(repr(tuple(row)) for row in rows),
                }
        return tables
    finally:
        engine.dispose()


def run_new(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BLASTDECK, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def one_line(text_: str) -> str:
    return " ".join(text_.split())


# --- everything is kept --------------------------------------------------------------------------


def test_an_upgrade_keeps_every_job_hit_download_user_and_token(
    release: PreviousRelease,
    deployment: Deployment,
    tmp_path: Path,
    demo_16s: list[tuple[str, str]],
    demo_proteins: list[tuple[str, str]],
) -> None:
    env = deployment.env()

    # Users, groups and tokens, a database built from FASTA for a group, and a job run in the
    # CLI's own process: by the previous release's CLI.
    genes = tmp_path / "lab-genes.fa"
    genes.write_text(fasta(demo_16s[100:140]))
    query = tmp_path / "cli-query.fa"
    query.write_text(fasta(demo_16s[40:42]))
    *_, root_token, alice_token, bob_token, carol_token, revoked = release.run_many(
        [
            ["user", "add", "root", "--admin"],
            ["user", "add", "alice", "--group", "lab"],
            ["user", "add", "bob", "--group", "lab", "--group", "teaching"],
            ["user", "add", "carol"],
            *(["token", "create", name] for name in (*USERS, "bob")),
        ],
        env=env,
    )
    tokens = dict(zip(USERS, (root_token, alice_token, bob_token, carol_token), strict=True))
    tokens = {name: token.strip() for name, token in tokens.items()}
    revoked = revoked.strip()
    _, users_before, _, submitted = release.run_many(
        [
            ["token", "revoke", revoked],
            ["user", "list"],
            ["db", "add", "lab-genes", str(genes), "--visibility", "group", "--group", "lab"],
            ["submit", str(query), "--db", "demo-16s", "--wait"],
        ],
        env=env,
    )
    cli_job = submitted.split("blastdeck results ")[1].split()[0]

    old_server = Serving(release.command(), release.env(env), tmp_path / "previous-release.log")
    with old_server:
        root, alice = old_server.as_user(tokens["root"]), old_server.as_user(tokens["alice"])
        bob, carol = old_server.as_user(tokens["bob"]), old_server.as_user(tokens["carol"])
        upload_database(alice, "alice-private", demo_16s[150:170])
        broken = upload_database(root, "broken", demo_16s[:30])
        for part in Path(broken["path"]).parent.glob("broken.n[si][qn]"):
            part.write_bytes(b"\x00garbage" * 10)
        alice_16s = {"program": "blastn", "database": "demo-16s", "query": fasta(demo_16s[:3])}
        alice_16s |= {"title": "alice 16S", "options": {"evalue": 1e-30, "max_target_seqs": 100}}
        bob_query = fasta(demo_16s[100:102])
        jobs = {
            "alice 16S": ok(alice.post("/api/jobs", json=alice_16s), 202)["id"],
            "alice proteins": submit(alice, "blastp", "demo-proteins", fasta(demo_proteins[:2])),
            "alice private": submit(alice, "blastn", "alice-private", fasta(demo_16s[150:152])),
            "bob group": submit(bob, "blastn", "lab-genes", bob_query),
            "root broken": submit(root, "blastn", "broken", fasta(demo_16s[:1])),
            "carol slow": submit(
                carol, "blastn", "demo-16s", fasta(demo_16s[:24]), options=SLOW_OPTIONS
            ),
        }
        slow = jobs["carol slow"]
        deadline = time.monotonic() + 120
        while ok(carol.get(f"/api/jobs/{slow}"))["phase"] not in ("running", *TERMINAL):
            assert time.monotonic() < deadline, "the slow job never ran"
            time.sleep(0.05)
        ok(carol.post(f"/api/jobs/{slow}/cancel"), 202)
        done = {name: wait_done(root, job_id) for name, job_id in jobs.items()}
        for name in ("alice 16S", "alice proteins", "alice private", "bob group"):
            assert done[name]["phase"] == "completed" and done[name]["hits_total"] > 0, done[name]
        assert done["root broken"]["phase"] == "failed", done["root broken"]
        assert done["root broken"]["error_code"] == "blast_search_failed"
        assert done["carol slow"]["phase"] == "cancelled", done["carol slow"]
        assert wait_done(root, cli_job)["phase"] == "completed"

        # Downloads, so the previous release's export cache exists.
        downloads = {
            (job, fmt): ok(user.get(f"/api/jobs/{jobs[job]}/download", params={"format": fmt}))
            for job, user, fmt in (
                ("alice 16S", alice, "tsv"),
                ("alice 16S", alice, "xml"),
                ("bob group", bob, "tsv"),
            )
        }
        downloads = {key: response.content for key, response in downloads.items()}
        assert downloads["alice 16S", "xml"].startswith(b"<?xml")
        before = observe(old_server, tokens, revoked, "previous")

    assert len(before["jobs"]) == len(jobs) + 1
    assert before["revoked token"] == 401 and before["no token"] == 401
    assert before["carol"]["jobs"] == [slow]  # users see their own jobs only

    # This release, on the same data dir and database.
    with Serving([BLASTDECK], env, tmp_path / "this-release.log") as server:
        after = observe(server, tokens, revoked)
        assert_kept(before, after, "api")
        for (job, fmt), content in downloads.items():
            user = server.as_user(tokens["alice" if job.startswith("alice") else "bob"])
            response = ok(user.get(f"/api/jobs/{jobs[job]}/download", params={"format": fmt}))
            assert response.content == content, f"the {fmt} download of {job} changed"
        carol = server.as_user(tokens["carol"])
        assert carol.get(f"/api/jobs/{jobs['alice 16S']}").status_code == 404

        # The old databases are still searchable, and find what they found before.
        alice, bob = server.as_user(tokens["alice"]), server.as_user(tokens["bob"])
        again = {
            "alice 16S": ok(alice.post("/api/jobs", json=alice_16s), 202)["id"],
            "bob group": submit(bob, "blastn", "lab-genes", bob_query),
            "alice private": submit(alice, "blastn", "alice-private", fasta(demo_16s[150:152])),
        }
        for name, job_id in again.items():
            job = wait_done(server.as_user(tokens["root"]), job_id)
            assert job["phase"] == "completed", job
            assert_kept(
                before["jobs"][jobs[name]]["hits"],
                all_hits(server.as_user(tokens["root"]), job_id),
                f"{name} searched again after the upgrade",
            )
        assert (
            carol.post("/api/jobs", json={**alice_16s, "database": "alice-private"}).status_code
            == 404
        )  # still private

    assert run_new("user", "list", env=env).stdout == users_before
    assert deployment.revisions() == (schema_head(),)


# --- a failed upgrade changes nothing ------------------------------------------------------------


def test_a_failed_upgrade_leaves_the_database_as_it_was(
    release: PreviousRelease, deployment: Deployment, tmp_path: Path, demo_16s
) -> None:
    env = deployment.env()
    query = tmp_path / "q.fa"
    query.write_text(fasta(demo_16s[:2]))
    _, token, submitted = release.run_many(
        [
            ["user", "add", "root", "--admin", "--group", "lab"],
            ["token", "create", "root"],
            ["submit", str(query), "--db", "demo-16s", "--wait"],
        ],
        env=env,
    )
    token = token.strip()
    job_id = submitted.split("blastdeck results ")[1].split()[0]
    tsv = release.run("results", job_id, "--format", "tsv", env=env).stdout

    # The previous release is at this release's schema head until a new migration lands, so
    # take its database one revision back with the previous release's own downgrade (foreign
    # keys off, so no row goes with a rebuilt table): the upgrade then has migrations to run,
    # and the first of them (0005, adding columns to `databases`, then `users`) meets a column
    # that is already there, after it has changed `databases`.
    script = (
        "from alembic import command\n"
        "from alembic.script import ScriptDirectory\n"
        "from sqlalchemy import create_engine\n"
        "from blastdeck.store.database import alembic_config\n"
        f"config = alembic_config(create_engine({deployment.url!r}))\n"
        "script = ScriptDirectory.from_config(config)\n"
        "back = script.get_revision(script.get_current_head()).down_revision\n"
        "command.downgrade(config, back)\n"
        "print(back)\n"
    )
    older = subprocess.run(
        release.python(script), env=release.env(env), capture_output=True, text=True, check=True
    ).stdout.strip()
    assert deployment.revisions() == (older,)
    deployment.execute("ALTER TABLE users ADD COLUMN groups TEXT")
    before = dump(deployment.url)

    failed = run_new("serve", "--port", str(free_port()), env=env)
    assert failed.returncode == 2, failed.stdout + failed.stderr
    message = one_line(failed.stderr)
    assert "Traceback" not in failed.stderr, failed.stderr
    assert "startup_failed" in message, message
    assert f"from revision {older} to revision {schema_head()} failed" in message, message
    assert "groups" in message and "Nothing was changed" in message, message
    assert f"still at revision {older}" in message, message
    assert dump(deployment.url) == before, "the failed upgrade changed the database"

    # The cause removed, the same upgrade succeeds and everything is there.
    deployment.execute("ALTER TABLE users DROP COLUMN groups")
    with Serving([BLASTDECK], env, tmp_path / "this-release.log") as server:
        root = server.as_user(token)  # the CLI's job has no owner: an admin sees it
        job = ok(root.get(f"/api/jobs/{job_id}"))
        assert job["phase"] == "completed" and job["hsps_total"] > 0
        assert len(all_hits(root, job_id)) == job["hsps_total"]
        assert ok(root.get(f"/api/jobs/{job_id}/download")).text == tsv
        assert ok(root.get("/api/session"))["user"] == {"name": "root", "admin": True}
    assert deployment.revisions() == (schema_head(),)


# --- migrations that rebuild tables keep what refers to them (SQLite) ----------------------------

REBUILD_MIGRATION = """
from alembic import op

revision = "0099_rebuild"
down_revision = {head!r}
branch_labels = None
depends_on = None


def upgrade():
    # What SQLite's ALTER TABLE cannot do, Alembic's batch mode does by copying the table into
    # a new one and dropping the old: rows that refer to it must not go with it.
    for table in ("jobs", "users", "databases"):
        with op.batch_alter_table(table, recreate="always"):
            pass
    {then}


def downgrade():
    pass
"""


def test_a_migration_that_rebuilds_tables_keeps_every_row_that_refers_to_them(
    release: PreviousRelease, tmp_path: Path, demo_16s
) -> None:
    """On SQLite a rebuilt table is dropped; with foreign keys on, that drop would delete every
    hit, event and step of every job (and every API token) by cascade. A future migration of
    this kind must keep them all, or fail and change nothing."""
    deployment = Deployment(tmp_path / "data", None)
    query = tmp_path / "q.fa"
    query.write_text(fasta(demo_16s[:2]))
    release.run_many(
        [
            ["user", "add", "alice"],
            ["token", "create", "alice"],
            ["submit", str(query), "--db", "demo-16s", "--wait"],
        ],
        env=deployment.env(),
    )
    engine = make_engine(deployment.url)
    migrate(engine)  # this release's own migrations first: the rebuild comes on top of them
    engine.dispose()
    before = dump(deployment.url)
    rows = [before[t]["rows"] for t in ("legacy_hsps", "job_events", "api_tokens")]
    assert all(rows)
    migrations = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    script = migrations / "versions" / "0099_rebuild.py"
    engine = make_engine(deployment.url)
    try:
        # First it fails at its very end, after rebuilding the tables: nothing changes.
        script.write_text(
            REBUILD_MIGRATION.format(
                head=schema_head(), then='op.execute("SELECT no_such_function()")'
            )
        )
        with pytest.raises(MigrationError) as failed:
            migrate(engine, migrations)
        assert "to revision 0099_rebuild failed" in str(failed.value)
        assert "no such function: no_such_function" in str(failed.value)
        assert dump(deployment.url) == before

        # Then it succeeds: every row is still there, every reference whole.
        script.write_text(REBUILD_MIGRATION.format(head=schema_head(), then="pass"))
        migrate(engine, migrations)
        assert current_revisions(engine) == ("0099_rebuild",)
        after = dump(deployment.url)
        for table, contents in before.items():
            if table != "alembic_version":
                assert after[table]["rows"] == contents["rows"], f"rows of {table} changed"
    finally:
        engine.dispose()


# --- a newer release's database is refused -------------------------------------------------------


@pytest.mark.parametrize(
    ("backend", "command"),
    [
        ("sqlite", "serve"),
        ("sqlite", "user list"),
        ("postgresql", "serve"),
        ("postgresql", "worker"),
        ("postgresql", "beat"),
    ],
)
def test_a_database_from_a_newer_release_is_refused(
    backend: str, command: str, tmp_path: Path
) -> None:
    with pg_database() if backend == "postgresql" else nullcontext() as url:
        deployment = Deployment(tmp_path / "data", url)
        env = deployment.env()
        made = run_new("user", "add", "alice", env=env)
        assert made.returncode == 0, made.stderr
        deployment.execute(f"UPDATE alembic_version SET version_num = '{NEWER_REVISION}'")
        before = dump(deployment.url)

        if command in ("worker", "beat"):
            tag = uuid.uuid4().hex[:8]
            env = deployment.env(
                BLASTDECK_BROKER_URL=REDIS_URL,
                BLASTDECK_QUEUE=f"blastdeck-upgrade-test-{tag}",
                BLASTDECK_LOCK_PREFIX=f"test:{tag}:elb:blast:elastic-blast-submit",
            )
        args = ["serve", "--port", str(free_port())] if command == "serve" else command.split()
        refused = run_new(*args, env=env, timeout=60)

        assert refused.returncode == 2, refused.stdout + refused.stderr
        message = one_line(refused.stderr)
        assert "Traceback" not in refused.stderr, refused.stderr
        assert "startup_failed" in message, message
        assert f"at revision {NEWER_REVISION}" in message, message
        assert f"its newest schema revision is {schema_head()}" in message, message
        assert "a newer BlastDeck release has upgraded this database" in message, message
        assert dump(deployment.url) == before, "the refusal changed the database"
