"""A job's observations for `GET /metrics` (`metrics.py`), made by the process that runs it.

The pipeline tells it two things: the submit slot was taken (how long the job waited for it),
and the job ended (completed, failed or cancelled). At the end the job's steps are read once
and each completed or skipped step's recorded duration observed, so the figures are the ones
the job page shows, whichever process (or restart) ran each step.
"""

from __future__ import annotations

import contextlib

from blastdeck.domain.pipeline_model import StepStatus
from blastdeck.engines.base import JobContext, JobResults
from blastdeck.metrics import BLAST_CPU, STEP_DURATION, SUBMIT_LOCK_WAIT, Observations
from blastdeck.store.jobs import JobStore

_DONE = (StepStatus.COMPLETED.value, StepStatus.SKIPPED.value)


class JobMetrics:
    def __init__(self, jobs: JobStore, observations: Observations | None) -> None:
        self._jobs = jobs
        self.observations = observations  # None: metrics are off, nothing is recorded

    def slot_taken(self, ctx: JobContext, waited_s: float) -> None:
        if self.observations is not None:
            labels = {"cluster": ctx.cluster.name, "namespace": ctx.namespace}
            self.observations.observe(SUBMIT_LOCK_WAIT, labels, max(waited_s, 0.0))

    def job_ended(self, job_id: str, ctx: JobContext | None, results: JobResults | None) -> None:
        if self.observations is None:
            return
        job = self._jobs.get(job_id)
        if job is None:
            return
        where = {"cluster": job.cluster, "namespace": job.namespace}
        for step in job.steps:
            if step.status in _DONE and step.duration_ms is not None:
                labels = {"step": step.key, **where}
                self.observations.observe(STEP_DURATION, labels, step.duration_ms / 1000)
        cpu_s = _cpu_seconds(results) if ctx is not None and results is not None else 0.0
        if cpu_s > 0:
            self.observations.add(BLAST_CPU, {**where, "program": job.program}, cpu_s)


def _cpu_seconds(results: JobResults) -> float:
    total = 0.0
    for batch in results.batches:
        if batch.cpu_file is None:
            continue
        with contextlib.suppress(OSError, ValueError):
            total += float(batch.cpu_file.read_text())
    return total
