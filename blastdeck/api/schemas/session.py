"""The web page's sign-in (GET/POST/DELETE /api/session)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from blastdeck.auth import MAX_AUTHORIZATION_CHARS


class SignIn(BaseModel):
    token: str = Field(max_length=MAX_AUTHORIZATION_CHARS, description="an API token")


class SessionUser(BaseModel):
    name: str
    admin: bool


class Session(BaseModel):
    auth_enabled: bool
    user: SessionUser | None = Field(description="null: nobody signed in (or auth is off)")
