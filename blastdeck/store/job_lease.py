"""A job's run lease, inside a `JobStore` transaction: one process runs a job at a time.

A run takes the lease (a conditional UPDATE: free, its own, or expired), renews it while it
runs (`lease_heartbeat.py`) and gives it back when it stops. None of this is a change a reader
sees: `updated_at` stays as it was, so no watcher wakes for a renewal.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, or_, update
from sqlalchemy.orm import Session

from blastdeck.domain.pipeline_model import TERMINAL_PHASES
from blastdeck.store.models import JOB_TABLE, utcnow

# Built once with bound parameters: it runs before every job's first step and at every
# renewal, and building it (its clauses and cache key) took 3-4 times as long as running it
# on SQLite.
_CLAIM = (
    update(JOB_TABLE)
    .where(
        JOB_TABLE.c.id == bindparam("job_id"),
        JOB_TABLE.c.phase.not_in([p.value for p in TERMINAL_PHASES]),
        or_(
            JOB_TABLE.c.lease_owner.is_(None),
            JOB_TABLE.c.lease_owner == bindparam("owner"),
            JOB_TABLE.c.lease_expires_at < bindparam("now"),
        ),
    )
    .values(
        lease_owner=bindparam("owner"),
        lease_expires_at=bindparam("expires"),
        updated_at=JOB_TABLE.c.updated_at,
    )
)
# A renewal keeps the lease its run holds and never takes one: a heartbeat whose write was
# still in flight when its run gave the lease back (a busy database) must not take it again
# for a run that has ended, or the job's next run would find it held and leave the job be.
_RENEW = (
    update(JOB_TABLE)
    .where(
        JOB_TABLE.c.id == bindparam("job_id"),
        JOB_TABLE.c.phase.not_in([p.value for p in TERMINAL_PHASES]),
        JOB_TABLE.c.lease_owner == bindparam("owner"),
    )
    .values(lease_expires_at=bindparam("expires"), updated_at=JOB_TABLE.c.updated_at)
)
_RELEASE = (
    update(JOB_TABLE)
    .where(JOB_TABLE.c.id == bindparam("job_id"), JOB_TABLE.c.lease_owner == bindparam("owner"))
    .values(lease_owner=None, lease_expires_at=None, updated_at=JOB_TABLE.c.updated_at)
)


def claim(s: Session, job_id: str, owner: str, lease_s: int) -> bool:
    """Take (or renew) the lease for `lease_s`; False while another live process holds it."""
    now = utcnow()
    params = {"job_id": job_id, "owner": owner, "now": now}
    return bool(s.execute(_CLAIM, params | {"expires": now + timedelta(seconds=lease_s)}).rowcount)


def renew(s: Session, job_id: str, owner: str, lease_s: int) -> bool:
    """Extend the lease `owner` holds by `lease_s`; False when it holds none (given back, or
    taken over after it expired)."""
    expires = utcnow() + timedelta(seconds=lease_s)
    params = {"job_id": job_id, "owner": owner, "expires": expires}
    return bool(s.execute(_RENEW, params).rowcount)


def release(s: Session, job_id: str, owner: str) -> None:
    s.execute(_RELEASE, {"job_id": job_id, "owner": owner})


def clear_all(s: Session) -> None:
    """Every job's lease void (embedded mode, at start: it owns its database alone)."""
    s.execute(
        update(JOB_TABLE)
        .where(JOB_TABLE.c.lease_owner.is_not(None))
        .values(lease_owner=None, lease_expires_at=None, updated_at=JOB_TABLE.c.updated_at)
    )
