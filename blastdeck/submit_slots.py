"""Who holds each cluster's submit slot, per namespace, and the jobs waiting on it.

A cluster's submit slot is one lock per (cluster, namespace) (`locks.submit_lock_key`). The
namespaces shown are the cluster's default, the ones it lists, any that unfinished jobs use
(a job may name a namespace the cluster does not list, and its slot is real all the same) and
any an admin paused. Per slot: its pause (the whole cluster's, else the namespace's), the jobs
waiting for it in the order they began to wait, and the jobs past it (in flight).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from blastdeck.domain.clusters import Cluster, Pause
from blastdeck.locks import SubmitLock, submit_lock_key
from blastdeck.store.cluster_jobs import SlotJob


@dataclass(frozen=True)
class SubmitSlot:
    namespace: str
    lock_key: str
    holder_job_id: str | None  # None: free
    ttl_ms: int | None  # how long the holder's lock has left
    queue_depth: int  # unfinished jobs of this namespace on this cluster
    paused: Pause | None = None  # what stops new submits here (the cluster's pause first)
    waiting: tuple[SlotJob, ...] = ()  # in the order they began to wait
    running: tuple[SlotJob, ...] = ()


@dataclass(frozen=True)
class ClusterSlots:
    cluster: Cluster
    slots: tuple[SubmitSlot, ...]
    queue_depth: int  # unfinished jobs on the cluster, all namespaces
    paused: Pause | None = None  # the whole cluster's pause


def submit_slots(
    clusters: list[Cluster],
    load: Mapping[tuple[str, str], int],
    lock: SubmitLock,
    prefix: str,
    pauses: Iterable[Pause] = (),
    jobs: Iterable[SlotJob] = (),
) -> list[ClusterSlots]:
    """Each cluster with its submit slots; `load` is unfinished jobs per (cluster, namespace),
    `jobs` the waiting (in order) and in-flight ones (`store.cluster_jobs.slot_jobs`)."""
    by_scope = {(p.cluster, p.namespace): p for p in pauses}
    jobs = list(jobs)
    return [_cluster_slots(cluster, load, lock, prefix, by_scope, jobs) for cluster in clusters]


def _cluster_slots(
    cluster: Cluster,
    load: Mapping[tuple[str, str], int],
    lock: SubmitLock,
    prefix: str,
    pauses: Mapping[tuple[str, str | None], Pause],
    jobs: list[SlotJob],
) -> ClusterSlots:
    in_use = {ns for (name, ns) in load if name == cluster.name}
    paused_ns = {ns for (name, ns) in pauses if name == cluster.name and ns}
    whole = pauses.get((cluster.name, None))
    slots = []
    for ns in sorted({cluster.namespace, *cluster.namespaces, *in_use, *paused_ns}):  # type: ignore[misc]
        key = submit_lock_key(cluster.name, ns, prefix)
        holder = lock.holder(key)
        mine = [j for j in jobs if j.cluster == cluster.name and j.namespace == ns]
        slots.append(
            SubmitSlot(
                namespace=ns,
                lock_key=key,
                holder_job_id=holder.job_id if holder else None,
                ttl_ms=holder.ttl_ms if holder else None,
                queue_depth=load.get((cluster.name, ns), 0),
                paused=whole or pauses.get((cluster.name, ns)),
                waiting=tuple(j for j in mine if j.waiting),
                running=tuple(j for j in mine if not j.waiting),
            )
        )
    depth = sum(n for (name, _), n in load.items() if name == cluster.name)
    return ClusterSlots(cluster, tuple(slots), depth, whole)
