"""Server-sent events for one job: the job's JSON on connect and again on every change.

Streams do not read the database: the process's one `JobWatcher` (job_watch.py) reads a changed
job once and wakes every stream watching it, so a thousand open streams cost what one does.
A disconnect cancels the generator (Starlette listens for it), which ends the subscription.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

from blastdeck.api.payloads import job_payload
from blastdeck.job_watch import JobWatcher
from blastdeck.store.models import Job

# A `ping` event on a quiet stream keeps proxies from closing it and lets the page tell a
# quiet stream from a dead one (it gives up after two missed pings).
KEEPALIVE_S = 15.0
RECONNECT_MS = 1000  # what EventSource waits before reconnecting after a drop


def sse_event(name: str, data: str) -> str:
    return f"event: {name}\ndata: {data}\n\n"


def render_job(job: Job) -> tuple[bytes, bool]:
    """The whole `job` event (data: the same JSON as `GET /api/jobs/{id}`), encoded once for
    every stream, and whether the job has ended."""
    payload = job_payload(job)
    return sse_event("job", json.dumps(payload)).encode(), payload["poll_after_ms"] is None


async def job_events_stream(watcher: JobWatcher, job_id: str) -> AsyncIterator[str | bytes]:
    yield f"retry: {RECONNECT_MS}\n\n"
    subscription = watcher.subscribe(job_id)
    try:
        sent_seq = 0
        last_write = time.monotonic()
        while True:
            snapshot = subscription.latest()
            if snapshot is not None and snapshot.seq != sent_seq:
                sent_seq = snapshot.seq
                if snapshot.data is None:  # deleted while watched
                    yield sse_event("gone", json.dumps({"id": job_id}))
                    return
                yield snapshot.data
                last_write = time.monotonic()
                if snapshot.ended:  # nothing more will change
                    return
                continue
            quiet_for = time.monotonic() - last_write
            if not await subscription.wait(max(0.0, KEEPALIVE_S - quiet_for)):
                yield sse_event("ping", "{}")
                last_write = time.monotonic()
    finally:
        subscription.close()
