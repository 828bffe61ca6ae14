"""The audit log: one row per admin action (users and tokens: `accounts.py`; clusters: the
clusters router and the CLI's local backend)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from blastdeck.store.models import AuditEvent


class AuditLog:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def record(
        self, actor: str | None, action: str, target: str, details: dict[str, Any] | None = None
    ) -> None:
        with self._sessions.begin() as s:
            s.add(AuditEvent(actor=actor, action=action, target=target, details=details or {}))

    def page(self, limit: int, offset: int) -> tuple[list[AuditEvent], int]:
        """Newest first, and how many there are in all."""
        with self._sessions() as s:
            total = s.scalar(select(func.count()).select_from(AuditEvent)) or 0
            query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit).offset(offset)
            return list(s.scalars(query)), total
