"""One watcher per process for every open job stream: it reads a changed job once and fans the
new state out to all the streams watching it.

What tells it a job changed:
- in-process: the JobStore's change listener, called after each commit this process makes
  (embedded mode: the pipeline threads run here, so every change is seen at once);
- across processes, on PostgreSQL: LISTEN on the channel the store NOTIFYs in every changing
  transaction (Celery workers, other API processes, a CLI on the same database);
- the fallback: every FALLBACK_CHECK_S, one query reads the `updated_at` of all watched jobs
  and re-reads those that moved. It catches what no notification announced (SQLite shared
  with another process; notifications lost while the LISTEN connection was down).

`updated_at` is the version compared: only changes a reader can see bump it (store/jobs.py),
so lease renewals wake nobody. Streams live on an asyncio loop; the watcher's own work (reads,
LISTEN) runs on two daemon threads, so a slow database never blocks the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import psycopg
from sqlalchemy import Engine

from blastdeck.store.jobs import JOB_CHANGED_CHANNEL, JobStore
from blastdeck.store.models import Job

log = logging.getLogger(__name__)

FALLBACK_CHECK_S = 1.0
LISTEN_RETRY_S = 1.0  # wait before reconnecting a lost LISTEN connection


@dataclass(frozen=True)
class JobSnapshot:
    """What a stream sends: the job's rendered event, or `data=None` once the job is gone."""

    seq: int  # increases with every new state of this job in this process
    version: datetime | None
    data: bytes | None
    ended: bool  # terminal (or gone): nothing more will change


class Subscription:
    """One stream's place in the watcher: the latest snapshot and a wake-up on its loop."""

    def __init__(self, watcher: JobWatcher, job_id: str) -> None:
        self.job_id = job_id
        self._watcher = watcher
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()

    def latest(self) -> JobSnapshot | None:
        return self._watcher.snapshot(self.job_id)

    async def wait(self, timeout_s: float) -> bool:
        """Wait for a new snapshot; False on timeout."""
        try:
            await asyncio.wait_for(self._wake.wait(), timeout_s)
        except TimeoutError:
            return False
        self._wake.clear()
        return True

    def close(self) -> None:
        self._watcher.unsubscribe(self)


class _Watched:
    __slots__ = ("snapshot", "subscriptions")

    def __init__(self) -> None:
        self.subscriptions: set[Subscription] = set()
        self.snapshot: JobSnapshot | None = None


class JobWatcher:
    def __init__(
        self,
        jobs: JobStore,
        render: Callable[[Job], tuple[bytes, bool]],
        listen_engine: Engine | None = None,
        fallback_s: float = FALLBACK_CHECK_S,
    ) -> None:
        """`render(job)` gives the event a stream sends and whether the job has ended;
        `listen_engine` (PostgreSQL) is where to LISTEN for other processes' changes."""
        self._jobs, self._render, self._fallback_s = jobs, render, fallback_s
        self._listen_engine = listen_engine
        self._lock = threading.Lock()
        self._watched: dict[str, _Watched] = {}
        self._dirty: set[str] = set()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._seq = 0
        self._threads: list[threading.Thread] = []
        self.listen_connection_pid: int | None = None  # the LISTEN backend (tests kill it)
        jobs.add_change_listener(self.changed)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._start_thread(self._refresh_loop, "blastdeck-job-watcher")
        if self._listen_engine is not None:
            self._start_thread(self._listen_loop, "blastdeck-job-listen")

    def _start_thread(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, daemon=True, name=name)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    # -- streams -----------------------------------------------------------------------------

    def subscribe(self, job_id: str) -> Subscription:
        """Watch `job_id` from the running loop; its first snapshot comes from the cache or
        from one read by the watcher (never one per stream)."""
        subscription = Subscription(self, job_id)
        with self._lock:
            watched = self._watched.setdefault(job_id, _Watched())
            watched.subscriptions.add(subscription)
            if watched.snapshot is None:
                self._dirty.add(job_id)
                self._wake.set()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            watched = self._watched.get(subscription.job_id)
            if watched is None:
                return
            watched.subscriptions.discard(subscription)
            if not watched.subscriptions:
                del self._watched[subscription.job_id]

    def snapshot(self, job_id: str) -> JobSnapshot | None:
        with self._lock:
            watched = self._watched.get(job_id)
            return watched.snapshot if watched else None

    def watched_count(self) -> tuple[int, int]:
        """(jobs, streams) being watched."""
        with self._lock:
            return len(self._watched), sum(len(w.subscriptions) for w in self._watched.values())

    # -- changes -----------------------------------------------------------------------------

    def changed(self, job_id: str) -> None:
        """A job changed (thread-safe, cheap): re-read it if anyone watches it."""
        with self._lock:
            if job_id not in self._watched:
                return
            self._dirty.add(job_id)
        self._wake.set()

    def _mark_all_dirty(self) -> None:
        with self._lock:
            self._dirty.update(self._watched)
        self._wake.set()

    def _refresh_loop(self) -> None:
        next_check = time.monotonic() + self._fallback_s
        while not self._stop.is_set():
            self._wake.wait(max(0.0, next_check - time.monotonic()))
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + self._fallback_s
                    self._check_versions()
                with self._lock:
                    dirty, self._dirty = self._dirty, set()
                for job_id in dirty:
                    self._refresh(job_id)
            except Exception:  # the database may be briefly away: retry at the next period
                log.exception("job watcher refresh failed")
                time.sleep(min(self._fallback_s, 1.0))

    def _check_versions(self) -> None:
        """The fallback: one query for every watched job."""
        with self._lock:
            known = {
                job_id: (w.snapshot.version if w.snapshot else None)
                for job_id, w in self._watched.items()
            }
        if not known:
            return
        versions = self._jobs.changed_at_many(list(known))
        moved = [job_id for job_id, seen in known.items() if versions.get(job_id) != seen]
        if moved:
            with self._lock:
                self._dirty.update(moved)

    def _refresh(self, job_id: str) -> None:
        with self._lock:
            watched = self._watched.get(job_id)
            previous = watched.snapshot if watched else None
        if watched is None:
            return
        job = self._jobs.get(job_id)
        if job is None:
            version, data, ended = None, None, True
        else:
            if previous is not None and previous.version == job.updated_at:
                return  # a notification of a change already sent (or of no visible change)
            version = job.updated_at
            data, ended = self._render(job)
        if previous is not None and previous.data == data and previous.ended == ended:
            return
        with self._lock:
            self._seq += 1
            watched.snapshot = JobSnapshot(self._seq, version, data, ended)
            subscriptions = list(watched.subscriptions)
        self._fan_out(subscriptions)

    @staticmethod
    def _fan_out(subscriptions: list[Subscription]) -> None:
        """Wake every subscription: one call into each event loop, whatever their number."""
        by_loop: dict[asyncio.AbstractEventLoop, list[Subscription]] = {}
        for subscription in subscriptions:
            by_loop.setdefault(subscription._loop, []).append(subscription)
        for loop, group in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop closed: its streams are gone
                loop.call_soon_threadsafe(_wake_all, group)

    # -- PostgreSQL LISTEN -------------------------------------------------------------------

    def _listen_loop(self) -> None:
        assert self._listen_engine is not None
        url = self._listen_engine.url.set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
                    conn.execute(f"LISTEN {JOB_CHANGED_CHANNEL}")
                    self.listen_connection_pid = conn.info.backend_pid
                    # Changes made while no connection listened were not announced to us.
                    self._mark_all_dirty()
                    while not self._stop.is_set():
                        for notice in conn.notifies(timeout=1.0):
                            self.changed(notice.payload)
            except psycopg.Error as exc:
                log.warning("job watcher lost its LISTEN connection (%s); reconnecting", exc)
            self.listen_connection_pid = None
            self._stop.wait(LISTEN_RETRY_S)


def _wake_all(subscriptions: list[Subscription]) -> None:
    for subscription in subscriptions:
        subscription._wake.set()
