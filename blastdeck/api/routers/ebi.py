"""/ebi/ncbiblast: EBI's Job Dispatcher REST API for NCBI BLAST over BlastDeck jobs (see
blastdeck.ebi_api).

EBI's clients cannot send headers, so with auth on the API token rides in the base URL:
`/ebi/t/<token>/ncbiblast/...` (an `Authorization: Bearer` header works on `/ebi/ncbiblast`
too). Those routes are left out of the OpenAPI document (a token has no place in one); the
server's access log writes their path with the token replaced (`api/server.py`). Errors answer
EBI's `<error><description>` body: 400 for a bad parameter or result type (EBI's status for
bad input), else the error's own status (401, 404 for an unknown job, 409 before a job has
finished, 429, 503).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from blastdeck.api.deps import RuntimeDep
from blastdeck.api.file_stream import OpenFileResponse
from blastdeck.auth import Viewer, authenticate, bearer_token
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.pipeline_model import Phase
from blastdeck.ebi_api import (
    RESULT_TYPES,
    acc_lines,
    error_xml,
    id_lines,
    job_status,
    parameter,
    parameter_details_xml,
    parameters_xml,
    result_type,
    result_types_xml,
    run_request,
)
from blastdeck.ebi_reports import ebi_json_bytes, ebi_xml_bytes, search_info
from blastdeck.results.formats import ExportFormat
from blastdeck.results.hits import hit_table
from blastdeck.runtime import Runtime

router = APIRouter(tags=["ebi"])
BASE = "/ebi/ncbiblast"
TOKEN_BASE = "/ebi/t/{token}/ncbiblast"
XML = "application/xml"
_STRING = {"schema": {"type": "string"}}
_ERROR_BODY = {"description": "EBI's error body with the error_code", "content": {XML: _STRING}}
_ERRORS: dict[int | str, dict] = {s: _ERROR_BODY for s in (400, 401, 404, 409, 413, 429, 503)}
_TEXT = {"text/plain": _STRING}
# Every result is text, except json: EBI's document (a list of them for several queries).
_DOCUMENT = {"type": "object"}
_RESULT_CONTENT = {t.media_type: _STRING for t in RESULT_TYPES} | {
    "application/json": {"schema": {"oneOf": [_DOCUMENT, {"type": "array", "items": _DOCUMENT}]}}
}
_RUN_FIELDS = ("email", "title", "program", "stype", "sequence", "database", "task", "matrix",
               "alignments", "scores", "exp", "dropoff", "match_scores", "gapopen", "gapext",
               "filter", "seqrange", "gapalign", "wordsize", "taxids", "negative_taxids",
               "compstats", "align", "transltable", "hsps")  # fmt: skip
_RUN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {n: {"type": "string"} for n in _RUN_FIELDS},
                    "required": ["email", "program", "sequence", "database"],
                }
            }
        },
    }
}

Handler = Callable[..., Awaitable[Response]]


def _route(  # type: ignore[no-untyped-def]
    path: str, methods: list[str], summary: str, content: dict, listed: bool = True, **extra: object
):
    """The route at the open base and (auth on) at the token base."""

    def register(handler: Handler) -> Handler:
        responses = {200: {"description": summary, "content": content}, **_ERRORS}
        for base, in_schema in ((BASE, listed), (TOKEN_BASE, False)):
            router.add_api_route(
                base + path,
                handler,
                methods=methods,
                summary=summary,
                response_class=Response,
                responses=responses,
                include_in_schema=in_schema,
                **extra,  # type: ignore[arg-type]
            )
        return handler

    return register


def _viewer(request: Request, runtime: Runtime) -> Viewer:
    token = request.path_params.get("token") or bearer_token(request.headers.get("authorization"))
    try:
        return authenticate(runtime.settings.auth_enabled, runtime.users, token)
    except BlastDeckError as exc:
        hint = "EBI's clients: put the token in the base URL, /ebi/t/<token>/ncbiblast."
        raise BlastDeckError(exc.code, f"{exc.message} {hint}") from None


def _error(exc: BlastDeckError) -> Response:
    status = 400 if exc.http_status == 422 else exc.http_status
    retry = exc.detail.get("retry_after_s")  # rate limits say when to come back
    headers = {"retry-after": retry} if retry else None
    return Response(error_xml(exc), status_code=status, media_type=XML, headers=headers)


@_route("/parameters", ["GET"], "The names of run/'s parameters (EBI's XML)", {XML: _STRING})
async def ebi_parameters(request: Request, runtime: RuntimeDep) -> Response:
    try:
        _viewer(request, runtime)
    except BlastDeckError as exc:
        return _error(exc)
    return Response(parameters_xml(), media_type=XML)


@_route("/parameterdetails/{name}", ["GET"], "One parameter: its type and values", {XML: _STRING})
async def ebi_parameter_details(request: Request, runtime: RuntimeDep, name: str) -> Response:
    try:
        viewer = _viewer(request, runtime)
        param = parameter(name)
        databases = await run_in_threadpool(runtime.databases.list, viewer)
        values = [(d.name, d.title or d.name) for d in databases]
    except BlastDeckError as exc:
        return _error(exc)
    return Response(parameter_details_xml(param, values), media_type=XML)


@_route(
    "/run",
    ["POST"],
    "Submit a search (form fields as EBI's clients send them); answers the job id",
    _TEXT,
    openapi_extra=_RUN_BODY,
)
async def ebi_run(request: Request, runtime: RuntimeDep) -> Response:
    try:
        viewer = _viewer(request, runtime)
        try:
            form = await request.form()
        except HTTPException as exc:  # a malformed body (Starlette's own 400)
            message = f"The form cannot be read: {exc.detail}"
            raise BlastDeckError(ErrorCode.INVALID_REQUEST, message) from None
        params: dict[str, str] = {}
        for key, value in form.multi_items():
            if not isinstance(value, str):
                raise BlastDeckError(
                    ErrorCode.INVALID_REQUEST, f"{key[:40]} must be a form field, not a file."
                )
            if key in params:
                raise BlastDeckError(
                    ErrorCode.INVALID_REQUEST, f"{key[:40]} is given more than once.", field=key
                )
            params[key] = value
        job = await run_in_threadpool(runtime.service.submit, run_request(params), viewer)
    except BlastDeckError as exc:
        return _error(exc)
    return PlainTextResponse(job.id)


# EBI's clients post to run/ (with the slash): the same route.
router.add_api_route(BASE + "/run/", ebi_run, methods=["POST"], include_in_schema=False)
router.add_api_route(TOKEN_BASE + "/run/", ebi_run, methods=["POST"], include_in_schema=False)


@_route("/status/{job_id}", ["GET"], "QUEUED, RUNNING, FINISHED, FAILURE, ERROR, NOT_FOUND", _TEXT)
async def ebi_status(request: Request, runtime: RuntimeDep, job_id: str) -> Response:
    try:
        viewer = _viewer(request, runtime)
    except BlastDeckError as exc:
        return _error(exc)
    try:
        job = await run_in_threadpool(runtime.service.get, job_id, viewer)
        phase: Phase | None = Phase(job.phase)
    except BlastDeckError:
        phase = None  # unknown, or another user's: the same answer
    return PlainTextResponse(job_status(phase))


@_route("/resulttypes/{job_id}", ["GET"], "The result types of a finished job", {XML: _STRING})
async def ebi_result_types(request: Request, runtime: RuntimeDep, job_id: str) -> Response:
    try:
        viewer = _viewer(request, runtime)
        await run_in_threadpool(runtime.service.completed, job_id, viewer)
    except BlastDeckError as exc:
        return _error(exc)
    return Response(result_types_xml(), media_type=XML)


@_route("/result/{job_id}/{type}", ["GET"], "One result of a finished job", _RESULT_CONTENT)
async def ebi_result(request: Request, runtime: RuntimeDep, job_id: str, type: str) -> Response:
    try:
        viewer = _viewer(request, runtime)
        kind = result_type(type)
        job = await run_in_threadpool(runtime.service.completed, job_id, viewer)
        if kind.export is not None:
            open_export = runtime.service.open_export
            handle = await run_in_threadpool(open_export, job.id, kind.export, viewer)
            name = f"{job.id}.{kind.identifier}.{kind.file_suffix}"
            return OpenFileResponse(handle, media_type=kind.media_type, filename=name)
        if kind.identifier in ("json", "xml"):
            export = await run_in_threadpool(
                runtime.service.export, job.id, ExportFormat.JSON, viewer
            )
            render = ebi_json_bytes if kind.identifier == "json" else ebi_xml_bytes
            body = await run_in_threadpool(render, export, search_info(job))
            return Response(body, media_type=kind.media_type)
        if kind.identifier == "sequence":
            text = await run_in_threadpool(runtime.service.query_fasta, job.id, viewer)
        else:
            table = await run_in_threadpool(runtime.service.results_index, job.id, viewer)
            hits = hit_table(table)
            subjects = (table.subject_ids[int(code)] for code in hits.columns["subject"])
            accs = kind.identifier == "accs"
            text = acc_lines(subjects) if accs else id_lines(job.database, subjects)
    except BlastDeckError as exc:
        return _error(exc)
    return PlainTextResponse(text)


@_route("/{rest:path}", ["GET", "POST"], "Anything else: EBI's error body", _TEXT, listed=False)
async def ebi_unknown(request: Request, runtime: RuntimeDep, rest: str) -> Response:
    # Never echoes the path: under the token base it holds the token.
    del request, runtime, rest
    return _error(
        BlastDeckError(
            ErrorCode.NOT_FOUND,
            "No such resource; the service offers parameters, parameterdetails/{name}, run/, "
            "status/{jobId}, resulttypes/{jobId} and result/{jobId}/{type}.",
        )
    )
