"""A job's observations for `GET /metrics` (`metrics.py`) and its usage figures
(`store/usage.py`), made by the process that runs it.

The pipeline tells it two things: the submit slot was taken (how long the job waited for it),
and the job ended (completed, failed or cancelled). At the end the job's steps are read once
and each completed or skipped step's recorded duration observed, so the figures are the ones
the job page shows, whichever process (or restart) ran each step; the same read gives the
usage figures written on the job's row (queue wait, run time, BLAST CPU), which a usage report
reads without joining step rows.
"""

from __future__ import annotations

import contextlib

from blastdeck.domain.pipeline_model import Step, StepStatus
from blastdeck.engines.base import JobContext, JobResults
from blastdeck.metrics import BLAST_CPU, STEP_DURATION, SUBMIT_LOCK_WAIT, Observations
from blastdeck.store.jobs import JobStore
from blastdeck.store.models import Job
from blastdeck.store.usage import UsageStore

_DONE = (StepStatus.COMPLETED.value, StepStatus.SKIPPED.value)


class JobMetrics:
    def __init__(
        self, jobs: JobStore, observations: Observations | None, usage: UsageStore | None = None
    ) -> None:
        self._jobs = jobs
        self.observations = observations  # None: metrics are off, nothing is observed
        self._usage = usage  # None: no usage figures are written (a pipeline built alone)

    def slot_taken(self, ctx: JobContext, waited_s: float) -> None:
        if self._usage is not None:  # usage reports need it whether or not metrics are on
            self._usage.record_submit_wait(ctx.job_id, round(waited_s * 1000))
        if self.observations is not None:
            labels = {"cluster": ctx.cluster.name, "namespace": ctx.namespace}
            self.observations.observe(SUBMIT_LOCK_WAIT, labels, max(waited_s, 0.0))

    def job_ended(self, job_id: str, ctx: JobContext | None, results: JobResults | None) -> None:
        if self.observations is None and self._usage is None:
            return
        job = self._jobs.get(job_id)
        if job is None:
            return
        cpu_s = _cpu_seconds(results) if ctx is not None and results is not None else None
        if self._usage is not None:
            self._usage.record_end(job_id, _queue_wait_ms(job), _run_ms(job), cpu_s)
        if self.observations is None:
            return
        where = {"cluster": job.cluster, "namespace": job.namespace}
        for step in job.steps:
            if step.status in _DONE and step.duration_ms is not None:
                labels = {"step": step.key, **where}
                self.observations.observe(STEP_DURATION, labels, step.duration_ms / 1000)
        if cpu_s:
            self.observations.add(BLAST_CPU, {**where, "program": job.program}, cpu_s)


def _queue_wait_ms(job: Job) -> int | None:
    """From the submit to its first step's start (the executor picking it up)."""
    first = next((s for s in job.steps if s.key == Step.PREPARING.value), None)
    if first is None or first.started_at is None:
        return None
    return max(0, round((first.started_at - job.created_at).total_seconds() * 1000))


def _run_ms(job: Job) -> int | None:
    """The `running` step's recorded duration, when BLAST finished."""
    run = next((s for s in job.steps if s.key == Step.RUNNING.value), None)
    completed = run is not None and run.status == StepStatus.COMPLETED.value
    return run.duration_ms if completed else None


def _cpu_seconds(results: JobResults) -> float | None:
    """BLAST's CPU seconds over the batches that recorded them; None when none did (SLURM's
    batches do not yet), so a usage report counts it as unknown rather than as no CPU."""
    total, known = 0.0, False
    for batch in results.batches:
        if batch.cpu_file is None:
            continue
        with contextlib.suppress(OSError, ValueError):
            total += float(batch.cpu_file.read_text())
            known = True
    return total if known else None
