"""Serving the app with uvicorn, ending BlastDeck's own long requests first when told to stop.

uvicorn stops by waiting for open requests (up to the graceful timeout), then cancelling them,
then running the app's shutdown. A download that runs BLAST would be cut off by that cancel
(a traceback in the log, its BLAST processes killed only afterwards). So the moment a stop
signal arrives, the runtime ends those runs itself: their requests answer `server_stopping`
and close within the graceful timeout, and nothing is left to cancel.
"""

from __future__ import annotations

import logging
import re
import socket
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI

from blastdeck.api.heap_freeze import FreezeHeapAfterFirstRequest
from blastdeck.interpreter import settle_long_running_process
from blastdeck.runtime import Runtime

# Open event streams never end by themselves: give them this long, then stop anyway.
GRACEFUL_SHUTDOWN_S = 5


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, runtime: Runtime) -> None:
        super().__init__(config)
        self._runtime = runtime

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        settle_long_running_process()  # the app's own start is done: now it serves

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._runtime.begin_shutdown()
        super().handle_exit(sig, frame)


# h11 refuses a request whose line and headers pass this size with a bare-text 400 before the
# app sees it. Its default (16 KiB) is shorter than the longest URL the API accepts (a FASTA
# download's `subjects=`, 4,000 characters, and `columns=`, 1,000, up to 12 bytes a character
# once percent-encoded): with 64 KiB every request the schema allows reaches the app and gets
# its JSON answer, while a flood of headers (10,000 of them, 200 KB) is still refused.
MAX_REQUEST_HEAD_BYTES = 64 << 10


# EBI's clients carry the API token in the path (`/ebi/t/<token>/ncbiblast/...`): no log line
# may hold it.
_PATH_TOKEN = re.compile(r"(/ebi/t/)[^/?\s\"]*")
REDACTED = "***"


def redact_path_tokens(text: str) -> str:
    return _PATH_TOKEN.sub(lambda m: m.group(1) + REDACTED, text)


class PathTokenFilter(logging.Filter):
    """Rewrites a record's message and arguments (uvicorn's access line passes the path as an
    argument) with every path token replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_path_tokens(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_path_tokens(a) if isinstance(a, str) else a for a in record.args
            )
        return True


def install_log_redaction() -> None:
    """On uvicorn's loggers (the access log and its error log, which names failed requests)."""
    for name in ("uvicorn.access", "uvicorn.error", "uvicorn"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, PathTokenFilter) for f in logger.filters):
            logger.addFilter(PathTokenFilter())


def serve(app: FastAPI, runtime: Runtime, host: str, port: int, **options: Any) -> None:
    config = uvicorn.Config(
        FreezeHeapAfterFirstRequest(app),
        host=host,
        port=port,
        log_level="warning",
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        **options,
    )
    install_log_redaction()  # after Config: its logging set-up keeps the loggers' filters
    _Server(config, runtime).run()
