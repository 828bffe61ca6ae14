"""Writing a job's step rows and events inside a `JobStore` transaction.

A step's end (completed, or skipped) is a value, `StepEnd`, taken when the step's work is done.
The pipeline hands it to the next step's start (`JobStore.start_step(..., ended=)`, or several
transitions at once: `record_transitions`) or to the job's completion, which write both in one
transaction: a reader never sees a job between two steps. Its time is when the step ended, not
when it was written.

The step writes are Core statements on the tables, not the ORM: its bulk UPDATE (which
synchronizes the session) and loading each step's row cost ~3 ms a transition, the statements
alone ~1 ms, some ten times per job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from blastdeck.domain.errors import ErrorCode
from blastdeck.domain.pipeline_model import TERMINAL_PHASES, Phase, Step, StepStatus
from blastdeck.store.models import Job, JobEvent, JobStep, utcnow


@dataclass(frozen=True)
class StepEnd:
    """How a step ended: completed with a message, or skipped for a reason; `progress`, the
    job's batch count (done, total) when the step's end is what set it last; `engine_handle`,
    the job's handle on its cluster when the step (the submit) made it."""

    step: Step
    message: str = ""
    skipped: bool = False
    at: datetime = field(default_factory=utcnow)
    progress: tuple[int, int] | None = None
    engine_handle: str | None = None


@dataclass(frozen=True)
class StepStart:
    """A step's start (None: only `ended` to write), with how the step before it `ended`."""

    step: Step | None
    ended: StepEnd | None = None
    phase: Phase | None = None  # the job's phase while it runs (the step's own by default)
    at: datetime = field(default_factory=utcnow)


JOB_TABLE, STEP_TABLE, EVENT_TABLE = Job.__table__, JobStep.__table__, JobEvent.__table__


def ms_between(start: datetime | None, end: datetime) -> int | None:
    return None if start is None else max(0, int((end - start).total_seconds() * 1000))


def record_step_end(s: Session, job_id: str, ended: StepEnd) -> None:
    """The step's row and its event, and the job's change time (and progress)."""
    row = (STEP_TABLE.c.job_id == job_id) & (STEP_TABLE.c.key == ended.step.value)
    started = s.execute(select(STEP_TABLE.c.started_at).where(row)).scalar()
    values: dict[str, object] = {"completed_at": ended.at}
    if ended.skipped:
        started = started or ended.at
        values.update(status=StepStatus.SKIPPED.value, skip_reason=ended.message)
        values["started_at"], kind = started, "step_skipped"
    else:
        values["status"], kind = StepStatus.COMPLETED.value, "step_completed"
    values["duration_ms"] = ms_between(started, ended.at)
    s.execute(update(STEP_TABLE).where(row).values(values))
    job: dict[str, object] = {"updated_at": utcnow()}
    if ended.progress is not None:
        job["batches_done"], job["batches_total"] = ended.progress
    if ended.engine_handle is not None:
        job["engine_handle"] = ended.engine_handle
    s.execute(update(JOB_TABLE).where(JOB_TABLE.c.id == job_id).values(job))
    message = ended.message or f"{ended.step.value} completed"
    step_event(s, job_id, kind, None, ended.step, message, at=ended.at)


def record_step_start(s: Session, job_id: str, start: StepStart) -> bool:
    """The job in the step's phase and the step running (a step resumed while running keeps
    its start); False, and nothing written, when a cancel was requested or the job ended."""
    assert start.step is not None
    step, phase = start.step, start.phase or Phase(start.step.value)
    moved = s.execute(
        update(JOB_TABLE)
        .where(
            JOB_TABLE.c.id == job_id,
            JOB_TABLE.c.cancel_requested.is_(False),
            JOB_TABLE.c.phase.not_in([p.value for p in TERMINAL_PHASES]),
        )
        .values(phase=phase.value, waiting_for=None, error_code=None, updated_at=utcnow())
    ).rowcount
    if not moved:
        return False
    running = StepStatus.RUNNING.value
    started = s.execute(
        update(STEP_TABLE)
        .where(
            STEP_TABLE.c.job_id == job_id,
            STEP_TABLE.c.key == step.value,
            STEP_TABLE.c.status != running,
        )
        .values(status=running, started_at=start.at, completed_at=None, duration_ms=None)
    ).rowcount
    if started:
        step_event(s, job_id, "step_started", phase, step, f"{step.value} started", start.at)
    return True


def step_event(
    s: Session,
    job_id: str,
    kind: str,
    phase: Phase | None,
    step: Step,
    message: str,
    at: datetime | None = None,
) -> None:
    """A step's event, inserted at once. Not for a job's end (completed, failed, cancelled):
    those go through `add_event`, whose row the notification outbox (`store/notifications`)
    sees at flush; they are the last event of their transaction, so the order is kept."""
    s.execute(
        insert(EVENT_TABLE).values(
            job_id=job_id,
            at=at or utcnow(),
            kind=kind,
            phase=phase.value if phase else None,
            step=step.value,
            error_code=None,
            message=message,
        )
    )


def add_event(
    s: Session,
    job_id: str,
    kind: str,
    phase: Phase | None,
    step: Step | None = None,
    message: str = "",
    code: ErrorCode | None = None,
    at: datetime | None = None,
) -> None:
    phase_, step_, code_ = (x.value if x else None for x in (phase, step, code))
    event = JobEvent(
        job_id=job_id, kind=kind, phase=phase_, step=step_, error_code=code_, message=message
    )
    if at is not None:
        event.at = at
    s.add(event)


def record_transitions(
    s: Session, job_id: str, starts: Sequence[StepStart], stop_at_refusal: bool = True
) -> bool:
    """Write `starts` in order, each one's end and then its start (`step_records.py`). False
    at the first start refused (a cancel was requested); with `stop_at_refusal` off (the job
    is ending anyway), the ends after it are written still."""
    refused = False
    for start in starts:
        if start.ended is not None:
            record_step_end(s, job_id, start.ended)
        if start.step is not None and not record_step_start(s, job_id, start):
            refused = True
            if stop_at_refusal:
                return False
    return not refused
