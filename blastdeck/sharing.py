"""Share links: the owner of a job makes read-only links to it; anyone holding one sees that
job's results (and nothing else) without signing in.

A link that does not open a job — unknown, forged, revoked, expired, or its job deleted —
answers exactly like an unknown one (`share_not_found`, one message), so a holder learns
nothing about links they do not have. Opening links is rate-limited per client address.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from blastdeck.auth import Viewer
from blastdeck.config import Settings
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.rate_limit import RateLimiter
from blastdeck.job_service import JobService
from blastdeck.store.models import Job, utcnow
from blastdeck.store.shares import ShareInfo, ShareStore

MAX_DAYS = 3650  # a link lives at most ten years
MAX_SHARE_ID_CHARS = 16
NOT_FOUND_MESSAGE = "No such share link (it may have been revoked or have expired)."


@dataclass(frozen=True)
class OpenShare:
    """What a link's holder may read: this one job, as `viewer`."""

    share: ShareInfo
    job: Job
    viewer: Viewer


def share_not_found() -> BlastDeckError:
    return BlastDeckError(ErrorCode.SHARE_NOT_FOUND, NOT_FOUND_MESSAGE)


def expiry(
    expires_at: datetime | None, expires_in_days: int | None, now: datetime
) -> datetime | None:
    """When a new link stops working: at `expires_at`, or `expires_in_days` from now, or never."""
    if expires_at is not None and expires_in_days is not None:
        raise BlastDeckError(
            ErrorCode.INVALID_REQUEST,
            "Give expires_at or expires_in_days, not both.",
            field="expires_at",
        )
    if expires_in_days is not None:
        if not 1 <= expires_in_days <= MAX_DAYS:
            raise BlastDeckError(
                ErrorCode.INVALID_REQUEST,
                f"expires_in_days must be from 1 to {MAX_DAYS}.",
                field="expires_in_days",
            )
        return now + timedelta(days=expires_in_days)
    if expires_at is None:
        return None
    if expires_at.tzinfo is None:
        raise BlastDeckError(
            ErrorCode.INVALID_REQUEST,
            "expires_at needs a time zone (e.g. 2027-01-31T12:00:00Z).",
            field="expires_at",
        )
    at = expires_at.astimezone(UTC)
    if at <= now:
        raise BlastDeckError(
            ErrorCode.INVALID_REQUEST, "expires_at is in the past.", field="expires_at"
        )
    if at > now + timedelta(days=MAX_DAYS):
        raise BlastDeckError(
            ErrorCode.INVALID_REQUEST,
            f"expires_at is more than {MAX_DAYS} days away.",
            field="expires_at",
        )
    return at


class ShareService:
    def __init__(self, settings: Settings, shares: ShareStore, jobs: JobService) -> None:
        self._shares = shares
        self._jobs = jobs
        self._rate = RateLimiter(settings.share_rate_per_minute, settings.share_burst)
        self._settings = settings

    def create(
        self,
        job_id: str,
        viewer: Viewer,
        expires_at: datetime | None = None,
        expires_in_days: int | None = None,
    ) -> tuple[ShareInfo, str]:
        """A new link to the viewer's job (any state: the holder sees it as it runs)."""
        job = self._jobs.get(job_id, viewer)
        until = expiry(expires_at, expires_in_days, utcnow())
        return self._shares.create(job.id, viewer.user_id, until)

    def of_job(self, job_id: str, viewer: Viewer) -> list[ShareInfo]:
        return self._shares.of_job(self._jobs.get(job_id, viewer).id)

    def revoke(self, job_id: str, share_id: str, viewer: Viewer) -> ShareInfo:
        job = self._jobs.get(job_id, viewer)
        found = self._shares.revoke(job.id, share_id) if len(share_id) <= 16 else None
        if found is None:
            raise BlastDeckError(
                ErrorCode.SHARE_NOT_FOUND,
                f"Job {job.id} has no share {share_id[:16]!r}; GET its /shares lists them.",
            )
        return found

    def open(self, token: str, client: str) -> OpenShare:
        """The job a link opens, and the viewer its holder reads it as; every failure is the
        same `share_not_found`. Rate-limited per `client` (its address)."""
        self._check_rate(client)
        share = self._shares.resolve(token)
        if share is None:
            raise share_not_found()
        try:
            job = self._jobs.get(share.job_id)
        except BlastDeckError:  # deleted meanwhile (its shares go with it)
            raise share_not_found() from None
        # The owner's view of that one job; the routes under /api/shared/{token} only ever
        # name share.job_id, so no other job is reachable however this viewer is scoped.
        return OpenShare(share, job, Viewer(user_id=job.owner_id, is_admin=False))

    def _check_rate(self, client: str) -> None:
        wait_s = self._rate.take(client, time.monotonic())
        if wait_s is not None:
            seconds = max(1, math.ceil(wait_s))
            raise BlastDeckError(
                ErrorCode.RATE_LIMITED,
                f"Too many share link requests: at most {self._settings.share_burst} at once and "
                f"{self._settings.share_rate_per_minute:g} a minute; try again in {seconds} s.",
                detail={"retry_after_s": str(seconds)},
            )
