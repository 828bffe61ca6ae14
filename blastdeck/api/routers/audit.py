"""/api/audit: who did what to users, tokens, databases and clusters, and when (admins)."""

from __future__ import annotations

from fastapi import APIRouter

from blastdeck.api.deps import RuntimeDep, ViewerDep
from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.api.params import Offset, PageLimit
from blastdeck.api.schemas.accounts import AuditEvent, AuditList

router = APIRouter(prefix="/api/audit", tags=["users"], responses=ERROR_RESPONSES)


@router.get("")
def audit_log(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    limit: PageLimit = 100,
    offset: Offset = 0,
) -> AuditList:
    """The audit log, newest first: users and tokens added, changed and removed; databases
    registered by path, their visibility changed, deleted."""
    events, total = runtime.accounts.audit(viewer, limit, offset)
    items = [
        AuditEvent(
            id=e.id,
            at=e.at.isoformat(),
            actor=e.actor,
            action=e.action,
            target=e.target,
            details=dict(e.details or {}),
        )
        for e in events
    ]
    return AuditList(items=items, total=total)
