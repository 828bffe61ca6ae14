"""The embedded executor: a thread pool in the server process runs N jobs at once.

A job waiting for its submit slot holds no thread: it is re-scheduled by a timer, the same way
the Celery executor re-enqueues with a countdown.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from blastdeck.executors.base import Scheduled
from blastdeck.pipeline import Outcome, RetryAfter

log = logging.getLogger(__name__)


class InlineExecutor:
    def __init__(self, run: Callable[[str], Outcome], workers: int) -> None:
        self._run = run
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._mutex = threading.Lock()
        self._scheduled: set[str] = set()
        self._timers: dict[str, threading.Timer] = {}
        self._stopping = False

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="blastdeck-job")

    def enqueue(self, job_id: str, delay_s: float = 0.0) -> None:
        with self._mutex:
            if self._stopping or job_id in self._scheduled:
                return
            self._scheduled.add(job_id)
            if delay_s > 0:
                timer = threading.Timer(delay_s, self._submit, args=(job_id,))
                timer.daemon = True
                self._timers[job_id] = timer
                timer.start()
                return
        self._submit(job_id)

    def _submit(self, job_id: str) -> None:
        with self._mutex:
            self._timers.pop(job_id, None)
            if self._stopping or self._pool is None:
                return
            self._pool.submit(self._execute, job_id)

    def _execute(self, job_id: str) -> None:
        outcome: Outcome | None = None
        try:
            outcome = self._run(job_id)
        except Exception:  # the pipeline records its own failures; this is a last resort
            log.exception("pipeline crashed for job %s", job_id)
        finally:
            with self._mutex:
                self._scheduled.discard(job_id)
        if isinstance(outcome, RetryAfter):
            self.enqueue(job_id, outcome.seconds)

    def scheduled(self) -> Scheduled:
        with self._mutex:
            return Scheduled(queued=set(self._scheduled))

    def shutdown(self) -> None:
        with self._mutex:
            self._stopping = True
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
