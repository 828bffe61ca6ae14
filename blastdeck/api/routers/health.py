"""/api/health, /api/limits, /api/programs, /api/options: is the service usable, and what
may a job ask for."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from blastdeck import __version__
from blastdeck.api.deps import RuntimeDep
from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.blast_tools import BlastToolError, run_tool
from blastdeck.domain.option_table import describe_options
from blastdeck.domain.programs import PROGRAM_SHAPES, parse_program

router = APIRouter(prefix="/api", tags=["service"], responses=ERROR_RESPONSES)


@router.get("/health")
def health(runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.db_engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    try:
        blast = _blast_version()
    except BlastToolError as exc:
        blast = f"unavailable: {exc}"
    ping = getattr(runtime.executor, "ping", None)
    return {
        "status": "ok",
        "version": __version__,
        "mode": "distributed" if runtime.settings.distributed else "embedded",
        "broker": None if ping is None else ("ok" if ping() else "unavailable"),
        "database": runtime.db_engine.dialect.name,
        "blast": blast,
    }


@functools.cache  # a failure raises and is not cached, so health notices BLAST coming back
def _blast_version() -> str:
    # Asked once: /api/health needs no token, and a process per call would be cheap to abuse.
    return run_tool("blastn", ["-version"], timeout=10).splitlines()[0].strip()


@router.get("/limits")
def limits(runtime: RuntimeDep) -> dict[str, Any]:
    """The limits every submission is held to (also through /blast/Blast.cgi)."""
    return runtime.settings.limits()


@router.get("/options")
def options(program: str = "blastn") -> dict[str, Any]:
    """The BLAST options a job of this program may set, with their ranges or choices."""
    return {"program": program, "options": describe_options(parse_program(program))}


@router.get("/programs")
def programs() -> dict[str, Any]:
    """Each BLAST program with the molecule its query and its database must be, and its tasks."""
    return {
        "items": [
            {
                "name": program.value,
                "query_molecule": shape.query.value,
                "database_molecule": shape.database.value,
                "tasks": list(shape.tasks),
                "default_task": shape.default_task,
            }
            for program, shape in PROGRAM_SHAPES.items()
        ]
    }
