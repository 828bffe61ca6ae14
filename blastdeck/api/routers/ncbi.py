"""/blast/Blast.cgi: NCBI's BLAST Common URL API over BlastDeck jobs (see blastdeck.ncbi_api).

Errors of CMD=Put answer 200 with NCBI's error page, because that is what its clients read
(Biopython raises the page's message); other errors (and a missing or bad token, 401) answer
with their own status and the same page.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from blastdeck.api.deps import RuntimeDep
from blastdeck.auth import Viewer, authenticate, bearer_token
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.pipeline_model import Phase, is_terminal
from blastdeck.ncbi_api import (
    error_page,
    put_page,
    put_request,
    report,
    search_status,
    status_page,
)
from blastdeck.results.export_renders import ExportFile
from blastdeck.results.formats import ExportFormat
from blastdeck.results.per_query import PerQueryZip
from blastdeck.results.tabular import blast_csv_lines
from blastdeck.runtime import Runtime
from blastdeck.store.models import Job

router = APIRouter(tags=["ncbi"])
_WAIT_STEP_S = 0.1
_CHUNK = 1 << 16


_DOC = """NCBI URL API: CMD=Put (submit), CMD=Get (status with FORMAT_OBJECT=SearchInfo, else
the report in FORMAT_TYPE), CMD=Delete (cancel, or delete a finished search). See
docs/ncbi-url-api.md."""


# The parameters NCBI's clients send (docs/ncbi-url-api.md); all optional strings here, checked
# by blastdeck.ncbi_api with NCBI's error page for bad ones.
_PARAMETERS = (
    "CMD", "RID", "TOKEN", "PROGRAM", "DATABASE", "QUERY", "SERVICE", "MEGABLAST", "EXPECT",
    "HITLIST_SIZE", "WORD_SIZE", "MATRIX_NAME", "GAPCOSTS", "FILTER", "PERC_IDENT",
    "NUCL_REWARD", "NUCL_PENALTY", "THRESHOLD", "ENTREZ_QUERY", "FORMAT_TYPE", "FORMAT_OBJECT",
    "ALIGNMENT_VIEW",
)  # fmt: skip
_STRING = {"type": "string"}
_PAGE = {"text/html": {"schema": _STRING}}
# The reports are text, except JSON2_S (BLAST's JSON report, an object) and XML2 / JSON2 (a zip
# of one file per query).
_REPORT = {f.media_type: {"schema": _STRING} for f in ExportFormat} | {
    ExportFormat.JSON.media_type: {"schema": {"type": "object"}},
    PerQueryZip.XML2.media_type: {"schema": {"type": "string", "format": "binary"}},
}
_RESPONSES: dict[int | str, dict] = {
    200: {
        "description": "QBlastInfo page, status page, error page of a Put, or the report",
        "content": _PAGE | _REPORT,
    },
    **{
        status: {"description": "NCBI's error page with the error_code", "content": _PAGE}
        for status in (401, 404, 405, 409, 413, 422, 429, 503, 507)
    },
}
_GET_EXTRA = {"parameters": [{"name": n, "in": "query", "schema": _STRING} for n in _PARAMETERS]}
_POST_EXTRA = {
    **_GET_EXTRA,
    "requestBody": {
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "properties": {n: _STRING for n in _PARAMETERS}}
            }
        }
    },
}


@router.get(
    "/blast/Blast.cgi",
    response_class=HTMLResponse,
    description=_DOC,
    responses=_RESPONSES,
    openapi_extra=_GET_EXTRA,
)
async def blast_cgi_get(request: Request, runtime: RuntimeDep) -> Response:
    return await _blast_cgi(request, runtime)


@router.post(
    "/blast/Blast.cgi",
    response_class=HTMLResponse,
    description=_DOC,
    responses=_RESPONSES,
    openapi_extra=_POST_EXTRA,
)
async def blast_cgi_post(request: Request, runtime: RuntimeDep) -> Response:
    return await _blast_cgi(request, runtime)


async def _blast_cgi(request: Request, runtime: Runtime) -> Response:
    params = await _params(request)
    command = params.get("CMD", "").strip().lower()
    try:
        # The REST API's token, as a header or (for clients that cannot set one) TOKEN=...
        token = bearer_token(request.headers.get("authorization")) or params.get("TOKEN")
        viewer = authenticate(runtime.settings.auth_enabled, runtime.users, token)
        if command == "put":
            return await _put(params, runtime, viewer)
        if command == "get":
            return await _get(params, runtime, viewer)
        if command == "delete":
            return await _delete(params, runtime, viewer)
        raise BlastDeckError(
            ErrorCode.UNKNOWN_COMMAND,
            f"Unknown CMD {command[:20]!r}; use Put, Get or Delete.",
            field="CMD",
        )
    except BlastDeckError as exc:
        # A refused Put answers 200 so clients show the page's message; a missing token or a
        # broker that is down keep their own status.
        own_status = exc.code in (ErrorCode.UNAUTHORIZED, ErrorCode.BROKER_UNAVAILABLE)
        status = 200 if command == "put" and not own_status else exc.http_status
        return HTMLResponse(error_page(exc), status_code=status)


async def _params(request: Request) -> dict[str, str]:
    """Query string and form fields, names upper-cased as NCBI documents them."""
    params = {k.upper(): v for k, v in request.query_params.items()}
    if request.method == "POST":
        form = await request.form()
        params.update({k.upper(): v for k, v in form.items() if isinstance(v, str)})
    return params


async def _put(params: dict[str, str], runtime: Runtime, viewer: Viewer) -> Response:
    job = await run_in_threadpool(runtime.service.submit, put_request(params), viewer)
    rtoe = max(1, job.query_letters // 50_000)  # a rough estimate; clients only wait on it
    return HTMLResponse(put_page(job.id, rtoe))


async def _get(params: dict[str, str], runtime: Runtime, viewer: Viewer) -> Response:
    rid = params.get("RID", "").strip()
    search_info = params.get("FORMAT_OBJECT", "").strip().lower() == "searchinfo"
    job = await _job_when_done(runtime, rid, viewer, wait=not search_info)
    status = search_status(Phase(job.phase) if job else None)
    if search_info:
        hits = job.hsps_total > 0 if job and status == "READY" else None
        return HTMLResponse(status_page(status, hits))
    wanted = report(params)  # an unsupported FORMAT_TYPE is refused whatever the status
    if status != "READY":
        message = (job.error or "") if job and status == "FAILED" else ""
        return HTMLResponse(status_page(status, message=message))
    if wanted.export is ExportFormat.CSV:
        tables = await run_in_threadpool(runtime.service.hit_tables, job.id, viewer)
        return StreamingResponse(blast_csv_lines(tables), media_type="text/csv")
    handle = await run_in_threadpool(runtime.service.open_export, job.id, wanted.export, viewer)
    head, tail = wanted.head.encode(), wanted.tail.encode()
    headers = {}
    if handle.size is not None:  # else it is read while it is made: chunked
        headers["Content-Length"] = str(len(head) + handle.size + len(tail))
    return StreamingResponse(
        _wrapped(head, handle, tail), media_type=wanted.media_type, headers=headers
    )


def _wrapped(head: bytes, handle: ExportFile, tail: bytes) -> Iterator[bytes]:
    """The export's bytes between NCBI's wrapping; the file is read whole even if the job is
    deleted meanwhile (a render failing midway raises: the connection is cut)."""
    with handle:
        yield head
        while chunk := handle.read(_CHUNK):
            yield chunk
        yield tail


async def _job_when_done(runtime: Runtime, rid: str, viewer: Viewer, wait: bool) -> Job | None:
    """The job of an RID (None if unknown, or another user's); a report request waits a
    little for it to end."""
    try:
        job = await run_in_threadpool(runtime.service.get, rid, viewer)
    except BlastDeckError:
        return None
    deadline = time.monotonic() + (runtime.settings.ncbi_get_wait_s if wait else 0)
    while not is_terminal(Phase(job.phase)) and time.monotonic() < deadline:
        await asyncio.sleep(_WAIT_STEP_S)
        job = await run_in_threadpool(runtime.service.get, rid, viewer)
    return job


async def _delete(params: dict[str, str], runtime: Runtime, viewer: Viewer) -> Response:
    rid = params.get("RID", "").strip()
    try:
        job = await run_in_threadpool(runtime.service.get, rid, viewer)
    except BlastDeckError:
        return HTMLResponse(status_page("UNKNOWN"))
    if is_terminal(Phase(job.phase)):
        await run_in_threadpool(runtime.service.delete, job.id, viewer)
    else:
        await run_in_threadpool(runtime.service.cancel, job.id, viewer)
    return HTMLResponse(status_page("UNKNOWN", message=f"Search {job.id} was deleted."))
