"""FastAPI dependencies: the runtime the app was created with, and who is asking."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from blastdeck.auth import Viewer, authenticate, bearer_token
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.runtime import Runtime

# The web page signs in once with a token (POST /api/session); the browser then sends it as an
# HttpOnly cookie. A cookie is sent by the browser on its own, so a state-changing request that
# relies on it must also carry the CSRF cookie's value in a header (double submit): a page on
# another origin can make the browser send cookies but cannot read one to copy it.
SESSION_COOKIE = "blastdeck_session"
CSRF_COOKIE = "blastdeck_csrf"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_viewer(request: Request) -> Viewer:
    """Who sent the request: the bearer token's user, else the session cookie's, or everyone
    when auth is off."""
    runtime = get_runtime(request)
    token = bearer_token(request.headers.get("authorization"))
    if token is None and runtime.settings.auth_enabled:
        token = request.cookies.get(SESSION_COOKIE)
        if token and request.method not in _SAFE_METHODS:
            _check_csrf(request)
    return authenticate(runtime.settings.auth_enabled, runtime.users, token)


def _check_csrf(request: Request) -> None:
    expected = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise BlastDeckError(
            ErrorCode.FORBIDDEN,
            f"This request relies on the session cookie, so it must send the {CSRF_COOKIE} "
            f"cookie's value in the {CSRF_HEADER} header.",
        )


def get_admin(viewer: Annotated[Viewer, Depends(get_viewer)]) -> Viewer:
    """Changing what the server can reach (database paths, clusters) is for admins."""
    if not viewer.is_admin:
        raise BlastDeckError(ErrorCode.FORBIDDEN, "Only an admin may do this.")
    return viewer


ViewerDep = Annotated[Viewer, Depends(get_viewer)]
AdminDep = Annotated[Viewer, Depends(get_admin)]
