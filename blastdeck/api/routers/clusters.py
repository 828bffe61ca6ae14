"""/api/clusters: where searches run, who holds each submit slot, the jobs waiting on it;
adding, editing, deleting, pausing and resuming a cluster (admins)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from blastdeck.api.deps import AdminDep, RuntimeDep, ViewerDep
from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.api.payloads import changes_record, cluster_model, engine_models, pause_model
from blastdeck.api.schemas.clusters import (
    Cluster,
    ClusterCreate,
    ClusterList,
    ClusterRemoved,
    ClusterUpdate,
    EngineList,
    PauseRequest,
    PauseState,
)
from blastdeck.api.stream import KEEPALIVE_S, RECONNECT_MS, sse_event
from blastdeck.domain.errors import BlastDeckError
from blastdeck.runtime import Runtime
from blastdeck.store.cluster_jobs import slot_jobs
from blastdeck.submit_slots import submit_slots

router = APIRouter(prefix="/api/clusters", tags=["clusters"], responses=ERROR_RESPONSES)

# How often an open /stream looks at the clusters' state (locks live in Redis or in memory, not
# in the database the job watcher follows): a lock release reaches the page well within 1 s.
STREAM_TICK_S = 0.25


def cluster_list(runtime: Runtime) -> ClusterList:
    clusters = submit_slots(
        runtime.clusters.list(),
        runtime.jobs.cluster_load(),
        runtime.lock,
        runtime.settings.lock_prefix,
        runtime.clusters.pauses(),
        slot_jobs(runtime.sessions),
    )
    return ClusterList(
        items=[cluster_model(c.cluster, c, runtime.clusters.health(c.cluster)) for c in clusters]
    )


@router.get("")
def list_clusters(runtime: RuntimeDep, viewer: ViewerDep) -> ClusterList:
    """Each cluster with who holds its submit slot per namespace, the jobs waiting for it (in
    order, with how long each has waited) and past it, its pauses, its unfinished jobs, and its
    health (BLAST found and scratch writable; for SLURM, the controller answering)."""
    return cluster_list(runtime)


@router.get("/engines")
def list_engines(viewer: ViewerDep) -> EngineList:
    """The engine kinds a cluster can use (built in and from plugins) and their settings."""
    return EngineList(items=engine_models())


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def clusters_stream(request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> Response:
    """Server-sent events: `event: clusters` with the same JSON as `GET /api/clusters`, sent on
    connect and whenever it changes (looked at every quarter second; `waited_ms` and `ttl_ms`
    alone changing do not count); `event: ping` on a quiet stream every 15 s."""
    return StreamingResponse(
        _cluster_events(request, runtime),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


def _fingerprint(listing: ClusterList) -> str:
    """The listing without what changes every tick (clocks), so only real changes are sent."""
    return listing.model_dump_json(
        exclude={
            "items": {
                "__all__": {
                    "submit_slots": {
                        "__all__": {
                            "ttl_ms": True,
                            "waiting_jobs": {"__all__": {"waited_ms"}},
                            "running_jobs": {"__all__": {"waited_ms"}},
                        }
                    }
                }
            }
        }
    )


async def _cluster_events(request: Request, runtime: Runtime) -> AsyncIterator[str]:
    yield f"retry: {RECONNECT_MS}\n\n"
    sent, last_write = None, time.monotonic()
    while not await request.is_disconnected():
        listing = await run_in_threadpool(cluster_list, runtime)
        mark = _fingerprint(listing)
        if mark != sent:
            sent, last_write = mark, time.monotonic()
            yield sse_event("clusters", listing.model_dump_json())
        elif time.monotonic() - last_write >= KEEPALIVE_S:
            last_write = time.monotonic()
            yield sse_event("ping", "{}")
        await asyncio.sleep(STREAM_TICK_S)


def _path_cluster(runtime: Runtime, name: str) -> str:
    """The cluster a URL path names: unknown is a 404 (in a job's body it is a 422)."""
    try:
        return runtime.clusters.get(name).name
    except BlastDeckError as exc:
        raise BlastDeckError(exc.code, exc.message, field="cluster", status=404) from None


@router.post("", status_code=201)
def add_cluster(body: ClusterCreate, runtime: RuntimeDep, viewer: AdminDep) -> Cluster:
    """Add a cluster (admins), checked against its engine and probed; in the audit log."""
    added = runtime.clusters.add(body)
    runtime.audit.record(viewer.name, "cluster.add", added.name, changes_record(body))
    return cluster_model(added)


@router.patch("/{cluster}")
def update_cluster(
    cluster: str, body: ClusterUpdate, runtime: RuntimeDep, viewer: AdminDep
) -> Cluster:
    """Edit a cluster added at run time (admins): only the fields given change; `settings` is
    merged (null removes a setting, "(hidden)" keeps a secret). Checked and probed as POST is;
    the name and engine are fixed. Jobs that have started keep the settings they started with;
    jobs that start later use the new ones. Recorded in the audit log (`cluster.update`)."""
    updated = runtime.clusters.update(_path_cluster(runtime, cluster), body)
    runtime.audit.record(viewer.name, "cluster.update", updated.name, changes_record(body))
    return cluster_model(updated)


@router.delete("/{cluster}")
def delete_cluster(cluster: str, runtime: RuntimeDep, viewer: AdminDep) -> ClusterRemoved:
    """Delete a cluster added at run time (admins): refused with `cluster_in_use` while an
    unfinished job runs on it, `cluster_not_removable` for `local` and the config file's."""
    removed = runtime.clusters.remove(_path_cluster(runtime, cluster))
    runtime.audit.record(viewer.name, "cluster.remove", removed.name)
    return ClusterRemoved(name=removed.name, engine=removed.engine)


@router.post("/{cluster}/pause")
def pause_cluster(
    cluster: str, runtime: RuntimeDep, viewer: AdminDep, body: PauseRequest | None = None
) -> PauseState:
    """Pause the whole cluster (no body, or `namespace` null) or one namespace (admins): new
    submits wait in phase `paused` before taking the submit slot; running jobs go on. Pausing
    what is paused already keeps the first pause (who, since when)."""
    namespace = body.namespace if body else None
    pause = runtime.clusters.pause(
        _path_cluster(runtime, cluster), namespace, viewer.name or "admin"
    )
    runtime.audit.record(viewer.name, "cluster.pause", pause.cluster, {"namespace": namespace})
    return PauseState(cluster=pause.cluster, namespace=pause.namespace, paused=pause_model(pause))


@router.post("/{cluster}/resume")
def resume_cluster(
    cluster: str, runtime: RuntimeDep, viewer: AdminDep, body: PauseRequest | None = None
) -> PauseState:
    """Lift the pause of the cluster (no body) or of one namespace (admins); the jobs it held
    take the submit slot within a second or so. Resuming what is not paused is no error."""
    namespace = body.namespace if body else None
    found, ns = runtime.clusters.resume(_path_cluster(runtime, cluster), namespace)
    runtime.audit.record(viewer.name, "cluster.resume", found.name, {"namespace": ns})
    # A namespace resumed while its whole cluster stays paused is still paused: say so.
    left = runtime.clusters.pause_of(found.name, ns) if ns else None
    return PauseState(cluster=found.name, namespace=ns, paused=pause_model(left))
