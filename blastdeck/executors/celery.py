"""The distributed executor: jobs go to Celery workers through a Redis broker.

`serve` only enqueues `blastdeck.run_job(job_id)` with this executor (a Celery client app of its
own); the worker side (the app that holds the tasks, and the periodic maintenance) is
`blastdeck/worker.py`. Nothing here imports the runtime.
"""

from __future__ import annotations

import re

import redis
from celery import Celery
from kombu.exceptions import OperationalError as KombuOperationalError

from blastdeck.config import Settings
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.executors.base import Scheduled
from blastdeck.redis_keys import BROKER_UNACKED_HASH, broker_queue_lists

RUN_JOB_TASK = "blastdeck.run_job"
RECONCILE_TASK = "blastdeck.reconcile"
PURGE_TASK = "blastdeck.purge"
_JOB_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def celery_conf(settings: Settings) -> dict[str, object]:
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


def make_client(settings: Settings) -> Celery:
    """A Celery app of its own for sending and control: it keeps its own broker connections."""
    app = Celery("blastdeck-client")
    app.conf.update(celery_conf(settings))
    return app


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

    def scheduled(self) -> Scheduled:
        """Jobs with a message in the broker: waiting in the queue, or held (delivered to a
        worker, not yet acknowledged: running, or waiting there for its countdown)."""
        pipe = self._broker.pipeline()
        for key in broker_queue_lists(self._queue):
            pipe.lrange(key, 0, -1)
        pipe.hvals(BROKER_UNACKED_HASH)
        *lists, held = pipe.execute()
        return Scheduled(
            queued={job for messages in lists for raw in messages for job in _JOB_ID.findall(raw)},
            held={job for raw in held for job in _JOB_ID.findall(raw)},
        )

    def ping(self) -> bool:
        try:
            return bool(self._broker.ping())
        except redis.RedisError:
            return False

    def shutdown(self) -> None:
        self._broker.close()
        self._app.close()
