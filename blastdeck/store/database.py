"""Engine and session set-up, and running the Alembic migrations (same on SQLite and PostgreSQL).

`migrate` brings a database made by any earlier release to this release's schema, all or
nothing: the whole upgrade is one transaction on both backends (SQLite's DDL is transactional
too once pysqlite stops managing transactions itself), so a failed migration leaves the schema,
the revision and every row as they were. A database whose revision this code does not know
(a newer release upgraded it) is refused and left untouched.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, QueuePool

from blastdeck.store.notifications import install_outbox

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_PG_MIGRATION_LOCK = 7411000  # the advisory lock migrations/env.py takes too
_MAX_REASON_CHARS = 300
WAL_AUTOCHECKPOINT_PAGES = 1000
SQLITE_POOL_SIZE = 8  # idle connections kept for the next session (job threads, API, loops)


class MigrationError(RuntimeError):
    """The schema cannot be brought to this release's revision. The message names the
    revisions involved and says what state the database is in (always: as it was)."""


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # Pooled: opening a connection (and setting its pragmas) cost 0.75 ms, some forty times
        # per job. A pooled connection reads what other processes wrote since: pysqlite opens
        # no transaction for a read, and the pool rolls back whatever a session left open when
        # it hands the connection back, so no WAL snapshot outlives its session. No limit on
        # connections beyond the kept ones (as before, a busy thread never waits for one).
        engine = create_engine(
            url,
            poolclass=QueuePool,
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=-1,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def keep_sqlite_files_open(engine: Engine) -> None:
    """Hold one idle SQLite connection for the life of the engine.

    When the last connection closes (the pool keeps a few, but may have none idle, or be
    disposed), SQLite deletes the `-wal` and `-shm` files and the next one must create them
    again; on a full disk it cannot, and then even reads fail. An idle connection (no
    transaction open) keeps them without pinning a snapshot.
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
    # Checkpoint the WAL at SQLite's default size (1,000 pages, ~4 MB) and give its space back
    # each time: kept small, it cannot be what fills a nearly full disk, and it leaves room for
    # recording a job's failure there. A checkpoint runs in the commit that crosses the size,
    # two fdatasyncs on a job's path: at 100 pages it came every second job or so, +3.4 ms a
    # job on average (POST to BLAST plus BLAST's end to completed, 30 jobs, docs/taxonomy.md).
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
    cursor.execute("PRAGMA journal_size_limit=0")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose transactions that end a job also write its notifications' outbox rows."""
    sessions = sessionmaker(engine, expire_on_commit=False)
    install_outbox(sessions)
    return sessions


# -- PostgreSQL-only touches inside a transaction (no-ops on SQLite) -----------------------------

_HAS_LZ4: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def compress_fast(session: Session) -> None:
    """Have this transaction compress big text values (a job's queries: megabytes for 10,000 of
    them) with lz4 instead of PostgreSQL's default pglz: measured 0.06 s instead of 0.35 s to
    store 4 MB. Skipped on a server without lz4 (before 14, or built without it)."""
    engine = session.get_bind()
    if not isinstance(engine, Engine) or engine.dialect.name != "postgresql":
        return
    if engine not in _HAS_LZ4:
        _HAS_LZ4[engine] = bool(
            session.scalar(
                text(
                    "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                    "WHERE name = 'default_toast_compression'"
                )
            )
        )
    if _HAS_LZ4[engine]:
        session.execute(text("SET LOCAL default_toast_compression = 'lz4'"))


def notify(session: Session, channel: str, payload: str) -> None:
    """PostgreSQL NOTIFY, delivered to the channel's listeners when the transaction commits
    (and not at all when it rolls back)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload}
        )


def alembic_config(engine: Engine, migrations_dir: Path = MIGRATIONS_DIR) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["engine"] = engine
    return config


def schema_head(migrations_dir: Path = MIGRATIONS_DIR) -> str:
    """The newest schema revision this code knows (what `migrate` brings a database to)."""
    head = ScriptDirectory(str(migrations_dir)).get_current_head()
    assert head is not None, "no migrations"
    return head


def current_revisions(engine: Engine) -> tuple[str, ...]:
    """The revision(s) stamped in the database; () for a database without BlastDeck's schema."""
    with engine.connect() as connection:
        return tuple(MigrationContext.configure(connection).get_current_heads())


def migrate(engine: Engine, migrations_dir: Path = MIGRATIONS_DIR) -> None:
    """Bring the schema to the newest revision; safe to call on every start.

    Cheap when the schema is current (one read). Otherwise the upgrade runs in one transaction
    that holds the migration lock (SQLite: the write lock; PostgreSQL: an advisory lock), so of
    several processes starting together one upgrades and the others then find it done.
    Raises `MigrationError` for a revision this code does not know, or when the upgrade fails.
    """
    script = ScriptDirectory(str(migrations_dir))
    head = schema_head(migrations_dir)
    known = {revision.revision for revision in script.walk_revisions()}
    current = current_revisions(engine)
    _refuse_unknown(current, head, known)
    if current == (head,):
        return
    upgrade_engine = _sqlite_upgrade_engine(engine) if engine.dialect.name == "sqlite" else engine
    try:
        with upgrade_engine.begin() as connection:  # commits, or rolls everything back
            if connection.dialect.name == "postgresql":
                connection.execute(text(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})"))
            current = tuple(MigrationContext.configure(connection).get_current_heads())
            _refuse_unknown(current, head, known)  # read again: another process may have won
            if current == (head,):
                return
            try:
                sqlite = connection.dialect.name == "sqlite"
                broken_before = _broken_references(connection) if sqlite else {}
                command.upgrade(_config_in(connection, migrations_dir), "head")
                if sqlite:
                    _check_no_new_broken_references(connection, broken_before)
            except Exception as exc:
                raise MigrationError(_failure_message(current, head, exc)) from exc
    finally:
        if upgrade_engine is not engine:
            upgrade_engine.dispose()


def _refuse_unknown(current: tuple[str, ...], head: str, known: set[str]) -> None:
    unknown = [revision for revision in current if revision not in known]
    if unknown:
        raise MigrationError(
            f"The database schema is at revision {', '.join(unknown)}, which this BlastDeck "
            f"does not know (its newest schema revision is {head}): a newer BlastDeck release "
            "has upgraded this database. Run that release (or a newer one) against it; this "
            "one leaves the database untouched and does not start."
        )


def _failure_message(current: tuple[str, ...], head: str, exc: BaseException) -> str:
    before = f"revision {', '.join(current)}" if current else "an empty database"
    still = f"still at {before}" if current else "still empty"
    return (
        f"Upgrading the database schema from {before} to revision {head} failed: "
        f"{_reason(exc)}. Nothing was changed: the upgrade runs as one transaction, so the "
        f"database is {still}, with all its data, and the release that made it can still use "
        "it. Fix the cause and start again (see docs/upgrading.md)."
    )


def _reason(exc: BaseException) -> str:
    """The database's own words (without the SQL), in one line a terminal shows as is."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(cause).strip().splitlines()
    text_ = lines[0].strip() if lines else ""
    reason = f"{type(cause).__name__}: {text_}" if text_ else type(cause).__name__
    # Square brackets would be read as markup by the terminal printer (rich).
    reason = reason.replace("[", "(").replace("]", ")")
    if len(reason) > _MAX_REASON_CHARS:
        reason = reason[: _MAX_REASON_CHARS - 3] + "..."
    return reason


def _broken_references(connection: Connection) -> dict[str, int]:
    """Rows per table whose foreign key points at no row (SQLite's foreign_key_check)."""
    counts: dict[str, int] = {}
    for row in connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall():
        counts[str(row[0])] = counts.get(str(row[0]), 0) + 1
    return counts


def _check_no_new_broken_references(connection: Connection, before: dict[str, int]) -> None:
    # Migrations run with SQLite's foreign keys off (see below): make sure they broke no
    # reference before committing. (References broken before the upgrade are not its doing.)
    after = _broken_references(connection)
    worse = sorted(table for table, count in after.items() if count > before.get(table, 0))
    if worse:
        raise RuntimeError(
            f"the upgrade would leave rows of {', '.join(worse)} without their parent"
        )


def _sqlite_upgrade_engine(engine: Engine) -> Engine:
    """A private engine for upgrading a SQLite database in a single transaction.

    pysqlite normally commits around DDL and begins transactions only before DML, which would
    leave a half-upgraded schema behind a failure; here it is told to keep out (isolation_level
    None) and the transaction is begun explicitly, IMMEDIATE so it holds the write lock from
    the start. Foreign keys are off: Alembic's batch mode rebuilds a table by copying it and
    dropping the original, and with foreign keys on that drop would cascade and delete every
    row that refers to the table (a rebuilt `jobs` would take all hits, events and steps with
    it; a rebuilt `users` all API tokens). References are checked again before commit.
    """
    upgrade_engine = create_engine(
        engine.url,
        poolclass=NullPool,
        connect_args={"check_same_thread": False, "timeout": 30},
    )

    @event.listens_for(upgrade_engine, "connect")
    def _connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # pysqlite emits no BEGIN or COMMIT of its own
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=OFF")  # only takes effect outside a transaction
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(upgrade_engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return upgrade_engine


class _OpenTransaction:
    """What migrations/env.py takes as its engine: `begin()` lends it the connection of the
    transaction `migrate` holds, so the migrations run inside that one transaction."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        yield self._connection


def _config_in(connection: Connection, migrations_dir: Path) -> Config:
    return alembic_config(_OpenTransaction(connection), migrations_dir)  # type: ignore[arg-type]
