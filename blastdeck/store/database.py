"""Engine and session set-up, and running the Alembic migrations (same on SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # A fresh connection per session: a pooled SQLite connection can keep reading an old
        # WAL snapshot and miss what another process (a CLI, a worker) has just written.
        engine = create_engine(
            url, poolclass=NullPool, connect_args={"check_same_thread": False, "timeout": 30}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def keep_sqlite_files_open(engine: Engine) -> None:
    """Hold one idle SQLite connection for the life of the engine.

    With fresh connections per session, the last one to close deletes the `-wal` and `-shm`
    files and the next one must create them again; on a full disk it cannot, and then even
    reads fail. An idle connection (no transaction open) keeps them without pinning a snapshot.
    """
    if engine.dialect.name != "sqlite" or getattr(engine, "_blastdeck_keeper", None):
        return
    keeper = engine.raw_connection()
    engine._blastdeck_keeper = keeper  # type: ignore[attr-defined]

    @event.listens_for(engine, "engine_disposed")
    def _close_keeper(_engine: Engine) -> None:
        keeper.close()
        engine._blastdeck_keeper = None  # type: ignore[attr-defined]


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # pysqlite begins a transaction just before the first write, so a session that reads and
    # then writes waits for the write lock (busy_timeout) instead of failing on a stale read.
    # WAL lets the API read while a job thread writes; foreign keys make cascades work.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Checkpoint the WAL often and give its space back each time: kept small, it cannot be
    # what fills a nearly full disk, and it leaves room for recording a job's failure there.
    cursor.execute("PRAGMA wal_autocheckpoint=100")
    cursor.execute("PRAGMA journal_size_limit=0")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe to call on every start."""
    command.upgrade(alembic_config(engine), "head")
