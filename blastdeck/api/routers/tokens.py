"""/api/tokens: API tokens — everyone their own, admins anyone's (`accounts.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from blastdeck.api.deps import RuntimeDep, ViewerDep
from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.api.schemas.accounts import Token, TokenCreate, TokenCreated, TokenList
from blastdeck.store.users import TokenInfo

router = APIRouter(prefix="/api/tokens", tags=["users"], responses=ERROR_RESPONSES)
TokenId = Annotated[str, Path(min_length=1, max_length=64, description="a token's id")]


def token_model(info: TokenInfo) -> Token:
    return Token(
        id=info.id,
        user=info.user,
        created_at=info.created_at.isoformat(),
        last_used_at=info.last_used_at.isoformat() if info.last_used_at else None,
        revoked_at=info.revoked_at.isoformat() if info.revoked_at else None,
        active=info.revoked_at is None,
    )


@router.post("", status_code=201)
def create_token(
    runtime: RuntimeDep, viewer: ViewerDep, body: TokenCreate | None = None
) -> TokenCreated:
    """A new token, answered once in `token` (only its hash is kept): for the signed-in user,
    or (admins) for `user`."""
    made = runtime.accounts.create_token(viewer, (body or TokenCreate()).user)
    return TokenCreated(**token_model(made.info).model_dump(), token=made.token)


@router.get("")
def list_tokens(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    user: Annotated[str | None, Query(max_length=64, description="admins: one user's")] = None,
) -> TokenList:
    """Your tokens (admins: everyone's, or `user`'s), never their secrets, with last use."""
    return TokenList(items=[token_model(t) for t in runtime.accounts.tokens(viewer, user)])


@router.delete("/{token_id}")
def revoke_token(token_id: TokenId, runtime: RuntimeDep, viewer: ViewerDep) -> Token:
    """Revoke a token: refused (401) from the next request on. Another user's token is
    404 `unknown_token`, as if it did not exist (admins may revoke any)."""
    return token_model(runtime.accounts.revoke_token(viewer, token_id))
