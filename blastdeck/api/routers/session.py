"""/api/session: the web page's sign-in with an API token (an HttpOnly cookie thereafter)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request, Response

from blastdeck.api.deps import CSRF_COOKIE, SESSION_COOKIE, RuntimeDep, get_viewer
from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.api.schemas.session import Session, SessionUser, SignIn
from blastdeck.auth import Viewer, authenticate
from blastdeck.domain.errors import BlastDeckError

router = APIRouter(prefix="/api/session", tags=["session"], responses=ERROR_RESPONSES)


def session_model(enabled: bool, viewer: Viewer | None) -> Session:
    user = None
    if enabled and viewer is not None:
        user = SessionUser(name=viewer.name, admin=viewer.is_admin)
    return Session(auth_enabled=enabled, user=user)


@router.get("")
def current_session(request: Request, runtime: RuntimeDep) -> Session:
    """Whether this server asks for a sign-in, and who is signed in (null if nobody)."""
    enabled = runtime.settings.auth_enabled
    try:
        viewer = get_viewer(request)
    except BlastDeckError:
        viewer = None
    return session_model(enabled, viewer)


@router.post("")
def sign_in(body: SignIn, request: Request, response: Response, runtime: RuntimeDep) -> Session:
    """Check the token and keep it in an HttpOnly, SameSite=Strict cookie for this browser;
    state-changing requests must then echo the `blastdeck_csrf` cookie in `X-CSRF-Token`."""
    enabled = runtime.settings.auth_enabled
    viewer = authenticate(enabled, runtime.users, body.token.strip())
    if enabled:
        secure = request.url.scheme == "https"
        response.set_cookie(
            SESSION_COOKIE, body.token.strip(), httponly=True, samesite="strict", secure=secure
        )
        response.set_cookie(
            CSRF_COOKIE,
            secrets.token_urlsafe(32),
            httponly=False,
            samesite="strict",
            secure=secure,
        )
    return session_model(enabled, viewer)


@router.delete("", status_code=204)
def sign_out() -> Response:
    response = Response(status_code=204)
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, samesite="strict")
    return response
