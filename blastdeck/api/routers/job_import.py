"""POST /api/jobs/import: a BLAST result made elsewhere (XML or archive) becomes a job.

The upload is streamed to a file in the data dir as it arrives (never held in memory, never
written outside the data dir; the request-body limit, `BLASTDECK_MAX_UPLOAD_BYTES`, applies as
to every upload), then read by `job_import.py`, which moves it into the job or removes it.
"""

from __future__ import annotations

import uuid
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from blastdeck.api.deps import RuntimeDep, ViewerDep
from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.api.payloads import job_model
from blastdeck.api.schemas.jobs import Job
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.job_import import MAX_TITLE_CHARS

router = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=ERROR_RESPONSES)

_MAX_FIELD_BYTES = 4096  # a text field (title)
_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "BLAST XML (-outfmt 5) or a BLAST archive "
                            "(-outfmt 11), told apart by content",
                        },
                        "title": {"type": "string", "maxLength": MAX_TITLE_CHARS},
                    },
                }
            }
        },
    }
}


@router.post("/import", status_code=201, openapi_extra=_IMPORT_BODY)
async def import_job(request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> Job:
    """Import a BLAST result made elsewhere: BLAST XML (`-outfmt 5`) or a BLAST archive
    (`-outfmt 11`). It becomes a completed job (source `imported`) whose hits, alignments and
    downloads work like a search's; a file that is not whole, or not BLAST's, is refused and
    nothing is stored. An archive needs its database registered here (blast_formatter reads
    it); an imported XML's downloads are its XML only (other formats: `format_unavailable`)."""
    jobs_dir = runtime.settings.jobs_dir
    jobs_dir.mkdir(parents=True, exist_ok=True)
    spool = jobs_dir / f".upload-{uuid.uuid4().hex}.part"
    try:
        fields, filename = await _spool_upload(request, spool)
        title = fields.get("title")
        job = await run_in_threadpool(
            partial(
                runtime.imports.import_file,
                spool,
                viewer,
                title=title,
                filename=filename,
                take=True,
            )
        )
    finally:
        spool.unlink(missing_ok=True)
    return job_model(job)


async def _spool_upload(request: Request, spool: Path) -> tuple[dict[str, str], str]:
    """Write the multipart body's `file` part to `spool` as it arrives; the text fields and
    the file's name are returned."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise _invalid("Send multipart/form-data with the BLAST file as the 'file' field.")
    fields: dict[str, str] = {}
    part: dict[str, Any] = {}
    header: list[bytes] = [b"", b""]
    found = {"file": False, "filename": ""}
    sink = spool.open("wb")

    def on_part_begin() -> None:
        part.clear()
        part.update(headers={}, name="", data=bytearray(), is_file=False)

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header[0] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header[1] += data[start:end]

    def on_header_end() -> None:
        part["headers"][header[0].lower()] = header[1]
        header[0], header[1] = b"", b""

    def on_headers_finished() -> None:
        _, disposition = parse_options_header(part["headers"].get(b"content-disposition", b""))
        part["name"] = disposition.get(b"name", b"").decode("utf-8", "replace")
        if part["name"] == "file":
            if found["file"]:
                raise _invalid("Send one file in the 'file' field.")
            found["file"] = part["is_file"] = True
            found["filename"] = disposition.get(b"filename", b"").decode("utf-8", "replace")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if part["is_file"]:
            sink.write(data[start:end])
            return
        part["data"] += data[start:end]
        if len(part["data"]) > _MAX_FIELD_BYTES:
            raise _invalid(
                f"The form field {part['name'][:40]!r} is over {_MAX_FIELD_BYTES} bytes."
            )

    def on_part_end() -> None:
        if not part["is_file"] and part["name"]:
            fields[part["name"]] = part["data"].decode("utf-8", "replace")

    callbacks = {
        "on_part_begin": on_part_begin,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise _invalid(f"The multipart body is not readable: {exc}") from None
    finally:
        sink.close()
    if not found["file"]:
        raise _invalid("Upload the BLAST XML or archive as the 'file' field.")
    return fields, str(found["filename"])


def _invalid(message: str) -> BlastDeckError:
    return BlastDeckError(ErrorCode.INVALID_REQUEST, message, field="file")
