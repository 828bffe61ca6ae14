"""/api/limits: the limits every submission is held to, so a client can check first."""

from __future__ import annotations

from fastapi import APIRouter

from blastdeck.api.deps import RuntimeDep
from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.api.schemas.limits import Limits

router = APIRouter(prefix="/api/limits", tags=["service"], responses=ERROR_RESPONSES)


@router.get("")
def limits(runtime: RuntimeDep) -> Limits:
    """The limits every submission is held to (also through /blast/Blast.cgi)."""
    return Limits(**runtime.settings.limits())
