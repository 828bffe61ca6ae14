"""A multipart upload written to files as it arrives (never held in memory): the parts named
in `files` each go to their own file, the other fields are short text.

Used by the routes that take big files (`POST /api/jobs/import`, `POST /api/databases`); the
request-body limit (`BLASTDECK_MAX_UPLOAD_BYTES`, `body_size.py`) applies as to every upload.
The caller owns the files, and removes them whatever happens, so an upload cut off half-way
leaves nothing behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from blastdeck.domain.errors import BlastDeckError, ErrorCode

MAX_FIELD_BYTES = 4096  # a text field (a name, a title)


async def spool_multipart(
    request: Request, files: dict[str, Path], what: str
) -> tuple[dict[str, str], dict[str, str]]:
    """Write each part named in `files` to its path as it arrives; the text fields, and the
    file names the client gave (by field). `what` names the main file in messages."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise _invalid(f"Send multipart/form-data with {what} as the 'file' field.")
    fields: dict[str, str] = {}
    filenames: dict[str, str] = {}
    part: dict[str, Any] = {}
    header: list[bytes] = [b"", b""]
    sinks: dict[str, Any] = {}

    def on_part_begin() -> None:
        part.clear()
        part.update(headers={}, name="", data=bytearray(), sink=None)

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header[0] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header[1] += data[start:end]

    def on_header_end() -> None:
        part["headers"][header[0].lower()] = header[1]
        header[0], header[1] = b"", b""

    def on_headers_finished() -> None:
        _, disposition = parse_options_header(part["headers"].get(b"content-disposition", b""))
        name = part["name"] = disposition.get(b"name", b"").decode("utf-8", "replace")
        if name in files:
            if name in sinks:
                raise _invalid(f"Send one file in the {name!r} field.", name)
            sinks[name] = part["sink"] = files[name].open("wb")
            filenames[name] = disposition.get(b"filename", b"").decode("utf-8", "replace")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if part["sink"] is not None:
            part["sink"].write(data[start:end])
            return
        part["data"] += data[start:end]
        if len(part["data"]) > MAX_FIELD_BYTES:
            raise _invalid(f"The form field {part['name'][:40]!r} is over {MAX_FIELD_BYTES} bytes.")

    def on_part_end() -> None:
        if part["sink"] is None and part["name"]:
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
    except ClientDisconnect:  # cut off half-way: the caller removes what was written
        raise _invalid("The upload was cut off before its end; send it again.") from None
    finally:
        for sink in sinks.values():
            sink.close()
    if "file" in files and "file" not in sinks:
        raise _invalid(f"Upload {what} as the 'file' field.")
    return fields, filenames


def _invalid(message: str, field: str = "file") -> BlastDeckError:
    return BlastDeckError(ErrorCode.INVALID_REQUEST, message, field=field)
