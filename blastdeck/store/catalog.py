"""Persistence for BLAST databases and clusters added at run time."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.store.models import BlastDatabase, ClusterRow


class DatabaseStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def get(self, name: str) -> BlastDatabase | None:
        with self._sessions() as s:
            return s.get(BlastDatabase, name)

    def list(self) -> list[BlastDatabase]:
        with self._sessions() as s:
            return list(s.scalars(select(BlastDatabase).order_by(BlastDatabase.name)))

    def add(self, row: BlastDatabase) -> BlastDatabase:
        try:
            with self._sessions.begin() as s:
                s.add(row)
        except IntegrityError:
            raise _exists("database", row.name, ErrorCode.DATABASE_EXISTS) from None
        return row


class ClusterStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def list(self) -> list[ClusterRow]:
        with self._sessions() as s:
            return list(s.scalars(select(ClusterRow).order_by(ClusterRow.name)))

    def add(self, row: ClusterRow) -> ClusterRow:
        try:
            with self._sessions.begin() as s:
                s.add(row)
        except IntegrityError:
            raise _exists("cluster", row.name, ErrorCode.CLUSTER_EXISTS) from None
        return row


def _exists(what: str, name: str, code: ErrorCode) -> BlastDeckError:
    return BlastDeckError(code, f"A {what} named {name!r} already exists.", field="name")
