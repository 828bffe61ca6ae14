"""Migration 0009: databases get their taxonomy coverage columns and jobs their taxon filter,
on SQLite and PostgreSQL; rows from before keep every value and read as "taxids never read"
(NULL) and "no filter"; the downgrade drops the columns and keeps the rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from blastdeck.store.database import alembic_config, make_engine, migrate
from tests.conftest import pg_database
from tests.test_migration_0007 import fill

NEW_DATABASE_COLUMNS = {"taxid_sequences", "distinct_taxids", "top_organisms"}


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


def _tables(engine: sa.Engine) -> tuple[sa.Table, sa.Table]:
    meta = sa.MetaData()
    meta.reflect(engine)
    return meta.tables["databases"], meta.tables["jobs"]


def test_upgrade_adds_coverage_and_filter_and_keeps_rows(engine: sa.Engine) -> None:
    command.upgrade(alembic_config(engine), "0008")
    dbs, jobs = _tables(engine)
    assert not NEW_DATABASE_COLUMNS & set(dbs.c.keys()) and "taxon_filter" not in jobs.c
    with engine.begin() as conn:
        conn.execute(dbs.insert().values(fill(dbs, name="nt", path="/data/nt", sequences=7)))
        conn.execute(jobs.insert().values(fill(jobs, id="job-1", database="nt", title="t")))

    migrate(engine)

    dbs, jobs = _tables(engine)
    assert set(dbs.c.keys()) >= NEW_DATABASE_COLUMNS and "taxon_filter" in jobs.c
    with engine.connect() as conn:
        row = conn.execute(sa.select(dbs)).one()
        assert (row.name, row.path, row.sequences) == ("nt", "/data/nt", 7)
        assert (row.taxid_sequences, row.distinct_taxids, row.top_organisms) == (None,) * 3
        job = conn.execute(sa.select(jobs)).one()
        assert (job.id, job.database, job.title, job.taxon_filter) == ("job-1", "nt", "t", None)
    top = [{"taxid": 562, "name": "Escherichia coli", "sequences": 3}]
    with engine.begin() as conn:
        conn.execute(dbs.update().values(taxid_sequences=3, distinct_taxids=1, top_organisms=top))
        conn.execute(jobs.update().values(taxon_filter={"taxids": ["562"]}))
    with engine.connect() as conn:
        assert conn.execute(sa.select(dbs.c.top_organisms)).scalar() == top
        assert conn.execute(sa.select(jobs.c.taxon_filter)).scalar() == {"taxids": ["562"]}

    command.downgrade(alembic_config(engine), "0008")
    dbs, jobs = _tables(engine)
    assert not NEW_DATABASE_COLUMNS & set(dbs.c.keys()) and "taxon_filter" not in jobs.c
    with engine.connect() as conn:
        assert conn.execute(sa.select(dbs.c.name, dbs.c.sequences)).one() == ("nt", 7)
        assert conn.execute(sa.select(jobs.c.id)).scalar() == "job-1"
