"""Request-body size limit, a plain ASGI middleware: an oversized body is refused with 413
before it is read whole, whether its Content-Length says so up front or it just keeps coming."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from blastdeck.api.errors import error_body
from blastdeck.domain.errors import ErrorCode


def _too_large_message(max_bytes: int) -> str:
    return f"The request body is over the upload limit of {max_bytes} bytes."


class _TooLarge(HTTPException):
    # An HTTPException, so FastAPI's body parsing re-raises it instead of answering 400, and
    # the app's handler answers it (with this message) when it is raised mid-request.
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, _too_large_message(max_bytes))


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._declared_too_large(dict(scope.get("headers", [])).get(b"content-length")):
            await self._refuse(send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    def _declared_too_large(self, declared: bytes | None) -> bool:
        if declared is None or not declared.isdigit():
            return False
        # Compare lengths first: int() refuses a digit string over Python's 4300-digit limit,
        # and any Content-Length longer than the limit's own digits is over it anyway.
        limit = str(self.max_bytes).encode()
        stripped = declared.lstrip(b"0") or b"0"
        return len(stripped) > len(limit) or int(stripped) > self.max_bytes

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            error_body(ErrorCode.PAYLOAD_TOO_LARGE, _too_large_message(self.max_bytes))
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": body})
