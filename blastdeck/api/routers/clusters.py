"""/api/clusters: where searches run, who holds each submit slot, and adding a cluster."""

from __future__ import annotations

from fastapi import APIRouter

from blastdeck.api.deps import AdminDep, RuntimeDep, ViewerDep
from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.api.payloads import cluster_model
from blastdeck.api.schemas.clusters import Cluster, ClusterCreate, ClusterList
from blastdeck.submit_slots import submit_slots

router = APIRouter(prefix="/api/clusters", tags=["clusters"], responses=ERROR_RESPONSES)


@router.get("")
def list_clusters(runtime: RuntimeDep, viewer: ViewerDep) -> ClusterList:
    """Each cluster with who holds its submit slot per namespace, its unfinished jobs, and its
    health (BLAST found and scratch writable; for SLURM, the controller answering)."""
    clusters = submit_slots(
        runtime.clusters.list(),
        runtime.jobs.cluster_load(),
        runtime.lock,
        runtime.settings.lock_prefix,
    )
    return ClusterList(
        items=[cluster_model(c.cluster, c, runtime.clusters.health(c.cluster)) for c in clusters]
    )


@router.post("", status_code=201)
def add_cluster(body: ClusterCreate, runtime: RuntimeDep, viewer: AdminDep) -> Cluster:
    return cluster_model(runtime.clusters.add(body))
