"""Migration 0007: private and group databases get their scoped names, and the jobs that
searched them follow, on SQLite and PostgreSQL; nothing else changes and nothing is lost."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from blastdeck.store.database import alembic_config, make_engine, migrate, schema_head
from tests.conftest import pg_database

# (name, owner, visibility, group) as stored before 0007
OLD_DATABASES = [
    ("nt-public", None, "public", None),
    ("bob-private", "bob", "private", None),
    ("alice-notes", "alice", "private", None),
    ("lab-shared", "alice", "group", "lab"),
    ("ownerless", None, "private", None),  # added on the data dir with no user signed in
]
RENAMED = {
    "nt-public": "nt-public",
    "bob-private": "bob/bob-private",
    "alice-notes": "alice/alice-notes",
    "lab-shared": "@lab/lab-shared",
    "ownerless": "ownerless",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
    else:
        with pg_database() as url:
            engine = make_engine(url)
            yield engine
            engine.dispose()


def fill(table: sa.Table, **values: Any) -> dict[str, Any]:
    """A row with the given values and a plain value for every other required column."""
    now = datetime.now(UTC)
    for column in table.columns:
        if column.name in values or column.nullable or column.server_default is not None:
            continue
        if column.autoincrement is True or (
            column.primary_key and isinstance(column.type, sa.Integer)
        ):
            continue
        python = column.type.python_type if not isinstance(column.type, sa.JSON) else dict
        values[column.name] = {
            str: "x",
            int: 0,
            bool: False,
            datetime: now,
            dict: {},
        }[python]
    return values


def test_upgrade_scopes_names_and_renames_jobs(engine: sa.Engine) -> None:
    command.upgrade(alembic_config(engine), "0006")
    meta = sa.MetaData()
    meta.reflect(engine)
    users, dbs, jobs, steps = (meta.tables[n] for n in ("users", "databases", "jobs", "job_steps"))
    ids = {"alice": "u-alice", "bob": "u-bob"}
    with engine.begin() as conn:
        for name, uid in ids.items():
            conn.execute(users.insert().values(fill(users, id=uid, name=name, groups=["lab"])))
        for name, owner, visibility, group in OLD_DATABASES:
            row = fill(
                dbs,
                name=name,
                path=f"/data/databases/{name}/{name}",
                owner_id=ids.get(owner or ""),
                visibility=visibility,
                share_group=group,
            )
            conn.execute(dbs.insert().values(row))
            job_id = f"job-{name}"
            conn.execute(jobs.insert().values(fill(jobs, id=job_id, database=name)))
            conn.execute(steps.insert().values(fill(steps, job_id=job_id, key="preparing")))

    migrate(engine)

    with engine.connect() as conn:
        stored = {r.name: r for r in conn.execute(sa.select(dbs))}
        assert set(stored) == set(RENAMED.values())
        for old, new in RENAMED.items():
            assert stored[new].path == f"/data/databases/{old}/{old}"  # files stay put
        job_dbs = dict(conn.execute(sa.select(jobs.c.id, jobs.c.database)).all())
        assert job_dbs == {f"job-{old}": new for old, new in RENAMED.items()}
        assert conn.execute(sa.select(sa.func.count()).select_from(steps)).scalar() == len(RENAMED)
        revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    assert revision == schema_head()  # 0007 and every migration after it
    if engine.dialect.name == "postgresql":  # room for the longest qualified name
        long_name = f"@{'g' * 64}/{'n' * 64}"
        jobs = sa.Table("jobs", sa.MetaData(), autoload_with=engine)  # the head's columns
        with engine.begin() as conn:
            conn.execute(dbs.insert().values(fill(dbs, name=long_name, path="/x")))
            conn.execute(jobs.insert().values(fill(jobs, id="job-long", database=long_name)))
    migrate(engine)  # idempotent: nothing renamed twice
    with engine.connect() as conn:
        assert conn.execute(sa.select(dbs.c.name).where(dbs.c.name == "bob/bob-private")).scalar()


def test_downgrade_goes_back_to_plain_names_unless_they_clash(engine: sa.Engine) -> None:
    command.upgrade(alembic_config(engine), "0006")
    meta = sa.MetaData()
    meta.reflect(engine)
    users, dbs = meta.tables["users"], meta.tables["databases"]
    with engine.begin() as conn:
        conn.execute(users.insert().values(fill(users, id="u-bob", name="bob", groups=[])))
        conn.execute(
            dbs.insert().values(
                fill(dbs, name="notes", path="/p", owner_id="u-bob", visibility="private")
            )
        )
    migrate(engine)
    command.downgrade(alembic_config(engine), "0006")
    with engine.connect() as conn:
        assert conn.execute(sa.select(dbs.c.name)).scalars().all() == ["notes"]
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(dbs.insert().values(fill(dbs, name="notes", path="/q", visibility="public")))
    with pytest.raises(RuntimeError, match="more than one scope: notes"):
        command.downgrade(alembic_config(engine), "0006")
