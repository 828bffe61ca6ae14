"""Writing a job's step rows and events inside a `JobStore` transaction.

A step's end (completed, or skipped) is a value, `StepEnd`, taken when the step's work is done.
The pipeline hands it to the next step's start (`JobStore.start_step(..., ended=)`) or to the
job's completion, which write both in one transaction: each transition costs one commit, not
two, and a reader never sees a job between two steps. Its time is when the step ended, not
when it was written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from blastdeck.domain.errors import ErrorCode
from blastdeck.domain.pipeline_model import Phase, Step, StepStatus
from blastdeck.store.models import Job, JobEvent, JobStep, utcnow


@dataclass(frozen=True)
class StepEnd:
    """How a step ended: completed with a message, or skipped for a reason."""

    step: Step
    message: str = ""
    skipped: bool = False
    at: datetime = field(default_factory=utcnow)


def ms_between(start: datetime | None, end: datetime) -> int | None:
    return None if start is None else max(0, int((end - start).total_seconds() * 1000))


def record_step_end(s: Session, job_id: str, ended: StepEnd) -> None:
    """The step's row and its event, and the job's change time."""
    row = s.get(JobStep, (job_id, ended.step.value))
    if ended.skipped:
        row.status, row.skip_reason = StepStatus.SKIPPED.value, ended.message
        row.started_at = row.started_at or ended.at
        kind = "step_skipped"
    else:
        row.status = StepStatus.COMPLETED.value
        kind = "step_completed"
    row.completed_at, row.duration_ms = ended.at, ms_between(row.started_at, ended.at)
    s.execute(update(Job).where(Job.id == job_id).values(updated_at=utcnow()))
    message = ended.message or f"{ended.step.value} completed"
    add_event(s, job_id, kind, None, ended.step, message, at=ended.at)


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
