"""/api/jobs: submit, list, look at one, follow it, cancel, delete."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import PlainTextResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from blastdeck.api.deps import RuntimeDep, ViewerDep
from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.api.params import AfterEventId, JobId, Offset, PageLimit
from blastdeck.api.payloads import event_model, job_model
from blastdeck.api.schemas.jobs import Job, JobCreate, JobEventList, JobPage
from blastdeck.api.stream import job_events_stream
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.job_titles import MAX_TITLE_CHARS
from blastdeck.domain.paging import MAX_SEARCH_CHARS
from blastdeck.domain.pipeline_model import JobStatus
from blastdeck.job_service import SubmitRequest

router = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=ERROR_RESPONSES)

_MULTIPART_SCHEMA = {
    "type": "object",
    "required": ["program", "database", "query"],
    "properties": {
        "program": {"type": "string"},
        "database": {"type": "string"},
        "query": {"type": "string", "format": "binary", "description": "FASTA file"},
        "title": {"type": "string", "maxLength": MAX_TITLE_CHARS},
        "cluster": {"type": "string"},
        "namespace": {"type": "string"},
        "options": {"type": "string", "description": "JSON object of BLAST options"},
        "notify": {"type": "string", "description": "JSON list of notification targets"},
    },
}
# The body is read by hand (JSON or multipart), so it is declared here; api/openapi_doc.py
# adds the JobCreate schema it refers to.
_SUBMIT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/JobCreate"}},
            "multipart/form-data": {"schema": _MULTIPART_SCHEMA},
        },
    }
}
_TEXT = {200: {"content": {"text/plain": {"schema": {"type": "string"}}}}}


@router.post("", status_code=202, openapi_extra=_SUBMIT_BODY)
async def submit_job(request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> Job:
    """Submit a search as JSON, or as multipart form data with the query as a file."""
    submit = await _read_submit(request)
    job = await run_in_threadpool(runtime.service.submit, submit, viewer)
    return job_model(job)


@router.get("")
def list_jobs(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    status: JobStatus | None = None,
    q: Annotated[
        str | None, Query(max_length=MAX_SEARCH_CHARS, description="title, id, program or DB")
    ] = None,
    limit: PageLimit = 50,
    offset: Offset = 0,
) -> JobPage:
    jobs, total = runtime.jobs.list(
        status=status,
        owner_id=viewer.owner_filter,
        search=q.strip() if q else None,
        limit=limit,
        offset=offset,
    )
    return JobPage(items=[job_model(j) for j in jobs], total=total, limit=limit, offset=offset)


@router.get("/{job_id}")
def get_job(runtime: RuntimeDep, viewer: ViewerDep, job_id: JobId) -> Job:
    return job_model(runtime.service.get(job_id, viewer))


@router.get(
    "/{job_id}/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},  # events: see the docstring
)
def job_stream(request: Request, runtime: RuntimeDep, viewer: ViewerDep, job_id: JobId) -> Response:
    """Server-sent events: `event: job` with the same JSON as `GET /api/jobs/{id}`, sent on
    connect and on every change; the stream ends after the job has ended."""
    job = runtime.service.get(job_id, viewer)
    return StreamingResponse(
        job_events_stream(request.app.state.job_watcher, job.id),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


@router.get("/{job_id}/query", response_class=Response, responses=_TEXT)
def job_query(runtime: RuntimeDep, viewer: ViewerDep, job_id: JobId) -> PlainTextResponse:
    """The query as it was submitted (normalized FASTA), e.g. to run the search again."""
    # response_class=Response keeps the error answers documented as JSON.
    return PlainTextResponse(runtime.service.query_fasta(job_id, viewer))


@router.get("/{job_id}/config", response_class=Response, responses=_TEXT)
async def job_config(runtime: RuntimeDep, viewer: ViewerDep, job_id: JobId) -> PlainTextResponse:
    """The exact BLAST command line of each batch (and, on SLURM, the sbatch script), as the
    Configure step wrote them."""
    text = await run_in_threadpool(runtime.service.config_preview, job_id, viewer)
    return PlainTextResponse(text)


@router.get("/{job_id}/events")
def job_events(
    runtime: RuntimeDep, viewer: ViewerDep, job_id: JobId, after: AfterEventId = 0
) -> JobEventList:
    job = runtime.service.get(job_id, viewer)
    return JobEventList(items=[event_model(e) for e in runtime.jobs.events(job.id, after_id=after)])


@router.post("/{job_id}/cancel", status_code=202)
def cancel_job(runtime: RuntimeDep, viewer: ViewerDep, job_id: JobId) -> Job:
    return job_model(runtime.service.cancel(job_id, viewer))


@router.delete("/{job_id}", status_code=204)
def delete_job(runtime: RuntimeDep, viewer: ViewerDep, job_id: JobId) -> Response:
    runtime.service.delete(job_id, viewer)
    return Response(status_code=204)


async def _read_submit(request: Request) -> SubmitRequest:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("query")
        query = await upload.read() if isinstance(upload, UploadFile) else upload
        return SubmitRequest(
            program=_form_text(form.get("program")),
            database=_form_text(form.get("database")) or None,
            query=query or "",
            title=_form_text(form.get("title")) or None,
            cluster=_form_text(form.get("cluster")) or None,
            namespace=_form_text(form.get("namespace")) or None,
            options=_json_options(_form_text(form.get("options"))),
            # repeated fields, each a name (or a comma-separated list of names)
            databases=_form_list(form.getlist("databases")),
            notify=_json_notify(_form_text(form.get("notify"))),
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


def _form_list(values: list[object]) -> list[str] | None:
    if not values:
        return None
    return [name for value in values for name in _form_text(value).split(",")]


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


def _json_notify(text: str) -> Any:
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise BlastDeckError(
            ErrorCode.INVALID_NOTIFICATION, "notify must be a JSON list.", field="notify"
        ) from None


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors) and errors():
        first = errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
    return str(exc)[:200]
