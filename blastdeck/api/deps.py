"""FastAPI dependencies: the runtime the app was created with."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from blastdeck.auth import Viewer, authenticate, bearer_token
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_viewer(request: Request) -> Viewer:
    """Who sent the request: the bearer token's user, or everyone when auth is off."""
    runtime = get_runtime(request)
    token = bearer_token(request.headers.get("authorization"))
    return authenticate(runtime.settings.auth_enabled, runtime.users, token)


def get_admin(viewer: Annotated[Viewer, Depends(get_viewer)]) -> Viewer:
    """Changing what the server can reach (database paths, clusters) is for admins."""
    if not viewer.is_admin:
        raise BlastDeckError(ErrorCode.FORBIDDEN, "Only an admin may do this.")
    return viewer


ViewerDep = Annotated[Viewer, Depends(get_viewer)]
AdminDep = Annotated[Viewer, Depends(get_admin)]
