"""Wires one BlastDeck instance together: settings, storage, catalogs, lock, pipeline, executor.

Embedded (default): SQLite or PostgreSQL, the in-process lock and a thread-pool executor, all in
`blastdeck serve`. Distributed (a broker URL is set): the Redis lock and Celery; `serve` only
enqueues, `blastdeck worker` processes run the pipeline (`worker.py`). Nothing here imports the
worker module: the runtime is what a worker process builds, not the other way round.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.exc import OperationalError

from blastdeck.accounts import AccountService
from blastdeck.build_progress import BuildProgressRegistry
from blastdeck.clusters import ClusterRegistry
from blastdeck.config import Settings
from blastdeck.database_removal import DatabaseRemoval
from blastdeck.database_visibility import DatabaseVisibility
from blastdeck.databases import DatabaseCatalog
from blastdeck.domain.errors import BlastDeckError
from blastdeck.domain.pipeline_model import Phase
from blastdeck.executors.base import Executor
from blastdeck.executors.inline import InlineExecutor
from blastdeck.job_import import ImportService
from blastdeck.job_metrics import JobMetrics
from blastdeck.job_retention import JobRetention
from blastdeck.job_service import JobService
from blastdeck.locks import InProcessSubmitLock, RedisSubmitLock, SubmitLock
from blastdeck.metrics import Observations, make_observations
from blastdeck.notification_delivery import DeliveryLoop
from blastdeck.notifications import Notifications
from blastdeck.pipeline import Pipeline
from blastdeck.sharing import ShareService
from blastdeck.store.audit import AuditLog
from blastdeck.store.catalog import ClusterStore, DatabaseStore
from blastdeck.store.database import (
    MigrationError,
    keep_sqlite_files_open,
    make_engine,
    make_session_factory,
    migrate,
)
from blastdeck.store.jobs import JobStore
from blastdeck.store.legacy_hsps import LegacyHspStore
from blastdeck.store.models import utcnow
from blastdeck.store.notifications import NotificationStore
from blastdeck.store.shares import ShareStore
from blastdeck.store.usage import UsageStore
from blastdeck.store.users import UserStore
from blastdeck.taxonomy import for_settings as taxonomy_for_settings

log = logging.getLogger(__name__)

_WAITING_PHASES = (Phase.QUEUED, Phase.WAITING_FOR_SUBMIT_SLOT, Phase.PAUSED)


class StartupError(RuntimeError):
    """BlastDeck cannot start as configured; the message says what to fix."""


def load_plugins(settings: Settings) -> None:
    """Import the modules named in BLASTDECK_PLUGINS (they register extra engines)."""
    for name in filter(None, (n.strip() for n in settings.plugins.split(","))):
        importlib.import_module(name)


class Runtime:
    def __init__(self, settings: Settings, lock: SubmitLock | None = None) -> None:
        load_plugins(settings)
        self.settings = settings
        self.db_engine = make_engine(settings.sqlalchemy_url)
        sessions = self.sessions = make_session_factory(self.db_engine)
        self.jobs = JobStore(sessions)
        self.taxonomy = taxonomy_for_settings(settings)  # its index opens on first use
        database_store = DatabaseStore(sessions)
        self.databases = DatabaseCatalog(
            database_store,
            settings.databases_dir,
            settings.max_upload_bytes,
            self.taxonomy,
        )
        self.build_progress = BuildProgressRegistry()  # this process's uploads being built
        self.clusters = ClusterRegistry(settings, ClusterStore(sessions))
        self.users = UserStore(sessions)
        audit = self.audit = AuditLog(sessions)
        self.accounts = AccountService(self.users, audit)
        self.database_removal = DatabaseRemoval(
            self.databases, database_store, settings.databases_dir, self.clusters, audit
        )
        self.database_visibility = DatabaseVisibility(
            self.databases,
            database_store,
            settings.databases_dir,
            self.clusters,
            self.users,
            audit,
        )
        self.lock = lock or _make_lock(settings)
        self.usage = UsageStore(sessions)
        self.metrics = JobMetrics(self.jobs, metrics_observations(settings), self.usage)
        self.pipeline = Pipeline(
            settings, self.jobs, self.databases, self.clusters, self.lock, self.metrics
        )
        self.executor: Executor = _make_executor(settings, self.pipeline)
        self.notifications = Notifications(settings, NotificationStore(sessions))
        self.service = JobService(
            settings,
            self.jobs,
            LegacyHspStore(sessions),
            self.databases,
            self.clusters,
            self.pipeline,
            self.executor,
            self.notifications,
            self.taxonomy,
        )
        self.retention = JobRetention(settings, self.jobs, self.service.delete)
        self.shares = ShareService(settings, ShareStore(sessions), self.service)
        self.imports = ImportService(settings, self.jobs, self.databases)
        self._purger: _Every | None = None
        self._reconciler: _Every | None = None
        self._deliveries: DeliveryLoop | None = None

    def migrate(self) -> None:
        self.settings.resolved_data_dir.mkdir(parents=True, exist_ok=True)
        try:
            migrate(self.db_engine)
            keep_sqlite_files_open(self.db_engine)
        except OperationalError as exc:
            raise StartupError(f"cannot reach the database: {exc.orig}") from exc
        except MigrationError as exc:
            raise StartupError(str(exc)) from exc

    def prepare(self) -> None:
        """Create the data dir, migrate the schema and (on a new data dir) the demo databases."""
        self.migrate()
        if self.settings.demo_databases:
            self.databases.ensure_demo()

    def start(self) -> None:
        """Start serving. Embedded mode also runs jobs, so it resumes what a restart cut short,
        and purges expired jobs itself (distributed mode leaves that to `beat`)."""
        self.prepare()
        self.executor.start()
        if not self.settings.distributed:
            self.jobs.clear_claims()  # this process alone runs this data dir's jobs
            self.reconcile()
            # And again every reconcile_interval_s, as distributed workers do: a job whose run
            # ended without ending it (a crash of its thread, a lost lease) is run again rather
            # than left for the next restart; a cancel of such a job then ends it.
            self._reconciler = _Every(self.settings.reconcile_interval_s, self.reconcile)
            self._purger = _Every(self.settings.purge_interval_s, self.retention.purge_expired)
            self.start_deliveries()

    def start_deliveries(self) -> None:
        """Send the notifications outbox from this process (embedded mode: the server), woken
        when a transaction of this process adds outbox rows (a job's end); leases of an
        earlier process are void."""
        self.notifications.store.clear_leases()
        self._deliveries = DeliveryLoop(
            self.settings, self.notifications, self.jobs, self.metrics.observations
        )
        self.notifications.store.add_outbox_listener(self._deliveries.wake)
        self._deliveries.start()

    def reconcile(self) -> int:
        """Hand every unfinished job that no live process is running back to the executor.

        The database is the source of truth: a job whose broker message was lost (Redis
        restarted, the API died between storing and enqueueing it) or whose runner died is
        scheduled again and resumes from its last finished step. Running it twice at once is
        impossible (the run lease), so a duplicate message is harmless. Returns how many jobs
        were scheduled.
        """
        orphans = self.jobs.unclaimed_active()
        if not orphans:
            return 0
        scheduled = self.executor.scheduled()
        # A waiting job's message held by a worker (its countdown) while the job has not been
        # touched this long belongs to a dead worker: the broker would only give it back after
        # its visibility timeout. A live one re-checks its slot every submit_backoff_max_s.
        stale_after = timedelta(seconds=max(60.0, 6 * self.settings.submit_backoff_max_s))
        now = utcnow()
        count = 0
        for job in orphans:
            if job.id in scheduled.queued:  # it will run (also one backing off after a retry)
                continue
            waiting = Phase(job.phase) in _WAITING_PHASES
            if waiting and job.id in scheduled.held and now - job.updated_at < stale_after:
                continue
            if not waiting:
                self.jobs.note(job.id, "recovered", f"picked up again (was {job.phase})")
            try:
                self.executor.enqueue(job.id)
            except BlastDeckError as exc:
                log.warning("reconcile could not enqueue job %s: %s", job.id, exc.message)
                break
            count += 1
        return count

    def begin_shutdown(self) -> None:
        """A stop was asked for: end the work that serves requests (the BLAST runs of
        downloads), so those requests answer before the server stops waiting for them."""
        self.clusters.shutdown()

    def stop(self) -> None:
        for periodic in (self._reconciler, self._purger):
            if periodic is not None:
                periodic.stop()
        if self._deliveries is not None:
            self._deliveries.stop()
        self.clusters.shutdown()  # no BLAST process of a download outlives this process
        self.executor.shutdown()
        self.db_engine.dispose()


class _Every:
    """Calls `task` every `interval_s` seconds on a daemon thread until stopped."""

    def __init__(self, interval_s: float, task: Callable[[], object]) -> None:
        self._stop = threading.Event()
        self._interval_s, self._task = interval_s, task
        threading.Thread(target=self._loop, daemon=True, name="blastdeck-periodic").start()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self._task()
            except Exception:
                log.exception("periodic task failed")

    def stop(self) -> None:
        self._stop.set()


def _make_lock(settings: Settings) -> SubmitLock:
    if settings.lock_redis_url:
        return RedisSubmitLock.from_url(settings.lock_redis_url, settings.redis_socket_timeout_s)
    return InProcessSubmitLock()


def metrics_observations(settings: Settings) -> Observations | None:
    """Where jobs' and notifications' observations for /metrics go: none when metrics are off;
    Redis when workers run jobs and send notifications (every API process reads them there);
    else this process's memory."""
    if not settings.metrics:
        return None
    redis_url = settings.lock_redis_url if settings.distributed else None
    return make_observations(redis_url, settings.redis_socket_timeout_s, settings.queue)


def _make_executor(settings: Settings, pipeline: Pipeline) -> Executor:
    if settings.distributed:
        from blastdeck.executors.celery import CeleryExecutor

        return CeleryExecutor(settings)
    return InlineExecutor(pipeline.run, settings.workers)
