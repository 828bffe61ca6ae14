"""Is the service usable (GET /api/health)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    mode: Literal["embedded", "distributed"]
    broker: Literal["ok", "unavailable"] | None = Field(description="null: no broker (embedded)")
    database: str = Field(description="the job database's SQL dialect")
    blast: str = Field(description="BLAST+'s version line, or why it is unavailable")
