"""store/disk_full.py tells a full disk from a database outage, on the drivers' real errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from blastdeck.store.disk_full import database_trouble, is_disk_full


def test_sqlite_out_of_pages_is_a_full_disk(tmp_path: Path) -> None:
    """SQLite says SQLITE_FULL when its file cannot grow: a page limit makes it happen for real."""
    engine = create_engine(f"sqlite:///{tmp_path / 'small.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x TEXT)"))
    with pytest.raises(OperationalError) as caught, engine.begin() as conn:
        conn.execute(text("PRAGMA max_page_count = 3"))
        conn.execute(text("INSERT INTO t VALUES (:x)"), [{"x": "A" * 4000}] * 10)
    assert is_disk_full(caught.value)
    assert is_disk_full(caught.value.orig)
    assert database_trouble(caught.value) == "the job database's disk is full"


def test_other_sqlite_errors_are_not(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(OperationalError) as caught, engine.begin() as conn:
        conn.execute(text("SELECT * FROM no_such_table"))
    assert not is_disk_full(caught.value)
    directory = tmp_path / "gone"
    with pytest.raises(sqlite3.OperationalError) as unopenable:
        sqlite3.connect(directory / "x.db")  # its directory does not exist
    assert not is_disk_full(unopenable.value)
    assert database_trouble(caught.value) == "database unreachable"


def test_postgresql_disk_full_and_outage() -> None:
    """psycopg's own error classes: SQLSTATE 53100 is a full disk; a refused connection is not."""
    assert is_disk_full(psycopg.errors.DiskFull("could not extend file"))
    assert not is_disk_full(psycopg.errors.AdminShutdown("terminating connection"))
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect("postgresql://postgres@127.0.0.1:1/postgres", connect_timeout=2)
    assert not is_disk_full(refused.value)
