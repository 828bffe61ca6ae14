"""What an executor does: run `Pipeline.run(job_id)` somewhere, and again when it asks to wait."""

from __future__ import annotations

from typing import Protocol


class Executor(Protocol):
    def start(self) -> None: ...

    def enqueue(self, job_id: str, delay_s: float = 0.0) -> None:
        """Schedule a job's pipeline; a job already scheduled is not scheduled twice."""

    def queued_job_ids(self) -> set[str]:
        """Jobs waiting to be run (so a reconcile does not schedule them again)."""

    def shutdown(self) -> None: ...
