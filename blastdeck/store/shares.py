"""Share links: read-only links to one job. The token (secrets.token_urlsafe(32): 256 random
bits) is shown once; only its SHA-256 hash is kept, as for API tokens (store/users.py)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from blastdeck.store.models import JobShare, utcnow

MAX_TOKEN_CHARS = 128  # ours are 43; anything much longer is not one


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ShareInfo:
    """A share as its job's owner sees it (never its token)."""

    id: str
    job_id: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


def _info(row: JobShare) -> ShareInfo:
    return ShareInfo(row.id, row.job_id, row.created_at, row.expires_at, row.revoked_at)


class ShareStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def create(
        self, job_id: str, created_by: str | None, expires_at: datetime | None
    ) -> tuple[ShareInfo, str]:
        """A new share of the job and its token (the only time the token exists in clear)."""
        share_id, token = secrets.token_hex(6), secrets.token_urlsafe(32)
        row = JobShare(
            id=share_id,
            job_id=job_id,
            token_sha256=token_hash(token),
            created_by=created_by,
            created_at=utcnow(),
            expires_at=expires_at,
        )
        with self._sessions.begin() as s:
            s.add(row)
            s.flush()
            info = _info(row)
        return info, token

    def of_job(self, job_id: str) -> list[ShareInfo]:
        """Every share of the job, revoked and expired ones too, oldest first."""
        with self._sessions() as s:
            rows = s.scalars(
                select(JobShare).where(JobShare.job_id == job_id).order_by(JobShare.created_at)
            ).all()
            return [_info(r) for r in rows]

    def revoke(self, job_id: str, share_id: str) -> ShareInfo | None:
        """Revoke one share of the job (again: no change); None when the job has no such one."""
        with self._sessions.begin() as s:
            s.execute(
                update(JobShare)
                .where(
                    JobShare.id == share_id,
                    JobShare.job_id == job_id,
                    JobShare.revoked_at.is_(None),
                )
                .values(revoked_at=utcnow())
            )
            row = s.scalar(
                select(JobShare).where(JobShare.id == share_id, JobShare.job_id == job_id)
            )
            return _info(row) if row is not None else None

    def resolve(self, token: str) -> ShareInfo | None:
        """The active share the token opens; None for an unknown, forged, revoked or expired
        one (the caller answers all of them alike)."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            return None
        with self._sessions() as s:
            row = s.scalar(select(JobShare).where(JobShare.token_sha256 == token_hash(token)))
            info = _info(row) if row is not None else None
        return info if info is not None and info.active(utcnow()) else None
