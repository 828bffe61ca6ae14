"""An ASGI wrapper that freezes the serving process's heap once its first request has ended
(`interpreter.py` says why): FastAPI builds what each route needs to validate and serialize
on the first request it matches, ~650 pydantic validators and serializers that live as long
as the process."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from blastdeck.interpreter import freeze_startup_heap


class FreezeHeapAfterFirstRequest:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.frozen = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            # Any request's end, not only the first to begin: that one may be a stream that
            # stays open for hours.
            if not self.frozen and scope["type"] == "http":
                self.frozen = True
                freeze_startup_heap()
