"""Share links: what the owner creates and lists, and what a link's holder reads."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from blastdeck.api.schemas.jobs import Job
from blastdeck.sharing import MAX_DAYS


class ShareCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expires_at: datetime | None = Field(
        default=None, description="when the link stops working (with a time zone); default never"
    )
    # strict: JSON `true` is not a number of days (lax validation would read it as 1)
    expires_in_days: int | None = Field(
        default=None, ge=1, le=MAX_DAYS, strict=True, description="or: this many days from now"
    )


class Share(BaseModel):
    id: str
    job_id: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    active: bool = Field(description="opens the job now: not revoked, not expired")


class ShareCreated(Share):
    url: str = Field(description="the page to send: the job's results, read-only")
    api_url: str = Field(description="the job's JSON as the link's holder sees it")


class ShareList(BaseModel):
    items: list[Share]


class SharedLinks(BaseModel):
    """Where the link's holder reads the job's results (the same parameters as under
    /api/jobs/{id})."""

    self: str
    hits: str
    hsps: str
    queries: str
    alignments: str
    download: str
    taxonomy: str


class SharedJob(BaseModel):
    job: Job
    links: SharedLinks
