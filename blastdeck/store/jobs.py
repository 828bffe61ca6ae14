"""Job persistence: every phase change, step transition and event goes through here.

Each method is one short transaction, so the API always reads a consistent job while a
pipeline thread or worker process writes it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Text, bindparam, cast, delete, func, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from blastdeck.domain.errors import ErrorCode
from blastdeck.domain.pipeline_model import (
    STEPS,
    TERMINAL_PHASES,
    JobStatus,
    Phase,
    Step,
    StepStatus,
    phases_with_status,
)
from blastdeck.domain.wording import hits_and_hsps
from blastdeck.store import job_lease
from blastdeck.store.database import compress_fast, notify
from blastdeck.store.disk_full import is_disk_full
from blastdeck.store.job_steps import (
    StepEnd,
    StepStart,
    add_event,
    ms_between,
    record_transitions,
)
from blastdeck.store.maintenance import MaintenanceLog
from blastdeck.store.models import (
    JOB_TABLE,
    STEP_TABLE,
    Job,
    JobEvent,
    JobQuery,
    JobStep,
    LegacyHsp,
    utcnow,
)
from blastdeck.store.new_job import NewJob

_NOTHING_IN_FLIGHT = (Phase.QUEUED, Phase.WAITING_FOR_SUBMIT_SLOT, Phase.PAUSED)
_TERMINAL = [p.value for p in TERMINAL_PHASES]
# PostgreSQL NOTIFY channel carrying the id of every job that changed (sent at commit, by
# whichever process made the change): what the API's job watcher LISTENs to.
JOB_CHANGED_CHANNEL = "blastdeck_job_changed"

log = logging.getLogger(__name__)

# Built once with bound parameters (`job_lease.py` says why): a run reads it before its first step.
_JOB_WITH_STEPS = select(Job).options(selectinload(Job.steps)).where(Job.id == bindparam("job_id"))


class JobStore(MaintenanceLog):
    """Jobs in the database. A *change* is what a job's reader can see (phase, steps,
    progress, results, cancel): it bumps `updated_at`, is announced on PostgreSQL's
    JOB_CHANGED_CHANNEL in the same transaction, and is told to this process's change
    listeners after the commit. Bookkeeping no reader sees (the run lease and its renewals,
    attempts, the engine handle, notes) leaves `updated_at` alone, so watchers never wake
    for it."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._listeners: list[Callable[[str], None]] = []

    def add_change_listener(self, listener: Callable[[str], None]) -> None:
        """Call `listener(job_id)` after every committed change this process makes (from the
        committing thread: keep it short and thread-safe)."""
        self._listeners.append(listener)

    @contextmanager
    def _changing(self, job_id: str) -> Iterator[Session]:
        """One transaction that changes `job_id`: announced on commit, in and out of process."""
        with self._sessions.begin() as s:
            yield s
            notify(s, JOB_CHANGED_CHANNEL, job_id)
        self._announce(job_id)

    def _announce(self, job_id: str) -> None:
        for listener in self._listeners:
            try:
                listener(job_id)
            except Exception:  # a watcher's failure must never fail a job's transition
                log.exception("job change listener failed")

    # -- reading -----------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        with self._sessions() as s:
            return s.scalar(_JOB_WITH_STEPS, {"job_id": job_id})

    def list(
        self,
        *,
        status: JobStatus | None = None,
        owner_id: str | None = None,
        search: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Job], int]:
        """A page of jobs, newest first; only `owner_id`'s when given. `search` matches the
        title, id, program or any of its databases (case-insensitive substring)."""
        query = select(Job)
        if owner_id is not None:
            query = query.where(Job.owner_id == owner_id)
        if status is not None:
            query = query.where(Job.phase.in_([p.value for p in phases_with_status(status)]))
        if search:
            pattern = f"%{_escape_like(search.lower())}%"
            query = query.where(
                or_(
                    *(
                        func.lower(column).like(pattern, escape="\\")
                        for column in (Job.title, Job.id, Job.program, Job.database)
                    ),
                    # every database of a job of several (a JSON list, read as its text)
                    func.lower(cast(Job.databases, Text)).like(pattern, escape="\\"),
                )
            )
        with self._sessions() as s:
            total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
            page = query.options(selectinload(Job.steps)).order_by(Job.created_at.desc())
            jobs = list(s.scalars(page.limit(limit).offset(offset)))
        return jobs, total

    def count_unfinished(self, owner_id: str | None) -> tuple[int, int]:
        """(queued, started) unfinished jobs of one owner (of everyone when None)."""
        query = select(Job.phase, func.count()).where(Job.phase.not_in(_TERMINAL))
        if owner_id is not None:
            query = query.where(Job.owner_id == owner_id)
        with self._sessions() as s:
            counts = dict(s.execute(query.group_by(Job.phase)).all())
        queued = counts.pop(Phase.QUEUED.value, 0)
        return queued, sum(counts.values())

    def finished_before(self, cutoff: datetime) -> list[tuple[str, str, datetime]]:
        """(id, title, finished_at) of the jobs that ended before `cutoff`, oldest first: what
        a retention purge removes."""
        with self._sessions() as s:
            query = (
                select(Job.id, Job.title, Job.finished_at)
                .where(Job.phase.in_(_TERMINAL), Job.finished_at < cutoff)
                .order_by(Job.finished_at, Job.id)
            )
            return [(row.id, row.title, row.finished_at) for row in s.execute(query)]

    def events(self, job_id: str, *, after_id: int = 0) -> list[JobEvent]:
        with self._sessions() as s:
            query = select(JobEvent).where(JobEvent.job_id == job_id, JobEvent.id > after_id)
            return list(s.scalars(query.order_by(JobEvent.id)))

    # -- creating and deleting ---------------------------------------------------------------

    def create(self, new: NewJob) -> Job:
        job = Job(id=str(uuid.uuid4()), phase=Phase.QUEUED.value, **new.row_fields())
        job.steps = [
            JobStep(key=step.value, position=i, status=StepStatus.PENDING.value)
            for i, step in enumerate(STEPS)
        ]
        with self._changing(job.id) as s:
            compress_fast(s)
            s.add(job)
            s.flush()
            s.add(JobQuery(job_id=job.id, fasta=new.query_fasta))
            add_event(s, job.id, "created", Phase.QUEUED, message=new.created_message())
            _ = job.owner  # loaded while the session is open: the job is read after it ends
        return job  # as stored (not read again: the submit waits for this before enqueueing)

    def delete(self, job_id: str, make_room: Callable[[], None] | None = None) -> None:
        """Delete the job's rows. On a full disk (which a user frees by deleting jobs),
        `make_room` (removing the job's own files) runs and the delete is tried once more."""
        try:
            self._delete_rows(job_id)
        except OperationalError as exc:
            if make_room is None or not is_disk_full(exc):
                raise
            make_room()
            self._delete_rows(job_id)

    def _delete_rows(self, job_id: str) -> None:
        with self._changing(job_id) as s:
            # Explicit deletes: SQLite only cascades with foreign keys on, PostgreSQL always.
            s.execute(delete(LegacyHsp).where(LegacyHsp.job_id == job_id))
            s.execute(delete(JobEvent).where(JobEvent.job_id == job_id))
            s.execute(delete(JobStep).where(JobStep.job_id == job_id))
            s.execute(delete(JobQuery).where(JobQuery.job_id == job_id))
            s.execute(delete(Job).where(Job.id == job_id))

    def cluster_load(self) -> dict[tuple[str, str], int]:
        """Unfinished jobs per (cluster, namespace): the queue depth each submit slot serves."""
        with self._sessions() as s:
            rows = s.execute(
                select(Job.cluster, Job.namespace, func.count())
                .where(Job.phase.not_in(_TERMINAL))
                .group_by(Job.cluster, Job.namespace)
            ).all()
        return {(cluster, ns): count for cluster, ns, count in rows}

    # -- the run lease: one process runs a job at a time ------------------------------------

    def claim_and_get(
        self,
        job_id: str,
        owner: str,
        lease_s: int,
        pin: Callable[[str], dict[str, Any] | None] | None = None,
    ) -> Job | None:
        """`claim`, and the job as it is once claimed (None: not claimed), in one transaction:
        what a run reads before its first step. A job that has no cluster definition pinned
        yet (its first run) gets `pin(cluster name)` in the same transaction (None: nothing
        to pin, e.g. the cluster is gone), as `ClusterStore.pin_job` would in one of its own;
        the claim's row lock keeps any other writer of the pin out until it commits."""
        with self._sessions.begin() as s:
            if not job_lease.claim(s, job_id, owner, lease_s):
                return None
            job = s.scalar(_JOB_WITH_STEPS, {"job_id": job_id})
            if job is not None and pin is not None and not job.cluster_config:
                record = pin(job.cluster)
                if record is not None:
                    job.cluster_config = record
            return job

    def renew_claim(self, job_id: str, owner: str, lease_s: int) -> bool:
        """Keep the lease `owner` holds (a heartbeat); False when it holds none."""
        with self._sessions.begin() as s:
            return job_lease.renew(s, job_id, owner, lease_s)

    def release_claim(self, job_id: str, owner: str) -> None:
        with self._sessions.begin() as s:
            job_lease.release(s, job_id, owner)

    def clear_claims(self) -> None:
        """Embedded mode owns its database alone: leases left by an earlier process are void."""
        with self._sessions.begin() as s:
            job_lease.clear_all(s)

    def unclaimed_active(self) -> list[Job]:
        """Unfinished jobs that no live process is running: what a reconcile looks at."""
        now = utcnow()
        with self._sessions() as s:
            query = select(Job).where(
                Job.phase.not_in(_TERMINAL),
                or_(Job.lease_owner.is_(None), Job.lease_expires_at < now),
            )
            return list(s.scalars(query.order_by(Job.created_at)))

    # -- transitions ------------------------------------------------------------------------

    def start_step(
        self, job_id: str, step: Step, phase: Phase | None = None, ended: StepEnd | None = None
    ) -> bool:
        """Mark a step running, after recording how the one before it `ended` (in the same
        transaction); False (and the start not written) when a cancel was requested."""
        return self.record_transitions(job_id, [StepStart(step, ended, phase)])

    def record_transitions(self, job_id: str, starts: Sequence[StepStart]) -> bool:
        """Several transitions, in order, in one transaction (`step_records.StepRecords`);
        False when a cancel was requested: the ends are written, the starts from there not."""
        with self._changing(job_id) as s:
            return record_transitions(s, job_id, starts)

    def set_waiting(self, job_id: str, waiting_for: dict[str, Any], message: str) -> bool:
        """Enter (or stay in) waiting_for_submit_slot, or `paused` when `waiting_for` says so;
        False when a cancel was requested. A slot wait after a pause starts its clock anew."""
        now = utcnow()
        paused = waiting_for.get("what") == "paused"
        phase = Phase.PAUSED if paused else Phase.WAITING_FOR_SUBMIT_SLOT
        code = None if paused else ErrorCode.BLAST_SUBMIT_LOCK_BUSY
        with self._changing(job_id) as s:
            job = s.get(Job, job_id)
            if job.cancel_requested or job.phase in _TERMINAL:
                return False
            previous, first_wait = job.waiting_for or {}, job.phase != phase.value
            restart = first_wait and job.phase == Phase.PAUSED.value
            job.phase, job.waiting_for, job.updated_at = phase.value, waiting_for, now
            job.error_code = code.value if code else None
            job.wait_started_at = (None if restart else job.wait_started_at) or now
            # One event per wait (and per change of holder or pause), not one per retry.
            keys = ("holder_job_id", "paused_by", "paused_since", "scope")
            if first_wait or any(waiting_for.get(k) != previous.get(k) for k in keys):
                add_event(s, job_id, "waiting", phase, Step.SUBMITTING, message, code)
        return True

    def set_progress(self, job_id: str, done: int, total: int) -> None:
        with self._changing(job_id) as s:
            s.execute(
                update(JOB_TABLE)
                .where(JOB_TABLE.c.id == job_id)
                .values(batches_done=done, batches_total=total, updated_at=utcnow())
            )

    def set_engine_handle(self, job_id: str, handle: str | None) -> None:
        with self._sessions.begin() as s:
            s.execute(
                update(JOB_TABLE)
                .where(JOB_TABLE.c.id == job_id)
                .values(engine_handle=handle, updated_at=JOB_TABLE.c.updated_at)
            )

    def count_attempt(self, job_id: str) -> int:
        with self._sessions.begin() as s:
            s.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(attempts=Job.attempts + 1, updated_at=Job.updated_at)
            )
            return s.scalar(select(Job.attempts).where(Job.id == job_id)) or 0

    def note(
        self,
        job_id: str,
        kind: str,
        message: str,
        step: Step | None = None,
        code: ErrorCode | None = None,
    ) -> None:
        with self._sessions.begin() as s:
            add_event(s, job_id, kind, None, step, message, code)

    def finish_completed(
        self,
        job_id: str,
        hsps_total: int,
        hits_total: int,
        ended: StepEnd | None = None,
        transitions: Sequence[StepStart] = (),
    ) -> bool:
        """Mark the job completed, after the `transitions` that waited and how its last step
        `ended`; False (and only the ends before a refused start recorded) when a cancel came
        first."""
        now = utcnow()
        last = [StepStart(None, ended)] if ended is not None else []
        with self._changing(job_id) as s:
            requested = s.scalar(
                select(JOB_TABLE.c.cancel_requested)
                .where(JOB_TABLE.c.id == job_id)
                .with_for_update()
            )
            if requested is None:
                return False
            if not record_transitions(s, job_id, [*transitions, *last]) or requested:
                return False
            s.execute(
                update(STEP_TABLE)
                .where(STEP_TABLE.c.job_id == job_id, STEP_TABLE.c.key == Step.COMPLETED.value)
                .values(status=StepStatus.COMPLETED.value, started_at=now, completed_at=now)
                .values(duration_ms=0)
            )
            s.execute(
                update(JOB_TABLE)
                .where(JOB_TABLE.c.id == job_id)
                .values(
                    phase=Phase.COMPLETED.value,
                    error_code=None,
                    error=None,
                    waiting_for=None,
                    hsps_total=hsps_total,
                    hits_total=hits_total,
                    finished_at=now,
                    updated_at=now,
                )
            )
            add_event(
                s,
                job_id,
                "completed",
                Phase.COMPLETED,
                Step.COMPLETED,
                f"job completed with {hits_and_hsps(hits_total, hsps_total)}",
            )
        return True

    def finish_failed(
        self,
        job_id: str,
        code: ErrorCode,
        message: str,
        step: Step | None = None,
        transitions: Sequence[StepStart] = (),
    ) -> None:
        """Fail the job, after the `transitions` that waited: the failing step, and any step
        still running, is marked failed. A job deleted meanwhile has nothing left to fail."""
        now = utcnow()
        with self._changing(job_id) as s:
            if not _exists(s, job_id):
                return
            record_transitions(s, job_id, transitions, stop_at_refusal=False)
            job = s.get(Job, job_id, options=[selectinload(Job.steps)])
            if job is None or job.phase in _TERMINAL:
                return
            for row in job.steps:
                if (
                    row.key == (step.value if step else None)
                    or row.status == StepStatus.RUNNING.value
                ):
                    row.status, row.error = StepStatus.FAILED.value, message
                    row.started_at = row.started_at or now
                    row.completed_at, row.duration_ms = now, ms_between(row.started_at, now)
            job.phase, job.error_code, job.error = Phase.FAILED.value, code.value, message
            job.waiting_for, job.finished_at, job.updated_at = None, now, now
            add_event(s, job_id, "failed", Phase.FAILED, step, message, code)

    def request_cancel(self, job_id: str) -> Phase | None:
        """Ask a job to stop. Jobs with no work in flight end at once; others go `cancelling`.

        Returns the phase the job is now in, or None when it was already terminal.
        """
        now = utcnow()
        with self._changing(job_id) as s:
            job = s.get(Job, job_id, with_for_update=True)
            if job is None or job.phase in _TERMINAL:
                return None
            job.cancel_requested, job.updated_at = True, now
            add_event(s, job_id, "cancel_requested", None, None, "cancel requested")
            if job.phase in _NOTHING_IN_FLIGHT:
                _mark_cancelled(s, job, now)
                return Phase.CANCELLED
            job.phase = Phase.CANCELLING.value
            return Phase.CANCELLING

    def finish_cancelled(self, job_id: str, transitions: Sequence[StepStart] = ()) -> None:
        now = utcnow()
        with self._changing(job_id) as s:
            if not _exists(s, job_id):
                return
            record_transitions(s, job_id, transitions, stop_at_refusal=False)
            job = s.get(Job, job_id, options=[selectinload(Job.steps)])
            if job is not None and job.phase not in _TERMINAL:
                _mark_cancelled(s, job, now)

    def query_fasta(self, job_id: str) -> str | None:
        """The job's queries as submitted (normalized FASTA); None once the job is gone."""
        with self._sessions() as s:
            return s.scalar(select(JobQuery.fasta).where(JobQuery.job_id == job_id))

    def cancel_requested(self, job_id: str) -> bool:
        """Whether a cancel was asked for (True once the job is gone): one column, no steps."""
        with self._sessions() as s:
            requested = s.scalar(
                select(JOB_TABLE.c.cancel_requested).where(JOB_TABLE.c.id == job_id)
            )
        return requested is None or bool(requested)

    def engine_handle(self, job_id: str) -> str | None:
        """The job's engine handle (None before its submit, or once the job is gone)."""
        with self._sessions() as s:
            return s.scalar(select(JOB_TABLE.c.engine_handle).where(JOB_TABLE.c.id == job_id))

    def changed_at_many(self, job_ids: list[str]) -> dict[str, datetime]:
        """When each job last changed (its `updated_at`), in one query; the ones gone are
        absent."""
        found: dict[str, datetime] = {}
        with self._sessions() as s:
            for start in range(0, len(job_ids), 500):  # bounded IN lists
                chunk = job_ids[start : start + 500]
                query = select(Job.id, Job.updated_at).where(Job.id.in_(chunk))
                found.update((row.id, row.updated_at) for row in s.execute(query))
        return found


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _mark_cancelled(s: Session, job: Job, now: datetime) -> None:
    for row in job.steps:
        if row.status == StepStatus.RUNNING.value:  # stopped by request: it did not fail
            row.status, row.error = StepStatus.CANCELLED.value, None
            row.completed_at, row.duration_ms = now, ms_between(row.started_at, now)
    job.phase, job.error_code, job.error = (
        Phase.CANCELLED.value,
        ErrorCode.CANCELLED.value,
        "cancelled by request",
    )
    job.waiting_for, job.finished_at, job.updated_at = None, now, now
    add_event(s, job.id, "cancelled", Phase.CANCELLED, None, "job cancelled", ErrorCode.CANCELLED)


def _exists(s: Session, job_id: str) -> bool:  # not loaded: the UPDATEs after would stale it
    return s.scalar(select(JOB_TABLE.c.id).where(JOB_TABLE.c.id == job_id)) is not None
