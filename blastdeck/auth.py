"""Who is asking. With auth off (the embedded single-user default) everyone is the one user."""

from __future__ import annotations

from dataclasses import dataclass

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.sharing import may_use
from blastdeck.store.models import BlastDatabase
from blastdeck.store.users import UserStore

MAX_AUTHORIZATION_CHARS = 512


@dataclass(frozen=True)
class Viewer:
    user_id: str | None  # None: auth is off
    is_admin: bool
    name: str | None = None
    groups: tuple[str, ...] = ()

    def can_see(self, owner_id: str | None) -> bool:
        return self.is_admin or self.user_id is None or owner_id == self.user_id

    def can_use(self, database: BlastDatabase) -> bool:
        return may_use(
            user_id=self.user_id,
            is_admin=self.is_admin,
            groups=self.groups,
            owner_id=database.owner_id,
            visibility=database.visibility,
            group=database.share_group,
        )

    @property
    def owner_filter(self) -> str | None:
        """The owner a job list is limited to; None means every job."""
        return None if self.is_admin or self.user_id is None else self.user_id


EVERYONE = Viewer(user_id=None, is_admin=True)


def authenticate(enabled: bool, users: UserStore, token: str | None) -> Viewer:
    """The viewer behind a bearer token; refuses a missing, malformed or revoked one."""
    if not enabled:
        return EVERYONE
    if not token:
        raise _unauthorized("A token is required: send 'Authorization: Bearer <token>'.")
    if len(token) > MAX_AUTHORIZATION_CHARS:
        raise _unauthorized("The token is too long to be one of ours.")
    user = users.resolve(token)
    if user is None:
        raise _unauthorized(
            "The token is not valid (unknown, malformed or revoked, or its user is disabled)."
        )
    return Viewer(
        user_id=user.id, is_admin=user.is_admin, name=user.name, groups=tuple(user.groups or ())
    )


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    if len(authorization) > MAX_AUTHORIZATION_CHARS:
        raise _unauthorized("The Authorization header is too long.")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Use 'Authorization: Bearer <token>'.")
    return token.strip()


def _unauthorized(message: str) -> BlastDeckError:
    return BlastDeckError(ErrorCode.UNAUTHORIZED, message)
