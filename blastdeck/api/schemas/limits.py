"""The limits every submission is held to (GET /api/limits; config.Settings.limits)."""

from __future__ import annotations

from pydantic import BaseModel


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
