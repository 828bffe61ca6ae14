"""/api/usage: jobs, BLAST CPU and waits over a period, computed by the database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from blastdeck.api.deps import RuntimeDep, ViewerDep
from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.api.schemas.usage import Quantiles, UsageDay, UsageReport, UsageShare, UsageTimings
from blastdeck.domain.pipeline_model import JobStatus
from blastdeck.domain.usage_period import (
    DEFAULT_PERIOD_DAYS,
    MAX_PERIOD_DAYS,
    UsagePeriod,
    usage_period,
)
from blastdeck.store.usage import Share, Usage
from blastdeck.store.usage_sql import Figures

router = APIRouter(prefix="/api/usage", tags=["usage"], responses=ERROR_RESPONSES)

_DESCRIPTION = f"""Jobs created in the period (whole UTC days, at most {MAX_PERIOD_DAYS}): per
day by status; jobs and BLAST CPU-hours per user, cluster and database; the median and 95th
percentile of the queue wait, submit-slot wait and run time per cluster and namespace. An
admin (or anyone, with auth off) sees every job (`scope` all), another user only their own
(`scope` own). Bad dates are `invalid_date`, `from` after `to` is `period_reversed`, a longer
period `period_too_long`."""


@router.get("", description=_DESCRIPTION)
def get_usage(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    start: Annotated[
        str | None,
        Query(
            alias="from",
            max_length=40,
            description=f"first day, YYYY-MM-DD (default: {DEFAULT_PERIOD_DAYS} days to `to`)",
        ),
    ] = None,
    end: Annotated[
        str | None,
        Query(alias="to", max_length=40, description="last day, included (default: today)"),
    ] = None,
) -> UsageReport:
    period = usage_period(start, end, datetime.now(UTC).date())
    owner = viewer.owner_filter
    return _report(period, runtime.usage.report(period, owner), "all" if owner is None else "own")


def _report(period: UsagePeriod, usage: Usage, scope: Literal["all", "own"]) -> UsageReport:
    days = []
    for day in period.each_day():
        counts = usage.days.get(day.isoformat(), {})
        by_status = {s.value: counts.get(s.value, 0) for s in JobStatus}
        days.append(UsageDay(day=day.isoformat(), total=sum(by_status.values()), **by_status))
    users = [
        _share(usage.user_names.get(u.key) if u.key else None, u, user_id=u.key)
        for u in usage.by_user
    ]
    return UsageReport(
        start=period.first.isoformat(),
        end=period.last.isoformat(),
        days_count=period.days,
        scope=scope,
        jobs=sum(d.total for d in days),
        cpu_hours=_hours(sum(c.cpu_seconds for c in usage.by_cluster)),
        days=days,
        by_user=users,
        by_cluster=[_share(c.key, c) for c in usage.by_cluster],
        by_database=[_share(d.key, d) for d in usage.by_database],
        timings=[
            UsageTimings(
                cluster=t.cluster,
                namespace=t.namespace,
                jobs=t.jobs,
                queue_wait=_quantiles(t.queue_wait),
                submit_wait=_quantiles(t.submit_wait),
                run=_quantiles(t.run),
            )
            for t in usage.timings
        ],
    )


def _share(name: str | None, share: Share, user_id: str | None = None) -> UsageShare:
    return UsageShare(
        name=name, user_id=user_id, jobs=share.jobs, cpu_hours=_hours(share.cpu_seconds)
    )


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 6)


def _quantiles(figures: Figures | None) -> Quantiles | None:
    if figures is None:
        return None
    count, p50_ms, p95_ms = figures
    return Quantiles(count=count, median_s=round(p50_ms / 1000, 3), p95_s=round(p95_ms / 1000, 3))
