"""Wires one BlastDeck instance together: settings, storage, catalogs, lock, pipeline, executor."""

from __future__ import annotations

import logging

from sqlalchemy.exc import OperationalError

from blastdeck.clusters import ClusterRegistry
from blastdeck.config import Settings
from blastdeck.databases import DatabaseCatalog
from blastdeck.domain.pipeline_model import Phase
from blastdeck.executors.base import Executor
from blastdeck.executors.inline import InlineExecutor
from blastdeck.job_service import JobService
from blastdeck.locks import InProcessSubmitLock, SubmitLock
from blastdeck.pipeline import Pipeline
from blastdeck.store.catalog import ClusterStore, DatabaseStore
from blastdeck.store.database import make_engine, make_session_factory, migrate
from blastdeck.store.jobs import JobStore

log = logging.getLogger(__name__)


class StartupError(RuntimeError):
    """BlastDeck cannot start as configured; the message says what to fix."""


class Runtime:
    def __init__(self, settings: Settings, lock: SubmitLock | None = None) -> None:
        self.settings = settings
        self.db_engine = make_engine(settings.sqlalchemy_url)
        sessions = make_session_factory(self.db_engine)
        self.jobs = JobStore(sessions)
        self.databases = DatabaseCatalog(DatabaseStore(sessions), settings.databases_dir)
        self.clusters = ClusterRegistry(settings, ClusterStore(sessions))
        self.lock = lock or InProcessSubmitLock()
        self.pipeline = Pipeline(settings, self.jobs, self.databases, self.clusters, self.lock)
        self.executor: Executor = InlineExecutor(self.pipeline.run, settings.workers)
        self.service = JobService(
            settings, self.jobs, self.databases, self.clusters, self.pipeline, self.executor
        )

    def prepare(self) -> None:
        """Create the data dir, migrate the schema and (on a new data dir) the demo databases."""
        self.settings.resolved_data_dir.mkdir(parents=True, exist_ok=True)
        try:
            migrate(self.db_engine)
        except OperationalError as exc:
            raise StartupError(f"cannot reach the database: {exc.orig}") from exc
        if self.settings.demo_databases:
            self.databases.ensure_demo()

    def start(self) -> None:
        self.prepare()
        self.executor.start()
        self.recover()

    def recover(self) -> None:
        """Resume every job a previous process left unfinished; the database is the truth."""
        for job_id in self.jobs.active_ids():
            job = self.jobs.get(job_id)
            if job.cancel_requested or job.phase == Phase.CANCELLING:
                self.executor.enqueue(job_id)  # the pipeline stops its processes and cancels
                continue
            if job.phase != Phase.QUEUED:
                self.jobs.note(
                    job_id, "recovered", f"picked up again after a restart (was {job.phase})"
                )
            self.executor.enqueue(job_id)

    def stop(self) -> None:
        self.executor.shutdown()
        self.db_engine.dispose()

