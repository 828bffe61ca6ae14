"""What an executor does: run `Pipeline.run(job_id)` somewhere, and again when it asks to wait."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Scheduled:
    """Jobs an executor will run without being asked again."""

    queued: set[str] = field(default_factory=set)  # waiting for a runner
    # Handed to a runner that has not finished with them (Celery: delivered, unacknowledged).
    # If that runner died, they stay held until the broker's visibility timeout.
    held: set[str] = field(default_factory=set)


class Executor(Protocol):
    def start(self) -> None: ...

    def enqueue(self, job_id: str, delay_s: float = 0.0) -> None:
        """Schedule a job's pipeline; a job already scheduled is not scheduled twice."""

    def scheduled(self) -> Scheduled:
        """Jobs waiting to be run (so a reconcile does not schedule them again)."""

    def shutdown(self) -> None: ...
