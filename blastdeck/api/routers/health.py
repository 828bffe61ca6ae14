"""/api/health: is the service usable (its database, BLAST+, and the broker if any)."""

from __future__ import annotations

import functools

from fastapi import APIRouter
from sqlalchemy import text

from blastdeck import __version__
from blastdeck.api.deps import RuntimeDep
from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.api.schemas.health import Health
from blastdeck.blast_tools import BlastToolError, run_tool

router = APIRouter(prefix="/api/health", tags=["service"], responses=ERROR_RESPONSES)


@router.get("")
def health(runtime: RuntimeDep) -> Health:
    with runtime.db_engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    try:
        blast = _blast_version()
    except BlastToolError as exc:
        blast = f"unavailable: {exc}"
    ping = getattr(runtime.executor, "ping", None)
    return Health(
        status="ok",
        version=__version__,
        mode="distributed" if runtime.settings.distributed else "embedded",
        broker=None if ping is None else ("ok" if ping() else "unavailable"),
        database=runtime.db_engine.dialect.name,
        blast=blast,
    )


@functools.cache  # a failure raises and is not cached, so health notices BLAST coming back
def _blast_version() -> str:
    # Asked once: /api/health needs no token, and a process per call would be cheap to abuse.
    return run_tool("blastn", ["-version"], timeout=10).splitlines()[0].strip()
