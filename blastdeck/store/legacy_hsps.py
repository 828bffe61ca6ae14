"""HSP rows of jobs indexed before the columnar index (migration 0006): read once, to build
such a job's index when its batch tables are gone, and deleted with the job."""

from __future__ import annotations

from dataclasses import fields

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from blastdeck.results.hsps import Hsp
from blastdeck.store.models import LegacyHsp

_FIELDS = [f.name for f in fields(Hsp) if f.name not in ("qcovs", "staxid")]


class LegacyHspStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def rows(self, job_id: str) -> list[Hsp]:
        """The job's stored HSPs in the order they were indexed (BLAST's, batch by batch);
        `qcovs` is left 0 for the caller to derive, `staxid` is unknown (0)."""
        query = select(LegacyHsp).where(LegacyHsp.job_id == job_id).order_by(LegacyHsp.id)
        with self._sessions() as s:
            return [
                Hsp(**{name: getattr(row, name) for name in _FIELDS}, qcovs=0, staxid=0)
                for row in s.scalars(query)
            ]
