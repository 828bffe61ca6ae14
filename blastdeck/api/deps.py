"""FastAPI dependencies: the runtime the app was created with."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from blastdeck.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
