"""Migration 0018: a job's queries move out of the `jobs` row into `job_queries`, on SQLite and
PostgreSQL. Every job keeps its FASTA byte for byte (and its steps: SQLite rebuilds `jobs`);
the downgrade puts the FASTA back in the row."""

# ruff: noqa: F811  (pytest injects the imported `engine` fixture by argument name)

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from blastdeck.store.database import alembic_config, make_session_factory, migrate
from blastdeck.store.jobs import JobStore

# `engine`: the same database at an old revision, on SQLite and on PostgreSQL (a fixture).
from tests.test_migration_0007 import engine, fill  # noqa: F401

FASTA = {"job-1": ">q1 first\nACGT\n" * 2000, "job-2": ">only\nTTGA\n", "job-3": ""}


def _tables(engine: sa.Engine) -> dict[str, sa.Table]:
    meta = sa.MetaData()
    meta.reflect(engine)
    return dict(meta.tables)


def test_upgrade_moves_every_jobs_queries_and_keeps_its_rows(engine: sa.Engine) -> None:
    command.upgrade(alembic_config(engine), "0017")
    tables = _tables(engine)
    jobs, steps = tables["jobs"], tables["job_steps"]
    assert "query_fasta" in jobs.c and "job_queries" not in tables
    with engine.begin() as conn:
        for job_id, text in FASTA.items():
            row = fill(jobs, id=job_id, title=f"t {job_id}", query_fasta=text, phase="completed")
            conn.execute(jobs.insert().values(row))
            step = fill(steps, job_id=job_id, key="running", position=5, status="completed")
            conn.execute(steps.insert().values(step))

    migrate(engine)

    tables = _tables(engine)
    assert "query_fasta" not in tables["jobs"].c
    with engine.connect() as conn:
        moved = dict(conn.execute(sa.select(tables["job_queries"])).all())
        titles = dict(conn.execute(sa.select(tables["jobs"].c.id, tables["jobs"].c.title)).all())
        step_rows = conn.execute(sa.select(tables["job_steps"].c.job_id)).scalars().all()
    assert moved == FASTA
    assert titles == {job_id: f"t {job_id}" for job_id in FASTA}
    assert sorted(step_rows) == sorted(FASTA)
    store = JobStore(make_session_factory(engine))
    assert store.query_fasta("job-1") == FASTA["job-1"] and store.query_fasta("gone") is None
    store.delete("job-2")  # its queries go with it
    with engine.connect() as conn:
        left = conn.execute(sa.select(tables["job_queries"].c.job_id)).scalars().all()
    assert sorted(left) == ["job-1", "job-3"]

    command.downgrade(alembic_config(engine), "0017")
    tables = _tables(engine)
    assert "job_queries" not in tables
    with engine.connect() as conn:
        back = conn.execute(sa.select(tables["jobs"].c.id, tables["jobs"].c.query_fasta)).all()
    assert dict(back) == {"job-1": FASTA["job-1"], "job-3": ""}
