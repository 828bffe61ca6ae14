"""The notification outbox and users' default targets.

A job's end (its `completed`, `failed` or `cancelled` event, written by `JobStore`) adds one
outbox row per target that asked for that event, in the same transaction: `install_outbox`
hooks the session factory so every session that ends a job writes them (the store of jobs
needs no change, and no process can end a job without them). A delivery loop then claims a due
row with a lease in one conditional UPDATE (as `JobStore.claim_and_get` takes a job's run
lease), sends it and records the outcome; a row whose sender died is claimed again once its
lease expires.
A transaction that added rows tells the outbox's listeners once it has committed
(`NotificationStore.add_outbox_listener`: this process's delivery loop looks at once, and
only then, not at every change of every job).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import delete, event, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from blastdeck.store.models import Job, JobEvent, NotificationDefaults, NotificationDelivery, utcnow

_END_EVENTS = ("completed", "failed", "cancelled")
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
_LISTENERS = "_blastdeck_outbox_listeners"  # on the session factory: called after such a commit
_ADDED = "blastdeck_outbox_added"  # in a session's info: its transaction added outbox rows


def install_outbox(sessions: sessionmaker[Session]) -> None:
    """Make every session of `sessions` write a job's outbox rows with the event ending it,
    and tell the outbox's listeners once such a transaction has committed."""
    if hasattr(sessions, _LISTENERS):
        return
    listeners: list[Callable[[], None]] = []
    setattr(sessions, _LISTENERS, listeners)
    event.listen(sessions, "before_flush", _add_outbox_rows)
    event.listen(sessions, "after_commit", partial(_tell_listeners, listeners))
    event.listen(sessions, "after_rollback", lambda session: session.info.pop(_ADDED, None))


def _tell_listeners(listeners: list[Callable[[], None]], session: Session) -> None:
    if session.info.pop(_ADDED, False):
        for listener in listeners:
            listener()


def _add_outbox_rows(session: Session, _context: object, _instances: object) -> None:
    ends = [o for o in session.new if isinstance(o, JobEvent) and o.kind in _END_EVENTS]
    if not ends:
        return
    now = utcnow()
    with session.no_autoflush:
        for end in ends:
            targets = session.scalar(select(Job.notify).where(Job.id == end.job_id))
            for target in targets or ():
                if end.kind not in target.get("on", _END_EVENTS):
                    continue
                session.info[_ADDED] = True
                session.add(
                    NotificationDelivery(
                        id=uuid.uuid4().hex,
                        job_id=end.job_id,
                        event=end.kind,
                        kind=target["type"],
                        target=target,
                        status=PENDING,
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )


@dataclass(frozen=True)
class Delivery:
    """One outbox row as a sender or a reader sees it."""

    id: str
    job_id: str
    event: str
    kind: str
    target: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


def _delivery(row: NotificationDelivery) -> Delivery:
    return Delivery(
        row.id,
        row.job_id,
        row.event,
        row.kind,
        dict(row.target),
        row.status,
        row.attempts,
        row.next_attempt_at,
        row.last_error,
        row.created_at,
        row.delivered_at,
    )


class NotificationStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        install_outbox(sessions)
        self._sessions = sessions

    def add_outbox_listener(self, listener: Callable[[], None]) -> None:
        """Call `listener()` after each commit of this process that added outbox rows (from
        the committing thread: keep it short and thread-safe)."""
        getattr(self._sessions, _LISTENERS).append(listener)

    # -- the outbox ---------------------------------------------------------------------------

    def of_job(self, job_id: str) -> list[Delivery]:
        with self._sessions() as s:
            rows = s.scalars(
                select(NotificationDelivery)
                .where(NotificationDelivery.job_id == job_id)
                .order_by(NotificationDelivery.created_at, NotificationDelivery.id)
            )
            return [_delivery(r) for r in rows]

    def claim_due(self, owner: str, lease_s: float, limit: int = 20) -> list[Delivery]:
        """Take up to `limit` due deliveries for `owner` until `lease_s` from now. Each is
        taken by one conditional UPDATE, so two loops never hold the same one."""
        now = utcnow()
        free = or_(
            NotificationDelivery.lease_owner.is_(None), NotificationDelivery.lease_expires_at < now
        )
        due = (NotificationDelivery.status == PENDING, NotificationDelivery.next_attempt_at <= now)
        with self._sessions() as s:
            ids = list(
                s.scalars(
                    select(NotificationDelivery.id)
                    .where(*due, free)
                    .order_by(NotificationDelivery.next_attempt_at)
                    .limit(limit)
                )
            )
        taken: list[Delivery] = []
        for delivery_id in ids:
            with self._sessions.begin() as s:
                won = s.execute(
                    update(NotificationDelivery)
                    .where(NotificationDelivery.id == delivery_id, *due, free)
                    .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_s))
                ).rowcount
                if won:
                    taken.append(_delivery(s.get(NotificationDelivery, delivery_id)))
        return taken

    def clear_leases(self) -> None:
        """Embedded mode owns its database alone: leases left by an earlier process are void."""
        with self._sessions.begin() as s:
            s.execute(
                update(NotificationDelivery)
                .where(NotificationDelivery.lease_owner.is_not(None))
                .values(lease_owner=None, lease_expires_at=None)
            )

    def next_due_in(self) -> float | None:
        """Seconds until the earliest pending delivery is due (0 if one is); None: none."""
        with self._sessions() as s:
            first = s.scalar(
                select(NotificationDelivery.next_attempt_at)
                .where(NotificationDelivery.status == PENDING)
                .order_by(NotificationDelivery.next_attempt_at)
                .limit(1)
            )
        return None if first is None else max(0.0, (first - utcnow()).total_seconds())

    def delivered(self, delivery_id: str, owner: str) -> None:
        self._finish(delivery_id, owner, status=DELIVERED, delivered_at=utcnow(), last_error=None)

    def attempt_failed(
        self, delivery_id: str, owner: str, error: str, retry_in_s: float | None
    ) -> None:
        """Record a failed try: due again in `retry_in_s`, or failed for good when None."""
        values: dict[str, Any] = {"last_error": error[:2000]}
        if retry_in_s is None:
            values["status"] = FAILED
        else:
            values["next_attempt_at"] = utcnow() + timedelta(seconds=retry_in_s)
        self._finish(delivery_id, owner, **values)

    def _finish(self, delivery_id: str, owner: str, **values: Any) -> None:
        # Only while the lease is ours: a sender that outlived its lease records nothing.
        with self._sessions.begin() as s:
            s.execute(
                update(NotificationDelivery)
                .where(
                    NotificationDelivery.id == delivery_id,
                    NotificationDelivery.lease_owner == owner,
                )
                .values(
                    attempts=NotificationDelivery.attempts + 1,
                    lease_owner=None,
                    lease_expires_at=None,
                    **values,
                )
            )

    def purge_ended_before(self, cutoff: datetime) -> int:
        """Delete delivered and failed rows created before `cutoff` (the retention)."""
        with self._sessions.begin() as s:
            return s.execute(
                delete(NotificationDelivery).where(
                    NotificationDelivery.status != PENDING, NotificationDelivery.created_at < cutoff
                )
            ).rowcount

    # -- users' defaults ----------------------------------------------------------------------

    def defaults(self, user_key: str) -> list[dict[str, Any]]:
        with self._sessions() as s:
            row = s.get(NotificationDefaults, user_key)
            return list(row.targets) if row is not None else []

    def set_defaults(self, user_key: str, targets: list[dict[str, Any]]) -> None:
        with self._sessions.begin() as s:
            row = s.get(NotificationDefaults, user_key)
            if row is None:
                s.add(NotificationDefaults(user_key=user_key, targets=targets, updated_at=utcnow()))
            else:
                row.targets, row.updated_at = targets, utcnow()
