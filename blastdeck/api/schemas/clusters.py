"""Clusters, where searches run, with their submit slots and pauses (/api/clusters)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from blastdeck.config import ClusterChanges, ClusterConfig
from blastdeck.domain.clusters import MAX_SLOTS


class ClusterCreate(ClusterConfig):
    """The body of POST /api/clusters: a cluster's configuration, with bounds."""

    name: str = Field(max_length=64)
    engine: str = Field(default="local", max_length=32)
    namespace: str = Field(default="default", max_length=63)
    slots: int | None = Field(
        default=None,
        ge=1,
        le=MAX_SLOTS,
        strict=True,
        description="parallel BLAST batches; all cores",
    )


class ClusterUpdate(ClusterChanges):
    """The body of PATCH /api/clusters/{cluster}: the fields to change, with bounds."""

    name: str | None = Field(default=None, max_length=64, description="fixed: the current one")
    engine: str | None = Field(default=None, max_length=32, description="fixed: the current one")
    namespace: str | None = Field(default=None, max_length=63)


class PauseRequest(BaseModel):
    """The body of POST /api/clusters/{cluster}/pause and /resume (or none: the whole cluster)."""

    namespace: str | None = Field(
        default=None, max_length=200, description="one namespace; null or absent: the cluster"
    )


class ClusterPause(BaseModel):
    """An admin's pause: new submits wait (phase `paused`) before taking the submit slot."""

    namespace: str | None = Field(description="the paused namespace; null: the whole cluster")
    paused_by: str
    paused_at: datetime
    message: str = Field(description="cluster X / namespace Y is paused by <admin> since <time>")


class PauseState(BaseModel):
    """What POST /pause and /resume answer: the scope asked about and its pause now."""

    cluster: str
    namespace: str | None
    paused: ClusterPause | None = Field(description="null: not paused (any more)")


class SlotJob(BaseModel):
    job_id: str
    phase: str
    since: datetime = Field(description="waiting: when its wait began; else when created")
    waited_ms: int | None = Field(description="how long it has waited so far (waiting jobs)")


class SubmitSlot(BaseModel):
    namespace: str
    lock_key: str
    holder_job_id: str | None = Field(description="the job holding the slot; null: free")
    ttl_ms: int | None
    queue_depth: int = Field(description="unfinished jobs of this namespace")
    paused: ClusterPause | None = Field(
        default=None, description="what stops new submits here (the whole cluster's pause first)"
    )
    waiting_jobs: list[SlotJob] = Field(
        default_factory=list, description="jobs waiting for the slot (or paused), in order"
    )
    running_jobs: list[SlotJob] = Field(
        default_factory=list, description="jobs past the slot: submitting, running, exporting"
    )


class ClusterHealth(BaseModel):
    """Whether the cluster's engine can run jobs now (checked at most every half minute)."""

    ok: bool
    detail: str = Field(description="what was found, or what is wrong")


class Cluster(BaseModel):
    name: str
    engine: str
    namespace: str
    namespaces: list[str]
    slots: int
    settings: dict[str, str]
    submit_slots: list[SubmitSlot]
    queue_depth: int = Field(description="unfinished jobs on the cluster")
    health: ClusterHealth | None = Field(default=None, description="in the cluster list")
    paused: ClusterPause | None = Field(default=None, description="the whole cluster's pause")


class ClusterRemoved(BaseModel):
    name: str
    engine: str


class ClusterList(BaseModel):
    items: list[Cluster]


class EngineInfo(BaseModel):
    """An engine kind a cluster can use, with the settings it understands (the add form)."""

    name: str
    settings: list[str]
    # a line on each setting: what it takes and its default ("" for a plugin's without one)
    setting_help: dict[str, str]


class EngineList(BaseModel):
    items: list[EngineInfo]
