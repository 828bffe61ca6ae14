"""Usage over a period (`GET /api/usage`), computed by the database: jobs per day by status,
jobs and BLAST CPU per user, cluster and database, and the median and 95th percentile of the
queue wait, submit-slot wait and run time per cluster and namespace (docs/usage.md). Also
where a job's usage figures are written on its row (`models.Job`, read through its usage
indexes)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import ColumnElement

from blastdeck.domain.pipeline_model import JobStatus
from blastdeck.domain.pipeline_model import phases_with_status as phases_of
from blastdeck.domain.usage_period import UsagePeriod
from blastdeck.store.models import JOB_TABLE, USAGE_TIMED, Job, User
from blastdeck.store.usage_sql import Figures, period_column, timed_quantiles, utc_day


@dataclass
class Share:
    key: str | None  # a user id, cluster or database name (None: no owner, auth off)
    jobs: int
    cpu_seconds: float


@dataclass
class Timings:
    cluster: str
    namespace: str
    jobs: int
    queue_wait: Figures | None = None
    submit_wait: Figures | None = None
    run: Figures | None = None


@dataclass
class Usage:
    days: dict[str, dict[str, int]]  # YYYY-MM-DD -> status -> jobs (days without jobs absent)
    by_user: list[Share]
    by_cluster: list[Share]
    by_database: list[Share]
    timings: list[Timings]
    user_names: dict[str, str] = field(default_factory=dict)


class UsageStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    # -- written by the process that runs a job (job_metrics.py) -----------------------------

    def record_submit_wait(self, job_id: str, waited_ms: int) -> None:
        self._set(job_id, submit_wait_ms=max(0, waited_ms))

    def record_end(
        self, job_id: str, queue_wait_ms: int | None, run_ms: int | None, cpu_seconds: float | None
    ) -> None:
        self._set(job_id, queue_wait_ms=queue_wait_ms, run_ms=run_ms, cpu_seconds=cpu_seconds)

    def _set(self, job_id: str, **values: Any) -> None:
        # Bookkeeping no job reader sees: no change announced, and updated_at set to itself,
        # or its onupdate would move it and a job's stream and GET would disagree.
        jobs = JOB_TABLE  # a Core statement (models.JOB_TABLE)
        with self._sessions.begin() as s:
            query = update(jobs).where(jobs.c.id == job_id)
            s.execute(query.values(**values, updated_at=jobs.c.updated_at))

    # -- the report ----------------------------------------------------------------------------

    def report(self, period: UsagePeriod, owner_id: str | None) -> Usage:
        """Jobs created in `period`; only `owner_id`'s when given. Two index-only scans (jobs
        per day and status; jobs, CPU and timed figures per owner, cluster, namespace and
        database: few groups, rolled up here per user, cluster and database) and the timed
        figures' quantiles."""
        where = [Job.created_at >= period.start, Job.created_at < period.end]
        bounds: dict[str, Any] = {"start": period.start, "end": period.end}
        if owner_id is not None:
            where.append(Job.owner_id == owner_id)
            bounds["owner"] = owner_id
        with self._sessions() as s:
            at = period_column(s)
            groups = _groups(s, [at >= period.start, at < period.end, *where[2:]])
            counts: dict[tuple[str, str], dict[str, int]] = {}
            for g in groups:
                per_figure = counts.setdefault((g.cluster, g.namespace), {})
                for figure, n in g.timed.items():
                    per_figure[figure] = per_figure.get(figure, 0) + n
            quantiles = timed_quantiles(s, where, bounds, counts)
            ids = sorted({g.owner_id for g in groups if g.owner_id is not None})
            names = dict(s.execute(select(User.id, User.name).where(User.id.in_(ids))).all())
            days = _days(s, where)
        jobs: dict[tuple[str, str], int] = {}
        for g in groups:
            jobs[(g.cluster, g.namespace)] = jobs.get((g.cluster, g.namespace), 0) + g.jobs
        timings = []
        for where_key in sorted(jobs):
            figures = quantiles.get(where_key, {})
            timings.append(
                Timings(
                    *where_key,
                    jobs=jobs[where_key],
                    queue_wait=figures.get("queue_wait_ms"),
                    submit_wait=figures.get("submit_wait_ms"),
                    run=figures.get("run_ms"),
                )
            )
        return Usage(
            days=days,
            by_user=_shares(groups, lambda g: g.owner_id),
            by_cluster=_shares(groups, lambda g: g.cluster),
            by_database=_shares(groups, lambda g: g.database),
            timings=timings,
            user_names=names,
        )


@dataclass
class _Group:
    owner_id: str | None
    cluster: str
    namespace: str
    database: str
    jobs: int
    cpu_seconds: float
    timed: dict[str, int]  # how many jobs have each timed figure


def _groups(s: Session, where: list[Any]) -> list[_Group]:
    keys = (Job.owner_id, Job.cluster, Job.namespace, Job.database)
    timed = [func.count(getattr(Job, f)) for f in USAGE_TIMED]
    cpu = func.coalesce(func.sum(Job.cpu_seconds), 0.0)
    query = select(*keys, func.count(), cpu, *timed).where(*where).group_by(*keys)
    return [
        _Group(
            owner,
            cluster,
            ns,
            db,
            int(n),
            float(c),
            dict(zip(USAGE_TIMED, map(int, t), strict=True)),
        )
        for owner, cluster, ns, db, n, c, *t in s.execute(query)
    ]


def _shares(groups: list[_Group], key: Callable[[_Group], str | None]) -> list[Share]:
    """Jobs and CPU per `key`, the most CPU first. A job of several databases counts under its
    first (`Job.database`): BLAST's CPU time is not split per database."""
    shares: dict[str | None, Share] = {}
    for g in groups:
        share = shares.setdefault(key(g), Share(key(g), 0, 0.0))
        share.jobs += g.jobs
        share.cpu_seconds += g.cpu_seconds
    return sorted(shares.values(), key=lambda r: (-r.cpu_seconds, -r.jobs, r.key or ""))


def _status() -> ColumnElement[str]:
    """A job's status from its phase, as `domain.pipeline_model.status_of` derives it."""
    whens = [
        (Job.phase.in_([p.value for p in phases_of(status)]), status.value)
        for status in JobStatus
        if status is not JobStatus.RUNNING
    ]
    return case(*whens, else_=JobStatus.RUNNING.value)


def _days(s: Session, where: list[Any]) -> dict[str, dict[str, int]]:
    day, status = utc_day(s, Job.created_at).label("day"), _status().label("status")
    query = select(day, status, func.count()).where(*where).group_by(day, status)
    days: dict[str, dict[str, int]] = {}
    for d, st, n in s.execute(query):
        days.setdefault(str(d), {})[st] = int(n)
    return days
