"""Every error response has the same body: {error_code, message, field?, detail?}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from blastdeck.domain.errors import BlastDeckError, ErrorCode, http_status_of
from blastdeck.store.disk_full import is_disk_full

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer of the JSON API."""

    error_code: ErrorCode
    message: str
    field: str | None = None
    detail: dict[str, Any] | None = None


_ERROR_STATUSES = {
    400: "The body could not be read (not JSON, or not the expected shape)",
    401: "No valid token (auth is on)",
    403: "Not allowed (admins only, or a missing CSRF header)",
    404: "No such job, database or route (other users' jobs are not found either)",
    409: "Not in this state (e.g. cancelling a finished job)",
    410: "A completed job's results are gone from the data dir (results_missing)",
    413: "The body is larger than the upload limit",
    422: "Invalid input; `field` names it",
    429: "Over a quota or the submit rate (see Retry-After)",
    503: "A service the request needs is down (the broker, the job database)",
    507: "The disk is full (the data dir, or the job database's): free space or delete old jobs",
}
# Declared on every JSON router so the OpenAPI document lists the error answers as they are
# (also replacing FastAPI's default 422 schema, which is not our body).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in _ERROR_STATUSES.items()
}


def error_body(code: ErrorCode, message: str, field: str | None = None, **detail: Any) -> dict:
    body: dict[str, Any] = {"error_code": code.value, "message": message, "field": field}
    if detail:
        body["detail"] = detail
    return body


def error_response(exc: BlastDeckError) -> JSONResponse:
    body = error_body(exc.code, exc.message, exc.field, **exc.detail)
    retry_after = exc.detail.get("retry_after_s")
    headers = {"retry-after": retry_after} if retry_after else None
    return JSONResponse(body, status_code=exc.http_status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BlastDeckError)
    async def _domain(_: Request, exc: BlastDeckError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(where) or None
        message = (
            f"{field}: {first.get('msg')}" if field else str(first.get("msg", "invalid request"))
        )
        errors = [
            {"loc": list(map(str, e.get("loc", ()))), "msg": e.get("msg")} for e in exc.errors()
        ]
        return JSONResponse(
            error_body(ErrorCode.INVALID_REQUEST, message, field, errors=errors[:20]),
            status_code=422,
        )

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        code = {
            404: ErrorCode.NOT_FOUND,
            405: ErrorCode.METHOD_NOT_ALLOWED,
            413: ErrorCode.PAYLOAD_TOO_LARGE,
        }.get(exc.status_code, ErrorCode.INVALID_REQUEST)
        message = str(exc.detail)
        if exc.status_code in (404, 405) and message in ("Not Found", "Method Not Allowed"):
            message = f"{message}: {request.method} {request.url.path[:200]} (routes: /docs)"
        return JSONResponse(
            error_body(code, message), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(OperationalError)
    async def _database_down(_: Request, exc: OperationalError) -> JSONResponse:
        if is_disk_full(exc):  # not an outage: it lasts until someone frees space
            log.warning("the job database's disk is full: %s", exc.orig)
            return JSONResponse(
                error_body(
                    ErrorCode.STORAGE_FULL,
                    "The disk holding the job database is full, so nothing was changed; free "
                    "some space on it (or delete old jobs) and try again.",
                ),
                status_code=http_status_of(ErrorCode.STORAGE_FULL),
            )
        # The database restarting or unreachable: worth retrying, not a bug of ours.
        log.warning("database unavailable: %s", exc.orig)
        return JSONResponse(
            error_body(
                ErrorCode.DATABASE_UNAVAILABLE,
                "The job database is not answering right now; try again shortly.",
            ),
            status_code=503,
            headers={"retry-after": "5"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse(
            error_body(ErrorCode.INTERNAL_ERROR, f"internal error: {type(exc).__name__}"),
            status_code=500,
        )
