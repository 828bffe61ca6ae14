"""The retention purge: jobs that ended more than `retention_days` ago are deleted whole (rows,
HSPs, files), by the embedded server's timer, a worker's maintenance loop, or `blastdeck gc`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from blastdeck.config import Settings
from blastdeck.store.jobs import JobStore
from blastdeck.store.models import utcnow


@dataclass(frozen=True)
class ExpiredJob:
    """A finished job past the retention: what a purge deletes."""

    id: str
    title: str
    finished_at: datetime


class JobRetention:
    def __init__(self, settings: Settings, jobs: JobStore, delete: Callable[[str], None]) -> None:
        self._settings = settings
        self._jobs = jobs
        self._delete = delete  # JobService.delete: a job's rows, HSPs and files

    def expired_jobs(self) -> list[ExpiredJob]:
        """The jobs a retention purge would delete now, oldest first; none with retention 0
        (`blastdeck gc --dry-run`)."""
        if not self._settings.retention_days:
            return []
        return [ExpiredJob(*row) for row in self._jobs.finished_before(self._cutoff())]

    def purge_expired(self) -> int:
        """Delete every job that ended more than `retention_days` ago, completely (rows, HSPs,
        files), and record the purge. Returns how many were deleted."""
        if not self._settings.retention_days:
            return 0
        cutoff = self._cutoff()
        expired = [job_id for job_id, _, _ in self._jobs.finished_before(cutoff)]
        for job_id in expired:
            self._delete(job_id)
        if expired:
            self._jobs.record_maintenance(
                "retention_purge",
                f"deleted {len(expired)} job(s) that ended before {cutoff.isoformat()}",
                {"job_ids": expired, "retention_days": self._settings.retention_days},
            )
        return len(expired)

    def _cutoff(self) -> datetime:
        return utcnow() - timedelta(days=self._settings.retention_days)
