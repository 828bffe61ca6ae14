"""Users and API tokens over the API: who may do what, and the audit log of it.

Admins manage users and everyone's tokens; a user manages their own tokens. Another user's
token is answered like one that does not exist (404 `unknown_token`), so its id reveals
nothing. Every change is recorded in the audit log (who, what, when); a token's secret never
is, nor is it stored: it is shown once, when created.

With auth off there are no accounts to act as: every caller is an admin, tokens are made for
a named user (they work once auth is turned on) and the audit log's actor is empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from blastdeck.auth import Viewer
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.store.audit import AuditLog
from blastdeck.store.models import AuditEvent, User
from blastdeck.store.users import Removal, TokenInfo, UserStore


@dataclass(frozen=True)
class NewToken:
    info: TokenInfo
    token: str  # the whole token: shown once


class AccountService:
    def __init__(self, users: UserStore, audit: AuditLog) -> None:
        self._users = users
        self._audit = audit

    # -- users (admins) ---------------------------------------------------------------------

    def users(self, viewer: Viewer) -> list[User]:
        _admin_only(viewer)
        return self._users.list()

    def add_user(self, viewer: Viewer, name: str, *, admin: bool, groups: Sequence[str]) -> User:
        _admin_only(viewer)
        user = self._users.add(name, admin=admin, groups=groups)
        self._audit.record(
            viewer.name, "user.add", name, {"admin": admin, "groups": list(user.groups)}
        )
        return user

    def update_user(
        self,
        viewer: Viewer,
        name: str,
        *,
        admin: bool | None,
        groups: Sequence[str] | None,
        disabled: bool | None,
    ) -> User:
        _admin_only(viewer)
        if name == viewer.name and (admin is False or disabled):
            raise BlastDeckError(
                ErrorCode.FORBIDDEN,
                "An admin cannot take away their own admin flag or disable themselves "
                "(another admin can).",
            )
        user = self._users.update(name, admin=admin, groups=groups)
        if disabled is not None:
            user = self._users.set_disabled(name, disabled)
        changes = {
            k: v
            for k, v in (("admin", admin), ("groups", groups), ("disabled", disabled))
            if v is not None
        }
        if isinstance(changes.get("groups"), list | tuple):
            changes["groups"] = list(user.groups)
        self._audit.record(viewer.name, "user.update", name, changes)
        return user

    def remove_user(self, viewer: Viewer, name: str, *, force: bool) -> Removal:
        _admin_only(viewer)
        if name == viewer.name:
            raise BlastDeckError(ErrorCode.FORBIDDEN, "An admin cannot remove themselves.")
        removal = self._users.remove(name, force=force)
        details = {
            "tokens": removal.tokens,
            "jobs_kept": removal.jobs_kept,
            "databases_kept": removal.databases_kept,
        }
        self._audit.record(viewer.name, "user.remove", name, details)
        return removal

    # -- tokens (everyone: their own; admins: anyone's) -------------------------------------

    def create_token(self, viewer: Viewer, user_name: str | None) -> NewToken:
        owner = self._token_owner(viewer, user_name)
        token = self._users.create_token(owner)
        token_id = token.split("_", 2)[1]
        info = self._users.token(token_id)
        assert info is not None
        self._audit.record(viewer.name, "token.create", owner, {"token_id": token_id})
        return NewToken(info, token)

    def tokens(self, viewer: Viewer, user_name: str | None) -> list[TokenInfo]:
        if viewer.is_admin:
            return self._users.tokens(user_name)
        if user_name not in (None, viewer.name):
            raise _unknown_user(user_name)
        return self._users.tokens(viewer.name)

    def revoke_token(self, viewer: Viewer, token_id: str) -> TokenInfo:
        info = self._users.token(token_id)
        if info is None or not (viewer.is_admin or info.user == viewer.name):
            raise BlastDeckError(ErrorCode.UNKNOWN_TOKEN, f"No token {token_id[:20]!r}.")
        self._users.revoke(token_id)
        self._audit.record(viewer.name, "token.revoke", info.user, {"token_id": token_id})
        revoked = self._users.token(token_id)
        assert revoked is not None
        return revoked

    def _token_owner(self, viewer: Viewer, user_name: str | None) -> str:
        if user_name is None:
            if viewer.name is None:
                raise BlastDeckError(
                    ErrorCode.INVALID_REQUEST,
                    "Auth is off, so there is no signed-in user: name the user the token is for.",
                    field="user",
                )
            return viewer.name
        if not viewer.is_admin and user_name != viewer.name:
            raise BlastDeckError(
                ErrorCode.FORBIDDEN, "Only an admin may create a token for another user."
            )
        self._users.by_name(user_name)  # 404 unknown_user
        return user_name

    # -- the audit log (admins) -------------------------------------------------------------

    def audit(self, viewer: Viewer, limit: int, offset: int) -> tuple[list[AuditEvent], int]:
        _admin_only(viewer)
        return self._audit.page(limit, offset)


def _admin_only(viewer: Viewer) -> None:
    if not viewer.is_admin:
        raise BlastDeckError(ErrorCode.FORBIDDEN, "Only an admin may do this.")


def _unknown_user(name: str) -> BlastDeckError:
    return BlastDeckError(ErrorCode.UNKNOWN_USER, f"No user named {name[:64]!r}.", field="user")
