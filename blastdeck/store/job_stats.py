"""Counts over all jobs, computed by the database (for `GET /metrics`)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from blastdeck.domain.pipeline_model import Phase
from blastdeck.store.models import Job


class JobStats:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def by_phase(self) -> dict[str, int]:
        """How many jobs are in each phase now (every phase named, 0 when none)."""
        with self._sessions() as s:
            counts = dict(s.execute(select(Job.phase, func.count()).group_by(Job.phase)).all())
        return {phase.value: int(counts.get(phase.value, 0)) for phase in Phase}
