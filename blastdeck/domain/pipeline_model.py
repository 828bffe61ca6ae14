"""The job pipeline as data: steps, phases, statuses and the polling cadence.

This is the contract the API, the CLI, the web page and the tests share (ARCHITECTURE.md).
"""

from __future__ import annotations

from enum import StrEnum


class Step(StrEnum):
    PREPARING = "preparing"
    WARMING_UP = "warming_up"
    CONFIGURING = "configuring"
    STAGING_DB = "staging_db"
    SUBMITTING = "submitting"
    RUNNING = "running"
    EXPORTING_RESULTS = "exporting_results"
    COMPLETED = "completed"


STEPS: tuple[Step, ...] = tuple(Step)

STEP_LABELS: dict[Step, str] = {
    Step.PREPARING: "Prepare",
    Step.WARMING_UP: "Warmup Check",
    Step.CONFIGURING: "Configure",
    Step.STAGING_DB: "Stage DB",
    Step.SUBMITTING: "Submit",
    Step.RUNNING: "BLAST Run",
    Step.EXPORTING_RESULTS: "Export",
    Step.COMPLETED: "Complete",
}


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCELLED = "cancelled"  # the step that was running when the job was cancelled


DONE_STEP_STATUSES = frozenset({StepStatus.COMPLETED, StepStatus.SKIPPED})


class Phase(StrEnum):
    QUEUED = "queued"
    PREPARING = "preparing"
    WARMING_UP = "warming_up"
    CONFIGURING = "configuring"
    STAGING_DB = "staging_db"
    SUBMITTING = "submitting"
    WAITING_FOR_SUBMIT_SLOT = "waiting_for_submit_slot"
    # its cluster (or namespace) is paused by an admin: it waits before taking the submit slot
    PAUSED = "paused"
    RUNNING = "running"
    EXPORTING_RESULTS = "exporting_results"
    CANCELLING = "cancelling"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobStatus(StrEnum):
    """The coarse status a list filter uses; always derived from the phase."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobSource(StrEnum):
    """Where a job's results come from."""

    SEARCH = "search"  # BLAST ran here, through the steps
    IMPORTED = "imported"  # a BLAST result made elsewhere, imported (no BLAST run here)


TERMINAL_PHASES = frozenset({Phase.COMPLETED, Phase.FAILED, Phase.CANCELLED})
# A job in one of these waits before taking its cluster's submit slot: nothing is in flight.
SUBMIT_WAIT_PHASES = frozenset({Phase.WAITING_FOR_SUBMIT_SLOT, Phase.PAUSED})

FAST_POLL_PHASES = frozenset(
    {
        Phase.QUEUED,
        Phase.PREPARING,
        Phase.WARMING_UP,
        Phase.CONFIGURING,
        Phase.STAGING_DB,
        Phase.SUBMITTING,
        Phase.WAITING_FOR_SUBMIT_SLOT,
        Phase.PAUSED,
    }
)
STEADY_POLL_PHASES = frozenset({Phase.RUNNING, Phase.EXPORTING_RESULTS, Phase.CANCELLING})

FAST_POLL_INTERVAL_MS = 1000
STEADY_POLL_INTERVAL_MS = 3000


def poll_after_ms(phase: Phase | None) -> int | None:
    """How long a client should wait before asking again; None once the job is terminal."""
    if phase is None or phase in FAST_POLL_PHASES:
        return FAST_POLL_INTERVAL_MS
    if phase in TERMINAL_PHASES:
        return None
    return STEADY_POLL_INTERVAL_MS


def is_terminal(phase: Phase) -> bool:
    return phase in TERMINAL_PHASES


def status_of(phase: Phase) -> JobStatus:
    if phase is Phase.QUEUED:
        return JobStatus.QUEUED
    if phase in TERMINAL_PHASES:
        return JobStatus(phase.value)
    return JobStatus.RUNNING


def phases_with_status(status: JobStatus) -> frozenset[Phase]:
    return frozenset(p for p in Phase if status_of(p) is status)


def step_of_phase(phase: Phase) -> Step | None:
    """The step a phase belongs to; the wait for a submit slot (or for a paused cluster to be
    resumed) is part of submitting."""
    if phase in SUBMIT_WAIT_PHASES:
        return Step.SUBMITTING
    try:
        return Step(phase.value)
    except ValueError:
        return None
