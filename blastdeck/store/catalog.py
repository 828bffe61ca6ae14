"""Persistence for BLAST databases and clusters added at run time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.pipeline_model import TERMINAL_PHASES
from blastdeck.store.models import (
    JOB_TABLE,
    BlastDatabase,
    ClusterPause,
    ClusterRow,
    Job,
    utcnow,
)


class DatabaseStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def get(self, name: str) -> BlastDatabase | None:
        with self._sessions() as s:
            return s.get(BlastDatabase, name)

    def list(self) -> list[BlastDatabase]:
        with self._sessions() as s:
            return list(s.scalars(select(BlastDatabase).order_by(BlastDatabase.name)))

    def add(self, row: BlastDatabase) -> BlastDatabase:
        try:
            with self._sessions.begin() as s:
                s.add(row)
        except IntegrityError:
            raise _exists("database", row.name, ErrorCode.DATABASE_EXISTS) from None
        return row

    def delete_unless_used(self, name: str) -> list[str]:
        """Delete the database's row unless an unfinished job searches it; the ids of those
        jobs (nothing deleted) or []. One transaction, so a job created meanwhile either
        counts or finds the database gone."""
        with self._sessions.begin() as s:
            job_ids = _unfinished_jobs_of(s, name)
            if not job_ids:
                row = s.get(BlastDatabase, name)
                if row is not None:
                    s.delete(row)
        return job_ids

    def rename_unless_used(
        self, name: str, values: dict[str, Any], move: Callable[[], Callable[[], None]]
    ) -> list[str]:
        """Give the database's row new `values` (its name, sharing, path) unless an unfinished
        job searches it: the ids of those jobs (nothing changed) or []. `move` moves its files
        inside the transaction and returns how to move them back should the commit fail."""
        undo: Callable[[], None] | None = None
        try:
            with self._sessions.begin() as s:
                job_ids = _unfinished_jobs_of(s, name)
                if job_ids:
                    return job_ids
                s.execute(update(BlastDatabase).where(BlastDatabase.name == name).values(values))
                s.flush()  # a taken name fails here, before any file moves
                undo = move()
        except IntegrityError:
            if undo is not None:
                undo()
            raise _exists("database", values["name"], ErrorCode.DATABASE_EXISTS) from None
        except BaseException:
            if undo is not None:
                undo()
            raise
        return []


def _unfinished_jobs_of(s: Session, name: str) -> list[str]:
    """Up to 5 queued or running jobs that search the database."""
    finished = [phase.value for phase in TERMINAL_PHASES]
    users = select(Job.id).where(Job.database == name, Job.phase.not_in(finished))
    job_ids = list(s.scalars(users.limit(5)))
    # Jobs of several databases name the others in their list (few: per-user quotas bound the
    # unfinished jobs), read and checked here rather than queried per dialect.
    several = select(Job.id, Job.databases).where(
        Job.databases.is_not(None), Job.phase.not_in(finished)
    )
    job_ids += [
        job_id
        for job_id, names in s.execute(several)
        if name in (names or []) and job_id not in job_ids
    ][: 5 - len(job_ids)]
    return job_ids


class ClusterStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def list(self) -> list[ClusterRow]:
        with self._sessions() as s:
            return list(s.scalars(select(ClusterRow).order_by(ClusterRow.name)))

    def add(self, row: ClusterRow) -> ClusterRow:
        try:
            with self._sessions.begin() as s:
                s.add(row)
        except IntegrityError:
            raise _exists("cluster", row.name, ErrorCode.CLUSTER_EXISTS) from None
        return row

    def get(self, name: str) -> ClusterRow | None:
        with self._sessions() as s:
            return s.get(ClusterRow, name)

    def update(self, row: ClusterRow) -> None:
        with self._sessions.begin() as s:
            s.merge(row)

    def pin_job(self, job_id: str, record: dict[str, Any]) -> dict[str, Any] | None:
        """The cluster definition the job runs with: `record` unless it has one already (a job
        keeps the settings it started with when an admin edits its cluster meanwhile)."""
        jobs = JOB_TABLE  # Core statements: once per job run
        with self._sessions.begin() as s:
            pinned = jobs.c.id == job_id, jobs.c.cluster_config.is_(None)
            s.execute(update(jobs).where(*pinned).values(cluster_config=record))
            return s.scalar(select(jobs.c.cluster_config).where(jobs.c.id == job_id))

    def delete_unless_used(self, name: str) -> list[str]:
        """Delete the cluster's row (and its pauses) unless an unfinished job runs on it; the
        ids of those jobs (nothing deleted) or []. One transaction, as for databases."""
        finished = [phase.value for phase in TERMINAL_PHASES]
        with self._sessions.begin() as s:
            users = select(Job.id).where(Job.cluster == name, Job.phase.not_in(finished))
            job_ids = list(s.scalars(users.order_by(Job.created_at).limit(5)))
            if not job_ids:
                s.execute(delete(ClusterPause).where(ClusterPause.cluster == name))
                row = s.get(ClusterRow, name)
                if row is not None:
                    s.delete(row)
        return job_ids

    # -- pauses: "" as the namespace pauses the whole cluster --------------------------------

    def pause(self, cluster: str, namespace: str, by: str) -> ClusterPause:
        """Pause (a pause already in place is kept as it was: who and since when)."""
        try:
            with self._sessions.begin() as s:
                row = s.get(ClusterPause, (cluster, namespace))
                if row is None:
                    row = ClusterPause(
                        cluster=cluster, namespace=namespace, paused_by=by, paused_at=utcnow()
                    )
                    s.add(row)
            return row
        except IntegrityError:  # another admin paused it at the same moment: theirs stands
            with self._sessions() as s:
                return s.get_one(ClusterPause, (cluster, namespace))

    def resume(self, cluster: str, namespace: str) -> bool:
        """Lift a pause; False when there was none."""
        with self._sessions.begin() as s:
            gone = s.execute(
                delete(ClusterPause).where(
                    ClusterPause.cluster == cluster, ClusterPause.namespace == namespace
                )
            ).rowcount
        return bool(gone)

    def pauses(self) -> list[ClusterPause]:
        with self._sessions() as s:
            query = select(ClusterPause).order_by(ClusterPause.cluster, ClusterPause.namespace)
            return list(s.scalars(query))

    def pause_of(self, cluster: str, namespace: str) -> ClusterPause | None:
        """What stops a submit to (cluster, namespace): the whole cluster's pause first."""
        with self._sessions() as s:
            rows = s.scalars(
                select(ClusterPause)
                .where(ClusterPause.cluster == cluster, ClusterPause.namespace.in_(["", namespace]))
                .order_by(ClusterPause.namespace)
            )
            return next(iter(rows), None)


def _exists(what: str, name: str, code: ErrorCode) -> BlastDeckError:
    return BlastDeckError(code, f"A {what} named {name!r} already exists.", field="name")
