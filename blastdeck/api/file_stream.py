"""Sending a file the handler has already opened (the downloads).

Starlette's `FileResponse` opens its path only when the answer starts, so a job deleted in
between would turn a finished export into an error half-way through the headers. The download
route opens the file first and hands the open file here: its length is known, and it streams
whole even if the job is deleted meanwhile (the data stays until the last reader closes it).
A HEAD request gets the same headers and no body.
"""

from __future__ import annotations

import os
from typing import BinaryIO
from urllib.parse import quote

import anyio
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

CHUNK_BYTES = 256 * 1024


class OpenFileResponse(Response):
    def __init__(self, handle: BinaryIO, media_type: str, filename: str) -> None:
        size = os.fstat(handle.fileno()).st_size
        disposition = (
            f'attachment; filename="{filename}"'
            if quote(filename) == filename
            else f"attachment; filename*=utf-8''{quote(filename)}"
        )
        super().__init__(
            media_type=media_type,
            headers={"content-length": str(size), "content-disposition": disposition},
        )
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
                chunk = await anyio.to_thread.run_sync(self.handle.read, CHUNK_BYTES)
                more = len(chunk) == CHUNK_BYTES
                await send({"type": "http.response.body", "body": chunk, "more_body": more})
                if not more:
                    break
        finally:
            self.handle.close()
