"""Users and their API tokens. A token is `bd_<id>_<secret>`; only the secret's hash is kept."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.names import check_name
from blastdeck.store.models import ApiToken, User, utcnow

TOKEN_PREFIX = "bd_"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class UserStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def add(self, name: str, *, admin: bool = False, groups: Sequence[str] = ()) -> User:
        check_name(name, what="user", field="name")
        for group in groups:
            check_name(group, what="group", field="group")
        user = User(id=str(uuid.uuid4()), name=name, is_admin=admin, groups=sorted(set(groups)))
        try:
            with self._sessions.begin() as s:
                s.add(user)
        except IntegrityError:
            raise BlastDeckError(
                ErrorCode.USER_EXISTS, f"A user named {name!r} already exists.", field="name"
            ) from None
        return user

    def by_name(self, name: str) -> User:
        with self._sessions() as s:
            user = s.scalar(select(User).where(User.name == name))
        if user is None:
            raise BlastDeckError(ErrorCode.UNKNOWN_USER, f"No user named {name[:64]!r}.")
        return user

    def list(self) -> list[User]:
        with self._sessions() as s:
            return list(s.scalars(select(User).order_by(User.name)))

    def create_token(self, user_name: str) -> str:
        """A new token for the user; the whole token is returned once and never stored."""
        user = self.by_name(user_name)
        token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        with self._sessions.begin() as s:
            s.add(ApiToken(id=token_id, user_id=user.id, secret_sha256=_hash(secret)))
        return f"{TOKEN_PREFIX}{token_id}_{secret}"

    def revoke(self, token_or_id: str) -> None:
        token_id = _token_id(token_or_id) or token_or_id
        with self._sessions.begin() as s:
            row = s.get(ApiToken, token_id)
            if row is None:
                raise BlastDeckError(ErrorCode.UNKNOWN_TOKEN, f"No token {token_id[:20]!r}.")
            row.revoked_at = row.revoked_at or utcnow()

    def resolve(self, token: str) -> User | None:
        """The user a live token belongs to; None for a malformed, unknown or revoked one."""
        token_id = _token_id(token)
        if token_id is None:
            return None
        secret = token[len(TOKEN_PREFIX) + len(token_id) + 1 :]
        with self._sessions() as s:
            row = s.get(ApiToken, token_id)
            if row is None or row.revoked_at is not None:
                return None
            if not hmac.compare_digest(row.secret_sha256, _hash(secret)):
                return None
            return s.get(User, row.user_id)


def _token_id(token: str) -> str | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    token_id, sep, secret = token[len(TOKEN_PREFIX) :].partition("_")
    return token_id if sep and secret and len(token_id) == 12 else None
