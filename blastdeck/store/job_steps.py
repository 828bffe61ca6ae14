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

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from blastdeck.domain.errors import ErrorCode
from blastdeck.domain.pipeline_model import TERMINAL_PHASES, Phase, Step, StepStatus
from blastdeck.store.models import EVENT_TABLE, JOB_TABLE, STEP_TABLE, JobEvent, utcnow

# The step rows' statements, built once with bound parameters (each transition of a job runs
# them: building them took longer than running them, `store/job_lease.py` says how much).
_STEP_COLUMNS = ("status", "started_at", "completed_at", "duration_ms", "skip_reason")
_READ_STEPS = select(STEP_TABLE.c.key, *(STEP_TABLE.c[c] for c in _STEP_COLUMNS)).where(
    STEP_TABLE.c.job_id == bindparam("job_id"),
    STEP_TABLE.c.key.in_(bindparam("keys", expanding=True)),
)
_WRITE_STEP = (
    update(STEP_TABLE)
    .where(
        STEP_TABLE.c.job_id == bindparam("step_job_id"), STEP_TABLE.c.key == bindparam("step_key")
    )
    .values({c: bindparam(f"new_{c}") for c in _STEP_COLUMNS})
)


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


def ms_between(start: datetime | None, end: datetime) -> int | None:
    return None if start is None else max(0, int((end - start).total_seconds() * 1000))


def record_transitions(
    s: Session, job_id: str, transitions: Sequence[StepStart], stop_at_refusal: bool = True
) -> bool:
    """Write `transitions` in order, each one's end and then its start, in a few statements
    whatever their number (`step_records.py` hands several at once): one conditional UPDATE of
    the job (its phase: the last start's), one read and one UPDATE of the step rows touched,
    one INSERT of their events. A step resumed while running keeps its start.

    False when the starts are refused (a cancel was requested, or the job ended): then only
    the ends up to the first start are written, or with `stop_at_refusal` off (the job is
    ending anyway) every end."""
    starts = [t for t in transitions if t.step is not None]
    job: dict[str, object] = {"updated_at": utcnow()}
    for t in transitions:
        if t.ended is not None and t.ended.progress is not None:
            job["batches_done"], job["batches_total"] = t.ended.progress
        if t.ended is not None and t.ended.engine_handle is not None:
            job["engine_handle"] = t.ended.engine_handle
    where = [JOB_TABLE.c.id == job_id]
    if starts:
        last = starts[-1]
        phase = last.phase or Phase(last.step.value)  # type: ignore[union-attr]
        where += [
            JOB_TABLE.c.cancel_requested.is_(False),
            JOB_TABLE.c.phase.not_in([p.value for p in TERMINAL_PHASES]),
        ]
        moved = s.execute(
            update(JOB_TABLE)
            .where(*where)
            .values(phase=phase.value, waiting_for=None, error_code=None, **job)
        ).rowcount
        if not moved:  # no start; the ends as asked
            first = transitions.index(starts[0])
            kept = transitions if not stop_at_refusal else transitions[: first + 1]
            transitions = [StepStart(None, t.ended) for t in kept]
            record_transitions(s, job_id, transitions)
            return False
    else:
        s.execute(update(JOB_TABLE).where(*where).values(**job))
    _write_steps(s, job_id, transitions)
    return True


def _write_steps(s: Session, job_id: str, transitions: Sequence[StepStart]) -> None:
    """The step rows and events of `transitions`, replayed on the rows as stored."""
    keys = {t.ended.step.value for t in transitions if t.ended is not None}
    keys |= {t.step.value for t in transitions if t.step is not None}
    if not keys:
        return
    found = s.execute(_READ_STEPS, {"job_id": job_id, "keys": sorted(keys)})
    rows = {r.key: dict(zip(_STEP_COLUMNS, r[1:], strict=True)) for r in found}
    events: list[dict[str, object]] = []

    def event(kind: str, phase: Phase | None, step: Step, message: str, at: datetime) -> None:
        events.append(
            {"job_id": job_id, "at": at, "kind": kind, "phase": phase.value if phase else None}
            | {"step": step.value, "error_code": None, "message": message}
        )

    for t in transitions:
        if t.ended is not None:
            row, ended = rows[t.ended.step.value], t.ended
            if ended.skipped:
                row.update(status=StepStatus.SKIPPED.value, skip_reason=ended.message)
                row["started_at"], kind = row["started_at"] or ended.at, "step_skipped"
            else:
                row["status"], kind = StepStatus.COMPLETED.value, "step_completed"
            row["completed_at"] = ended.at
            row["duration_ms"] = ms_between(row["started_at"], ended.at)  # type: ignore[arg-type]
            message = ended.message or f"{ended.step.value} completed"
            event(kind, None, ended.step, message, ended.at)
        if t.step is not None and rows[t.step.value]["status"] != StepStatus.RUNNING.value:
            rows[t.step.value].update(
                status=StepStatus.RUNNING.value, started_at=t.at, completed_at=None
            )
            rows[t.step.value]["duration_ms"] = None
            phase = t.phase or Phase(t.step.value)
            event("step_started", phase, t.step, f"{t.step.value} started", t.at)
    s.execute(
        _WRITE_STEP,
        [
            {"step_job_id": job_id, "step_key": k} | {f"new_{c}": v for c, v in row.items()}
            for k, row in rows.items()
        ],
    )
    if events:
        s.execute(insert(EVENT_TABLE), events)


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
