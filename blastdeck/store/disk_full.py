"""Telling a full disk from a database outage.

Both reach us as SQLAlchemy's `OperationalError`, but they call for different answers: an
outage passes by itself (503, try again shortly), a full disk does not until someone frees
space (507 `storage_full`, saying so). SQLite reports a full disk as SQLITE_FULL ("database or
disk is full"), PostgreSQL as SQLSTATE 53100 `disk_full`.
"""

from __future__ import annotations

import sqlite3

POSTGRESQL_DISK_FULL = "53100"


def is_disk_full(exc: BaseException) -> bool:
    """Whether a database error (SQLAlchemy's, or the driver's own) is its disk being full."""
    driver = getattr(exc, "orig", None) or exc
    if isinstance(driver, sqlite3.Error):
        return getattr(driver, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return getattr(driver, "sqlstate", None) == POSTGRESQL_DISK_FULL


def database_trouble(exc: BaseException) -> str:
    """What kept a write out, for a log line: both are waited out, but only someone freeing
    space ends a full disk."""
    return "the job database's disk is full" if is_disk_full(exc) else "database unreachable"
