"""Sending a file the handler has already opened (the downloads).

Starlette's `FileResponse` opens its path only when the answer starts, so a job deleted in
between would turn a finished export into an error half-way through the headers. The download
route opens the file first and hands the open file here, and it streams whole even if the job is
deleted meanwhile (the data stays until the last reader closes it). A file read while it is
made has no length yet: it goes chunked, and a render that fails midway cuts the connection
(never a short body that looks whole). A HEAD request gets the same headers and no body.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

import anyio
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from blastdeck.domain.errors import BlastDeckError
from blastdeck.results.export_renders import ExportFile

CHUNK_BYTES = 256 * 1024
log = logging.getLogger(__name__)


class OpenFileResponse(Response):
    def __init__(self, handle: ExportFile, media_type: str, filename: str) -> None:
        disposition = (
            f'attachment; filename="{filename}"'
            if quote(filename) == filename
            else f"attachment; filename*=utf-8''{quote(filename)}"
        )
        headers = {"content-disposition": disposition}
        if handle.size is not None:
            headers["content-length"] = str(handle.size)
        # Not Response.__init__: it would say content-length 0 for the body it does not have.
        self.status_code, self.media_type, self.background = 200, media_type, None
        self.init_headers(headers)
        self.handle = handle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            if scope["method"].upper() == "HEAD":
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            while True:
                try:
                    chunk = await anyio.to_thread.run_sync(self.handle.read, CHUNK_BYTES)
                except BlastDeckError as exc:  # the render failed after the answer started
                    log.warning("download cut: %s (%s)", exc.message, exc.code.value)
                    return  # without the end of the body: the server closes the connection
                if not chunk:
                    break
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self.handle.close()
