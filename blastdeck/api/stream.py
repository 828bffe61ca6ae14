"""Server-sent events for one job: the job's JSON on connect and again on every change.

Every transition bumps the job's `updated_at` (store/jobs.py), so watching that one column is
enough to notice a change, whichever process (this server, a pipeline thread, a Celery worker)
made it. The check is one indexed read, cheap enough to do every 100 ms per open stream.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.concurrency import run_in_threadpool

from blastdeck.api.payloads import job_payload
from blastdeck.runtime import Runtime

CHECK_INTERVAL_S = 0.1
# A `ping` event on a quiet stream keeps proxies from closing it and lets the page tell a
# quiet stream from a dead one (it gives up after two missed pings).
KEEPALIVE_S = 15.0
RECONNECT_MS = 1000  # what EventSource waits before reconnecting after a drop


def sse_event(name: str, data: str) -> str:
    return f"event: {name}\ndata: {data}\n\n"


async def job_events_stream(
    runtime: Runtime, job_id: str, is_disconnected: Callable[[], Awaitable[bool]]
) -> AsyncIterator[str]:
    yield f"retry: {RECONNECT_MS}\n\n"
    seen = None
    last_sent = ""
    last_write = time.monotonic()
    while not await is_disconnected():
        changed_at = await run_in_threadpool(runtime.jobs.changed_at, job_id)
        if changed_at is None:  # deleted while watched
            yield sse_event("gone", json.dumps({"id": job_id}))
            return
        if changed_at != seen:
            job = await run_in_threadpool(runtime.jobs.get, job_id)
            if job is None:  # deleted between the two reads
                yield sse_event("gone", json.dumps({"id": job_id}))
                return
            # The job may have changed again between the two reads: remember the version sent,
            # not the one noticed, and never send the same state twice.
            seen = job.updated_at
            payload = job_payload(job)
            data = json.dumps(payload)
            if data != last_sent:
                yield sse_event("job", data)
                last_sent, last_write = data, time.monotonic()
            if payload["poll_after_ms"] is None:  # ended: nothing more will change
                return
        elif time.monotonic() - last_write > KEEPALIVE_S:
            yield sse_event("ping", "{}")
            last_write = time.monotonic()
        await asyncio.sleep(CHECK_INTERVAL_S)
