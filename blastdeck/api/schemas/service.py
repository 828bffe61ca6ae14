"""The service itself: is it usable (GET /api/health), and its limits (GET /api/limits)."""

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


class Limits(BaseModel):
    max_nucleotide_letters_per_sequence: int
    max_protein_letters_per_sequence: int
    max_query_letters_per_job: int
    max_sequences_per_job: int
    max_defline_chars: int
    max_upload_bytes: int
    max_active_jobs_per_user: int
    max_queued_jobs_per_user: int
    max_hits_per_query: int
    submit_rate_per_minute: float
    submit_burst: int
