"""The worker side of distributed mode: the Celery app that holds BlastDeck's tasks, and the
maintenance every worker runs on its own.

A worker process (`blastdeck worker`, Celery prefork) runs `Pipeline.run` for each
`blastdeck.run_job(job_id)` message and, when the job must wait for its submit slot, re-enqueues
it with a countdown (no worker slot held, no retry budget spent). Messages are acknowledged late,
one prefetched at a time.

Recovery needs no `beat`: the main process of every worker runs the reconcile every
`reconcile_interval_s` and the retention purge every `purge_interval_s`, each by one worker of
the deployment per period (a Redis key taken with SET NX and an expiry, `redis_keys.py`). So a
job whose worker died (its lease expired) or whose message was lost (Redis restarted, the API
died mid-submit) is picked up within `lease_s + reconcile_interval_s`. `blastdeck beat` still
sends the same tasks for those who run it.

The main process of every worker also sends the notifications outbox (`notification_loop`).
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable
from typing import Any

import redis
from celery import Celery
from celery.signals import worker_ready, worker_shutdown

from blastdeck.config import Settings, load_settings
from blastdeck.executors.celery import PURGE_TASK, RECONCILE_TASK, RUN_JOB_TASK, celery_conf
from blastdeck.interpreter import settle_long_running_process
from blastdeck.notification_delivery import DeliveryLoop
from blastdeck.notifications import Notifications
from blastdeck.pipeline import RetryAfter
from blastdeck.redis_keys import maintenance_key
from blastdeck.runtime import Runtime, metrics_observations
from blastdeck.store.database import make_engine, make_session_factory
from blastdeck.store.jobs import JobStore
from blastdeck.store.notifications import NotificationStore

log = logging.getLogger(__name__)

celery_app = Celery("blastdeck")
_settings: Settings | None = None
_runtime: Runtime | None = None
_runtime_pid: int | None = None
_maintenance: Maintenance | None = None


def configure(settings: Settings) -> Celery:
    """Point the worker's (and beat's) Celery app, which holds the tasks, at the broker."""
    global _settings
    _settings = settings
    celery_app.conf.update(celery_conf(settings))
    return celery_app


def worker_runtime() -> Runtime:
    """One runtime per worker process, made after the fork (no shared DB connections)."""
    global _runtime, _runtime_pid
    if _runtime is None or _runtime_pid != os.getpid():
        _runtime = Runtime(_settings or load_settings())
        _runtime_pid = os.getpid()
        settle_long_running_process()  # this process runs jobs for hours: interpreter.py
    return _runtime


@celery_app.task(name=RUN_JOB_TASK)
def run_job(job_id: str) -> None:
    runtime = worker_runtime()
    outcome = runtime.pipeline.run(job_id)
    if isinstance(outcome, RetryAfter):
        runtime.executor.enqueue(job_id, outcome.seconds)


@celery_app.task(name=RECONCILE_TASK)
def reconcile() -> int:
    return worker_runtime().reconcile()


@celery_app.task(name=PURGE_TASK)
def purge() -> int:
    return worker_runtime().retention.purge_expired()


class Maintenance:
    """Runs the reconcile and the purge periodically from a worker's main process.

    Each run uses a runtime of its own, made for the run and closed after it, so the pool's
    children (forked from this process at any time, e.g. to replace one that died) never
    inherit an open database or broker connection of it.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._stop = threading.Event()
        self._redis = redis.Redis.from_url(
            settings.broker_url or "",
            socket_timeout=settings.redis_socket_timeout_s,
            socket_connect_timeout=settings.redis_socket_timeout_s,
        )
        self._tasks: list[tuple[str, float, Callable[[Runtime], Any]]] = [
            ("reconcile", settings.reconcile_interval_s, Runtime.reconcile),
            ("purge", settings.purge_interval_s, lambda rt: rt.retention.purge_expired()),
        ]
        self._thread = threading.Thread(target=self._loop, daemon=True, name="blastdeck-maint")
        self._deliveries: DeliveryLoop | None = None

    def start(self) -> None:
        self._thread.start()
        self._deliveries = notification_loop(self._settings)
        self._deliveries.start()

    def stop(self) -> None:
        self._stop.set()
        if self._deliveries is not None:
            self._deliveries.stop()

    def _loop(self) -> None:
        step = min(interval for _, interval, _ in self._tasks) / 2
        due = dict.fromkeys((name for name, _, _ in self._tasks), 0.0)
        clock = 0.0
        while not self._stop.wait(step if clock else 0):
            clock += step
            for name, interval, task in self._tasks:
                if clock >= due[name]:
                    due[name] = clock + interval
                    self.run_once(name, interval, task)

    def run_once(self, name: str, interval_s: float, task: Callable[[Runtime], Any]) -> bool:
        """Run `task` if no other worker of the deployment has this period; True if it ran."""
        key = maintenance_key(self._settings.queue, name)
        try:
            # Not released after the run: the key's expiry is the period, so the deployment
            # runs the task about once per period however many workers it has.
            taken = self._redis.set(key, uuid.uuid4().hex, nx=True, px=int(interval_s * 900))
        except redis.RedisError as exc:
            log.warning("maintenance %s skipped: Redis is not answering (%s)", name, exc)
            return False
        if not taken:
            return False
        runtime = Runtime(self._settings)
        try:
            result = task(runtime)
            if result:
                log.warning("maintenance %s: %s job(s)", name, result)
        except Exception:
            log.exception("maintenance %s failed", name)
        finally:
            runtime.stop()
        return True


def notification_loop(settings: Settings) -> DeliveryLoop:
    """The notifications outbox sent from a worker's main process: every worker runs one (each
    delivery is claimed with a lease, so none is sent twice). Its database connections are not
    handed to the pool's children forked later (disposed there without closing them)."""
    engine = make_engine(settings.sqlalchemy_url)
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    sessions = make_session_factory(engine)
    notifications = Notifications(settings, NotificationStore(sessions))
    observations = metrics_observations(settings)  # Redis: the server's /metrics reads them
    return DeliveryLoop(settings, notifications, JobStore(sessions), observations)


@worker_ready.connect
def _start_maintenance(**_: Any) -> None:
    global _maintenance
    if _settings is not None and _maintenance is None:
        _maintenance = Maintenance(_settings)
        _maintenance.start()


@worker_shutdown.connect
def _stop_maintenance(**_: Any) -> None:
    if _maintenance is not None:
        _maintenance.stop()
