"""Who holds each cluster's submit slot, per namespace, and how many jobs wait on it.

A cluster's submit slot is one lock per (cluster, namespace) (`locks.submit_lock_key`). The
namespaces shown are the cluster's default, the ones it lists, and any that unfinished jobs
use: a job may name a namespace the cluster does not list, and its slot is real all the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from blastdeck.domain.clusters import Cluster
from blastdeck.locks import SubmitLock, submit_lock_key


@dataclass(frozen=True)
class SubmitSlot:
    namespace: str
    lock_key: str
    holder_job_id: str | None  # None: free
    ttl_ms: int | None  # how long the holder's lock has left
    queue_depth: int  # unfinished jobs of this namespace on this cluster


@dataclass(frozen=True)
class ClusterSlots:
    cluster: Cluster
    slots: tuple[SubmitSlot, ...]
    queue_depth: int  # unfinished jobs on the cluster, all namespaces


def submit_slots(
    clusters: list[Cluster],
    load: Mapping[tuple[str, str], int],
    lock: SubmitLock,
    prefix: str,
) -> list[ClusterSlots]:
    """Each cluster with its submit slots; `load` is unfinished jobs per (cluster, namespace)."""
    return [_cluster_slots(cluster, load, lock, prefix) for cluster in clusters]


def _cluster_slots(
    cluster: Cluster, load: Mapping[tuple[str, str], int], lock: SubmitLock, prefix: str
) -> ClusterSlots:
    in_use = {ns for (name, ns) in load if name == cluster.name}
    slots = []
    for ns in sorted({cluster.namespace, *cluster.namespaces, *in_use}):
        key = submit_lock_key(cluster.name, ns, prefix)
        holder = lock.holder(key)
        slots.append(
            SubmitSlot(
                namespace=ns,
                lock_key=key,
                holder_job_id=holder.job_id if holder else None,
                ttl_ms=holder.ttl_ms if holder else None,
                queue_depth=load.get((cluster.name, ns), 0),
            )
        )
    depth = sum(n for (name, _), n in load.items() if name == cluster.name)
    return ClusterSlots(cluster, tuple(slots), depth)
