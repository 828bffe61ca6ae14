"""Users, API tokens and the audit log (`accounts.py`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_NAME = Field(min_length=1, max_length=64, description="1-64 letters, digits, '.', '_' or '-'")


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = _NAME
    # strict: 1, "true" or "yes" are not JSON booleans (lax validation would accept them)
    admin: bool = Field(default=False, strict=True)
    groups: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="groups whose shared databases the user may use",
    )


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    admin: bool | None = Field(default=None, strict=True)
    groups: list[str] | None = Field(
        default=None, max_length=100, description="replaces the user's groups"
    )
    disabled: bool | None = Field(
        default=None, strict=True, description="a disabled user's tokens get 401"
    )


class User(BaseModel):
    name: str
    admin: bool
    groups: list[str]
    created_at: str
    disabled_at: str | None


class UserList(BaseModel):
    items: list[User]


class UserRemoved(BaseModel):
    name: str
    tokens_deleted: int
    jobs_kept: int = Field(description="jobs it owned, kept, now owned by no account")
    databases_kept: int


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(
        default=None,
        max_length=64,
        description="whose token (admins: anyone; default: the signed-in user)",
    )


class Token(BaseModel):
    id: str = Field(description="the token's public part: what DELETE /api/tokens/{id} takes")
    user: str
    created_at: str
    last_used_at: str | None = Field(description="the last request with it, to the minute")
    revoked_at: str | None
    active: bool


class TokenCreated(Token):
    token: str = Field(description="the whole token, shown this once: it is never stored")


class TokenList(BaseModel):
    items: list[Token]


class AuditEvent(BaseModel):
    id: int
    at: str
    actor: str | None = Field(description="who did it; null with auth off")
    action: str = Field(description="user.add, user.update, user.remove, token.create, ...")
    target: str
    details: dict[str, Any]


class AuditList(BaseModel):
    items: list[AuditEvent]
    total: int
