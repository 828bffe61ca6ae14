"""The maintenance log: what periodic maintenance (the retention purge, reconciles) did, one
row per run that changed something, read back by tests and operators."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from blastdeck.store.models import MaintenanceEvent


class MaintenanceLog:
    """Mixed into `JobStore`, which owns the session factory."""

    _sessions: sessionmaker[Session]

    def record_maintenance(self, kind: str, message: str, details: dict[str, Any]) -> None:
        with self._sessions.begin() as s:
            s.add(MaintenanceEvent(kind=kind, message=message, details=details))

    def maintenance_events(self, kind: str) -> list[MaintenanceEvent]:
        with self._sessions() as s:
            query = select(MaintenanceEvent).where(MaintenanceEvent.kind == kind)
            return list(s.scalars(query.order_by(MaintenanceEvent.id)))
