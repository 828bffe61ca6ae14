"""Clusters, where searches run, with their submit slots (GET/POST /api/clusters)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from blastdeck.config import ClusterConfig
from blastdeck.domain.clusters import MAX_SLOTS


class ClusterCreate(ClusterConfig):
    """The body of POST /api/clusters: a cluster's configuration, with bounds."""

    name: str = Field(max_length=64)
    engine: str = Field(default="local", max_length=32)
    namespace: str = Field(default="default", max_length=63)
    slots: int | None = Field(
        default=None, ge=1, le=MAX_SLOTS, description="parallel BLAST batches; all cores"
    )


class SubmitSlot(BaseModel):
    namespace: str
    lock_key: str
    holder_job_id: str | None = Field(description="the job holding the slot; null: free")
    ttl_ms: int | None
    queue_depth: int = Field(description="unfinished jobs of this namespace")


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


class ClusterList(BaseModel):
    items: list[Cluster]
