"""/api/users: accounts, for admins (`accounts.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from blastdeck.api.deps import RuntimeDep, ViewerDep
from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.api.schemas.accounts import User, UserCreate, UserList, UserRemoved, UserUpdate
from blastdeck.store import models

router = APIRouter(prefix="/api/users", tags=["users"], responses=ERROR_RESPONSES)
UserName = Annotated[str, Path(min_length=1, max_length=64, description="a user's name")]


def user_model(user: models.User) -> User:
    return User(
        name=user.name,
        admin=user.is_admin,
        groups=list(user.groups or []),
        created_at=user.created_at.isoformat(),
        disabled_at=user.disabled_at.isoformat() if user.disabled_at else None,
    )


@router.get("")
def list_users(runtime: RuntimeDep, viewer: ViewerDep) -> UserList:
    """Every user (admins)."""
    return UserList(items=[user_model(u) for u in runtime.accounts.users(viewer)])


@router.post("", status_code=201)
def add_user(body: UserCreate, runtime: RuntimeDep, viewer: ViewerDep) -> User:
    """Add a user (admins). They sign in with a token an admin creates for them."""
    user = runtime.accounts.add_user(viewer, body.name, admin=body.admin, groups=body.groups)
    return user_model(user)


@router.patch("/{name}")
def update_user(name: UserName, body: UserUpdate, runtime: RuntimeDep, viewer: ViewerDep) -> User:
    """Change a user's admin flag, groups, or disable / enable them (admins)."""
    user = runtime.accounts.update_user(
        viewer, name, admin=body.admin, groups=body.groups, disabled=body.disabled
    )
    return user_model(user)


@router.delete("/{name}")
def remove_user(
    name: UserName,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    force: Annotated[
        bool, Query(description="remove a user who owns jobs or databases (they are kept)")
    ] = False,
) -> UserRemoved:
    """Remove a user and their tokens (admins); refused (409 `user_owns_data`) while they own
    jobs or databases, unless `force`: those are then kept, owned by no account."""
    removal = runtime.accounts.remove_user(viewer, name, force=force)
    return UserRemoved(
        name=name,
        tokens_deleted=removal.tokens,
        jobs_kept=removal.jobs_kept,
        databases_kept=removal.databases_kept,
    )
