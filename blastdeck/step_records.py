"""A job's step transitions as the pipeline makes them, written together when they come fast.

The steps before the submit (preparing, warming up, configuring, staging) usually take a few
milliseconds each, and a transaction per transition cost about as much again (~10 ms a job).
So their transitions wait here: they are written with the next one that cannot wait (the
submit's start when its work leaves the process, SLURM's sbatch; else the running step's,
which the local engine's submit start waits for too), by a timer once a
step has run for `WRITE_AFTER_S` (a database being staged or a huge query set being split
shows as running within that time), or with how the run stops (a failure or a cancel, in
its own transaction: on a full disk, the one that finds room). The export's start and the
running step's end wait too: a small job's export takes a few milliseconds and ends with its
completion, which writes them in its own transaction.
Each transition keeps its own time. A reader only misses steps too short to watch; a process
that dies meanwhile, or a run that ends otherwise (its lease lost, the database gone: it
`take`s them away), leaves them as they were, and a resumed walk runs them again (they are
idempotent, as for any step whose end was not written).
"""

from __future__ import annotations

import logging
import threading

from blastdeck.domain.pipeline_model import Step
from blastdeck.store.job_steps import StepEnd, StepStart
from blastdeck.store.jobs import JobStore

log = logging.getLogger(__name__)

WRITE_AFTER_S = 0.05
# A timer's write that failed (a locked database, a short outage) is tried again, waiting
# twice as long each time, up to this many times (~6 s in all); after that what waits is
# written with the step's next transition, as any failed write is.
RETRY_WRITES = 6
# Steps whose start may wait: nothing they do is seen outside this process (the export's end
# is the job's completion, which takes what waits: `take`).
DEFERRABLE = frozenset(
    {Step.PREPARING, Step.WARMING_UP, Step.CONFIGURING, Step.STAGING_DB, Step.EXPORTING_RESULTS}
)


class StepRecords:
    def __init__(self, jobs: JobStore, job_id: str) -> None:
        self._jobs, self.job_id = jobs, job_id
        self._pending: list[StepStart] = []
        self._mutex = threading.Lock()
        self._timer: threading.Timer | None = None
        self._refused = False  # a start was refused: a cancel was requested

    def start(self, step: Step, ended: StepEnd | None, defer: bool = False) -> bool:
        """Record a step's start after the previous step's end; False when a cancel was
        requested (seen now, or when a waiting start was written). `defer`: let it wait as a
        quick step's does (a submit that stays in this process)."""
        with self._mutex:
            if self._refused:
                return False
            self._pending.append(StepStart(step, ended))
            if defer or step in DEFERRABLE:
                if self._timer is None:
                    self._arm(WRITE_AFTER_S)
                return True
        return self.write()

    def _arm(self, after_s: float, tries_left: int = RETRY_WRITES) -> None:
        self._timer = threading.Timer(after_s, self._write_on_timer, (after_s, tries_left))
        self._timer.daemon = True
        self._timer.start()

    def _write_on_timer(self, after_s: float, tries_left: int) -> None:
        """The timer's write; one that fails is tried again (with a longer wait) rather than
        left for the step's next transition, which for a long submit or staging is its end:
        meanwhile the job would show the step before."""
        try:
            self.write()
        except Exception:
            with self._mutex:
                waiting = self._timer is None and bool(self._pending) and not self._refused
                retry = waiting and tries_left > 0
                if retry:
                    self._arm(after_s * 2, tries_left - 1)
            then = "retrying" if retry else "left for the step's next transition"
            log.warning("writing job %s's step transitions failed; %s", self.job_id, then)

    def end(self, ended: StepEnd) -> None:
        """A step's end with no start after it."""
        with self._mutex:
            self._pending.append(StepStart(None, ended))
        self.write()

    def take(self) -> list[StepStart]:
        """What waits, for the caller to write in its own transaction (the job's completion)."""
        with self._mutex:
            self._stop_timer()
            pending, self._pending = self._pending, []
            return pending

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def write(self) -> bool:
        """Write what waits, in one transaction; False once a start was refused."""
        with self._mutex:
            self._stop_timer()
            pending, self._pending = self._pending, []
            try:
                if pending and not self._jobs.record_transitions(self.job_id, pending):
                    self._refused = True
            except Exception:  # kept for the next write (a database outage, say)
                self._pending[:0] = pending
                raise
            return not self._refused
