"""/api/jobs: submit, list, inspect, cancel, delete; hits and downloads."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse, PlainTextResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from blastdeck.api.deps import RuntimeDep, ViewerDep
from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.api.payloads import event_payload, job_payload
from blastdeck.api.stream import job_events_stream
from blastdeck.auth import Viewer
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.pipeline_model import JobStatus
from blastdeck.job_service import SubmitRequest
from blastdeck.results.browse import (
    HitSort,
    HspSort,
    ResultFilter,
    hit_page,
    hsp_page,
    query_summary,
)
from blastdeck.results.formats import ExportFormat, parse_export_format
from blastdeck.runtime import Runtime

router = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=ERROR_RESPONSES)
# Bounds for list positions and indexes: far beyond any real job, well inside every integer
# type (an unbounded offset reached SQL as an integer overflow).
MAX_OFFSET = 10**9


class JobCreate(BaseModel):
    program: str = Field(examples=["blastn"])
    database: str = Field(examples=["demo-16s"])
    query: str = Field(description="FASTA text (or one bare sequence)")
    title: str | None = None
    cluster: str | None = Field(default=None, description="default: local")
    namespace: str | None = Field(default=None, description="default: the cluster's")
    options: dict[str, Any] | None = Field(
        default=None,
        description="BLAST options from the allow-list, e.g. {evalue, max_target_seqs, word_size,"
        " task, matrix, gapopen, gapextend, perc_identity, qcov_hsp_perc}",
    )


_MULTIPART_SCHEMA = {
    "type": "object",
    "required": ["program", "database", "query"],
    "properties": {
        "program": {"type": "string"},
        "database": {"type": "string"},
        "query": {"type": "string", "format": "binary", "description": "FASTA file"},
        "title": {"type": "string"},
        "cluster": {"type": "string"},
        "namespace": {"type": "string"},
        "options": {"type": "string", "description": "JSON object of BLAST options"},
    },
}
_SUBMIT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/JobCreate"}},
            "multipart/form-data": {"schema": _MULTIPART_SCHEMA},
        },
    }
}


@router.post("", status_code=202, openapi_extra=_SUBMIT_BODY)
async def submit_job(request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    """Submit a search as JSON, or as multipart form data with the query as a file."""
    submit = await _read_submit(request)
    job = await run_in_threadpool(runtime.service.submit, submit, viewer)
    return job_payload(job)


@router.get("")
def list_jobs(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    status: JobStatus | None = None,
    q: Annotated[str | None, Query(max_length=200, description="title, id, program or DB")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, Any]:
    jobs, total = runtime.jobs.list(
        status=status,
        owner_id=viewer.owner_filter,
        search=q.strip() if q else None,
        limit=limit,
        offset=offset,
    )
    return {
        "items": [job_payload(j) for j in jobs],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


@router.get("/{job_id}")
def get_job(job_id: str, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    return job_payload(runtime.service.get(job_id, viewer))


@router.get(
    "/{job_id}/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},  # events: see the docstring
)
def job_stream(job_id: str, request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> Response:
    """Server-sent events: `event: job` with the same JSON as `GET /api/jobs/{id}`, sent on
    connect and on every change; the stream ends after the job has ended."""
    job = runtime.service.get(job_id, viewer)
    return StreamingResponse(
        job_events_stream(runtime, job.id, request.is_disconnected),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


@router.get(
    "/{job_id}/query",
    response_class=Response,  # so the error answers stay documented as JSON
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def job_query(job_id: str, runtime: RuntimeDep, viewer: ViewerDep) -> PlainTextResponse:
    """The query as it was submitted (normalized FASTA), e.g. to run the search again."""
    job = runtime.service.get(job_id, viewer)
    return PlainTextResponse(job.query_fasta)


@router.get(
    "/{job_id}/config",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def job_config(job_id: str, runtime: RuntimeDep, viewer: ViewerDep) -> PlainTextResponse:
    """The exact BLAST command line of each batch (and, on SLURM, the sbatch script), as the
    Configure step wrote them."""
    text = await run_in_threadpool(runtime.service.config_preview, job_id, viewer)
    return PlainTextResponse(text)


@router.get("/{job_id}/events")
def job_events(
    job_id: str,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> dict[str, Any]:
    job = runtime.service.get(job_id, viewer)
    return {"items": [event_payload(e) for e in runtime.jobs.events(job.id, after_id=after)]}


@router.post("/{job_id}/cancel", status_code=202)
def cancel_job(job_id: str, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    return job_payload(runtime.service.cancel(job_id, viewer))


@router.delete("/{job_id}", status_code=204)
def delete_job(job_id: str, runtime: RuntimeDep, viewer: ViewerDep) -> Response:
    runtime.service.delete(job_id, viewer)
    return Response(status_code=204)


@router.get("/{job_id}/hits")
def job_hits(
    job_id: str,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    sort: HitSort = "evalue",
    order: Literal["asc", "desc"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    query_id: Annotated[str | None, Query(max_length=200)] = None,
    query_index: Annotated[int | None, Query(ge=0, le=MAX_OFFSET)] = None,
    min_pident: Annotated[float | None, Query(ge=0, le=100)] = None,
    min_qcovs: Annotated[float | None, Query(ge=0, le=100)] = None,
    max_evalue: Annotated[float | None, Query(ge=0)] = None,
) -> dict[str, Any]:
    """The hits: one row per query and subject, as NCBI's descriptions table (max score, total
    score, query cover, best e-value, highest identity, subject length, HSP count). Default
    order is BLAST's: e-value, then max score, then query order; `sort=query` is input order.
    While the job runs, the batches finished so far (`partial`)."""
    table = runtime.service.results_index(job_id, viewer)
    filters = ResultFilter(query_id, query_index, min_pident, min_qcovs, max_evalue)
    descending = order == "desc" if order else None
    rows, total = hit_page(table, sort, descending, filters, limit, offset)
    return _page(runtime, job_id, viewer, rows, total, limit, offset)


@router.get("/{job_id}/hsps")
def job_hsps(
    job_id: str,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    sort: HspSort = "evalue",
    order: Literal["asc", "desc"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    query_id: Annotated[str | None, Query(max_length=200)] = None,
    query_index: Annotated[int | None, Query(ge=0, le=MAX_OFFSET)] = None,
    min_pident: Annotated[float | None, Query(ge=0, le=100)] = None,
    min_qcovhsp: Annotated[float | None, Query(ge=0, le=100)] = None,
    max_evalue: Annotated[float | None, Query(ge=0)] = None,
) -> dict[str, Any]:
    """Every HSP of the job, filtered; by default BLAST's order (e-value, then bit score, then
    query order). Scores, identities and lengths sort high first unless `order` says otherwise."""
    table = runtime.service.results_index(job_id, viewer)
    filters = ResultFilter(query_id, query_index, min_pident, min_qcovhsp, max_evalue)
    descending = order == "desc" if order else None
    rows, total = hsp_page(table, sort, descending, filters, limit, offset)
    return _page(runtime, job_id, viewer, rows, total, limit, offset)


def _page(
    runtime: Runtime,
    job_id: str,
    viewer: Viewer,
    rows: list[dict[str, Any]],
    total: int,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    job = runtime.service.get(job_id, viewer)
    return {
        "items": rows,
        "total": total,
        "limit": limit,
        "offset": offset,
        "partial": job.phase != "completed",
        "batches_done": job.batches_done,
        "batches_total": job.batches_total,
    }


@router.get("/{job_id}/queries")
def job_queries(job_id: str, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    """Every query of the job (those indexed so far while it runs), in input order, with its
    length and its hit and HSP counts."""
    table = runtime.service.results_index(job_id, viewer)
    return {"items": query_summary(table)}


@router.get("/{job_id}/alignments")
async def job_alignments(
    job_id: str,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    query_index: Annotated[int | None, Query(ge=0, le=MAX_OFFSET)] = None,
    query_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, Any]:
    """One query's HSPs with their aligned sequences (query, midline, subject), in BLAST's
    order; the query by its place in the job (`query_index`, from /queries) or by its id. The
    first request of a job builds them from its BLAST JSON."""
    if query_index is None:
        if query_id is None:
            raise BlastDeckError(
                ErrorCode.INVALID_REQUEST, "Give query_index (or query_id).", field="query_index"
            )
        table = await run_in_threadpool(runtime.service.results_index, job_id, viewer)
        found = [i for i, qid in sorted(table.query_ids.items()) if qid == query_id]
        query_index = found[0] if found else -1
    rows = await run_in_threadpool(runtime.service.alignments, job_id, query_index, viewer)
    return {
        "items": rows[offset : offset + limit],
        "total": len(rows),
        "limit": limit,
        "offset": offset,
    }


@router.get(
    "/{job_id}/download",
    response_class=FileResponse,
    responses={200: {"content": {f.media_type: {} for f in ExportFormat}}},
)
async def download(
    job_id: str, runtime: RuntimeDep, viewer: ViewerDep, format: str = "tsv"
) -> FileResponse:
    """The whole result as one document: tsv, csv, json, xml, xml2, text (pairwise), html,
    tabular (commented hit table) or asn1."""
    fmt = parse_export_format(format)
    path = await run_in_threadpool(runtime.service.export, job_id, fmt, viewer)
    return FileResponse(
        path, media_type=fmt.media_type, filename=f"blastdeck-{job_id[:8]}.{fmt.extension}"
    )


async def _read_submit(request: Request) -> SubmitRequest:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("query")
        query = await upload.read() if isinstance(upload, UploadFile) else upload
        return SubmitRequest(
            program=_form_text(form.get("program")),
            database=_form_text(form.get("database")),
            query=query or "",
            title=_form_text(form.get("title")) or None,
            cluster=_form_text(form.get("cluster")) or None,
            namespace=_form_text(form.get("namespace")) or None,
            options=_json_options(_form_text(form.get("options"))),
        )
    try:
        body = JobCreate.model_validate_json(await request.body())
    except ValueError as exc:
        raise BlastDeckError(
            ErrorCode.INVALID_REQUEST, f"Body is not a valid job request: {_first_error(exc)}"
        ) from None
    return SubmitRequest(**body.model_dump())


def _form_text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _json_options(text: str) -> dict[str, Any] | None:
    if not text.strip():
        return None
    try:
        options = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python recurses
        raise BlastDeckError(
            ErrorCode.INVALID_OPTION_VALUE, "options must be a JSON object.", field="options"
        ) from None
    return options


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors) and errors():
        first = errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
    return str(exc)[:200]
