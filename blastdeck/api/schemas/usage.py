"""Usage over a period (`GET /api/usage`, `store/usage.py`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class UsageDay(BaseModel):
    day: str = Field(description="UTC date, YYYY-MM-DD; every day of the period, in order")
    total: int
    queued: int
    running: int
    completed: int
    failed: int
    cancelled: int


class UsageShare(BaseModel):
    """Jobs created in the period and the BLAST CPU they took, for one user, cluster or
    database (a job of several databases counts under its first)."""

    name: str | None = Field(description="user name, cluster or database; null: no owner")
    user_id: str | None = Field(default=None, description="for a user: the account's id")
    jobs: int
    cpu_hours: float = Field(description="BLAST CPU time of the jobs that finished")


class Quantiles(BaseModel):
    count: int = Field(description="how many jobs have this figure")
    median_s: float
    p95_s: float


class UsageTimings(BaseModel):
    """Per cluster and namespace; a figure is null when no job of the period has it."""

    cluster: str
    namespace: str
    jobs: int
    queue_wait: Quantiles | None = Field(description="created until its first step started")
    submit_wait: Quantiles | None = Field(description="waited for the submit slot")
    run: Quantiles | None = Field(description="the running step of jobs whose BLAST finished")


class UsageReport(BaseModel):
    start: str = Field(description="first day of the period (UTC, YYYY-MM-DD)")
    end: str = Field(description="last day of the period, included")
    days_count: int
    scope: Literal["all", "own"] = Field(
        description="all: every user's jobs (an admin, or auth off); own: the viewer's only"
    )
    jobs: int
    cpu_hours: float
    days: list[UsageDay]
    by_user: list[UsageShare]
    by_cluster: list[UsageShare]
    by_database: list[UsageShare]
    timings: list[UsageTimings]
