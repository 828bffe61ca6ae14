"""Storing an imported job (job_import.py): its row, its steps as the import did them, and
their events, in one transaction, so the job appears completed or not at all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from blastdeck.domain.pipeline_model import STEPS, JobSource, Phase, Step, StepStatus
from blastdeck.domain.wording import hits_and_hsps
from blastdeck.store.database import compress_fast
from blastdeck.store.jobs import JobStore
from blastdeck.store.models import Job, JobEvent, JobQuery, JobStep
from blastdeck.store.new_job import NewJob


@dataclass(frozen=True)
class StepRecord:
    """One step as the import did it: completed (with its message) or skipped (with why)."""

    step: Step
    status: StepStatus
    started_at: datetime
    completed_at: datetime
    message: str


def create_imported(
    jobs: JobStore,
    job_id: str,
    new: NewJob,
    steps: list[StepRecord],
    hsps_total: int,
    hits_total: int,
    created_message: str,
) -> Job:
    """Store a completed imported job (its files are already in place under `job_id`)."""
    by_step = {record.step: record for record in steps}
    finished = steps[-1].completed_at
    job = Job(
        id=job_id,
        phase=Phase.COMPLETED.value,
        source=JobSource.IMPORTED.value,
        hsps_total=hsps_total,
        hits_total=hits_total,
        created_at=steps[0].started_at,
        finished_at=finished,
        **new.row_fields(),
    )
    job.steps = []
    for position, step in enumerate(STEPS):
        record = by_step[step]
        skipped = record.status is StepStatus.SKIPPED
        job.steps.append(
            JobStep(
                key=step.value,
                position=position,
                status=record.status.value,
                started_at=record.started_at,
                completed_at=record.completed_at,
                duration_ms=_ms(record.started_at, record.completed_at),
                skip_reason=record.message if skipped else None,
            )
        )
    # The store's one transaction that announces a change (in and out of process).
    with jobs._changing(job_id) as s:
        compress_fast(s)
        s.add(job)
        s.flush()
        s.add(JobQuery(job_id=job_id, fasta=new.query_fasta))
        s.add(_event(job_id, "created", Phase.QUEUED, None, created_message, job.created_at))
        for record in steps:
            if record.step is Step.COMPLETED:
                continue
            if record.status is StepStatus.SKIPPED:
                s.add(_event(job_id, "step_skipped", None, record.step, record.message,
                             record.completed_at))  # fmt: skip
                continue
            s.add(_event(job_id, "step_started", Phase(record.step.value), record.step,
                         f"{record.step.value} started", record.started_at))  # fmt: skip
            s.add(_event(job_id, "step_completed", None, record.step, record.message,
                         record.completed_at))  # fmt: skip
        done = f"job completed with {hits_and_hsps(hits_total, hsps_total)}"
        s.add(_event(job_id, "completed", Phase.COMPLETED, Step.COMPLETED, done, finished))
    return jobs.get(job_id)  # type: ignore[return-value]


def _ms(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds() * 1000))


def _event(
    job_id: str, kind: str, phase: Phase | None, step: Step | None, message: str, at: datetime
) -> JobEvent:
    return JobEvent(
        job_id=job_id,
        at=at,
        kind=kind,
        phase=phase.value if phase else None,
        step=step.value if step else None,
        message=message,
    )
