"""The distributed executor: Celery workers take jobs from a Redis broker.

The API only enqueues `blastdeck.run_job(job_id)`; a worker process runs `Pipeline.run` and,
when the job must wait for its submit slot, re-enqueues it with a countdown (no worker slot
held, no retry budget spent). Messages are acknowledged late, one prefetched at a time; a job
whose worker died is found by the reconcile (`blastdeck.reconcile`, on worker start and every
`reconcile_interval_s` from `blastdeck beat`) and resumed from its last finished step.
"""

from __future__ import annotations

import logging
import os
import re
from typing import TYPE_CHECKING

import redis
from celery import Celery
from kombu.exceptions import OperationalError as KombuOperationalError

from blastdeck.config import Settings, load_settings
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.pipeline import RetryAfter

if TYPE_CHECKING:
    from blastdeck.runtime import Runtime

log = logging.getLogger(__name__)

RUN_JOB_TASK = "blastdeck.run_job"
RECONCILE_TASK = "blastdeck.reconcile"
PURGE_TASK = "blastdeck.purge"
_JOB_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

celery_app = Celery("blastdeck")
_settings: Settings | None = None
_runtime: Runtime | None = None
_runtime_pid: int | None = None


def _celery_conf(settings: Settings) -> dict[str, object]:
    timeout = settings.redis_socket_timeout_s
    return {
        "broker_url": settings.broker_url,
        "task_default_queue": settings.queue,
        "task_acks_late": True,  # a job's message is gone only once a worker finished with it
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": timeout,
        "broker_transport_options": {
            "visibility_timeout": settings.visibility_timeout_s,
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
        },
        "beat_schedule": {
            "reconcile": {
                "task": RECONCILE_TASK,
                "schedule": settings.reconcile_interval_s,
                "options": {"queue": settings.queue},
            },
            "purge": {
                "task": PURGE_TASK,
                "schedule": settings.purge_interval_s,
                "options": {"queue": settings.queue},
            },
        },
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
    }


def configure(settings: Settings) -> Celery:
    """Point the worker's (and beat's) Celery app, which holds the tasks, at the broker."""
    global _settings
    _settings = settings
    celery_app.conf.update(_celery_conf(settings))
    return celery_app


def make_client(settings: Settings) -> Celery:
    """A Celery app of its own for sending and control: it keeps its own broker connections."""
    app = Celery("blastdeck-client")
    app.conf.update(_celery_conf(settings))
    return app


def worker_runtime() -> Runtime:
    """One runtime per worker process, made after the fork (no shared DB connections)."""
    global _runtime, _runtime_pid
    if _runtime is None or _runtime_pid != os.getpid():
        from blastdeck.runtime import Runtime

        _runtime = Runtime(_settings or load_settings())
        _runtime_pid = os.getpid()
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
    return worker_runtime().service.purge_expired()


class CeleryExecutor:
    def __init__(self, settings: Settings) -> None:
        self._app = make_client(settings)
        self._queue = settings.queue
        self._broker = redis.Redis.from_url(
            settings.broker_url or "",
            socket_timeout=settings.redis_socket_timeout_s,
            socket_connect_timeout=settings.redis_socket_timeout_s,
            decode_responses=True,
        )

    def start(self) -> None:
        pass

    def enqueue(self, job_id: str, delay_s: float = 0.0) -> None:
        try:
            self._app.send_task(
                RUN_JOB_TASK,
                args=[job_id],
                countdown=delay_s or None,
                queue=self._queue,
                retry=False,
            )
        except (KombuOperationalError, redis.RedisError, OSError) as exc:
            raise BlastDeckError(
                ErrorCode.BROKER_UNAVAILABLE,
                f"The job queue (broker) is not answering: {exc}. Job {job_id} is kept and will be"
                " queued by the next reconcile.",
                detail={"job_id": job_id},
            ) from exc

    def queued_job_ids(self) -> set[str]:
        """Jobs with a message in the broker: waiting in the queue or held by a worker."""
        keys = [self._queue, *(f"{self._queue}\x06\x16{p}" for p in (3, 6, 9))]
        pipe = self._broker.pipeline()
        for key in keys:
            pipe.lrange(key, 0, -1)
        pipe.hvals("unacked")
        found: set[str] = set()
        for messages in pipe.execute():
            for raw in messages:
                found.update(_JOB_ID.findall(raw))
        return found

    def ping(self) -> bool:
        try:
            return bool(self._broker.ping())
        except redis.RedisError:
            return False

    def shutdown(self) -> None:
        self._broker.close()
        self._app.close()
