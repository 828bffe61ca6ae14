"""Users and their API tokens. A token is `bd_<id>_<secret>`; only the secret's hash is kept."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.names import check_name
from blastdeck.store.models import ApiToken, BlastDatabase, Job, User, utcnow

TOKEN_PREFIX = "bd_"
# A token's last use is written at most this often: a write per minute, not per request.
LAST_USED_STEP = timedelta(minutes=1)

log = logging.getLogger(__name__)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    """A token as `blastdeck token list` shows it (never its secret)."""

    id: str
    user: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class Removal:
    """What removing a user did: its tokens deleted; the jobs and databases it owned kept."""

    user: User
    tokens: int
    jobs_kept: int
    databases_kept: int


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
            raise _unknown_user(name)
        return user

    def list(self) -> list[User]:
        with self._sessions() as s:
            return list(s.scalars(select(User).order_by(User.name)))

    def name_of(self, user_id: str) -> str | None:
        """The user's name by id (None: removed since)."""
        with self._sessions() as s:
            return s.scalar(select(User.name).where(User.id == user_id))

    def remove(self, name: str, *, force: bool = False) -> Removal:
        """Delete a user and their tokens. A user who owns jobs or databases is refused unless
        `force`; then those are kept as they are (owned by no account: admins see them)."""
        user = self.by_name(name)
        with self._sessions.begin() as s:
            jobs = s.scalar(select(func.count()).where(Job.owner_id == user.id)) or 0
            owned = select(func.count()).where(BlastDatabase.owner_id == user.id)
            databases = s.scalar(owned) or 0
            if (jobs or databases) and not force:
                raise BlastDeckError(
                    ErrorCode.USER_OWNS_DATA,
                    f"{name} owns {jobs} job(s) and {databases} database(s). To stop them "
                    f"signing in and keep everything: blastdeck user disable {name}. To remove "
                    "the user anyway: --force (the jobs and databases are kept, owned by no "
                    "account, so only admins see the jobs and the private databases).",
                    field="name",
                )
            tokens = s.execute(delete(ApiToken).where(ApiToken.user_id == user.id)).rowcount
            s.execute(delete(User).where(User.id == user.id))
        return Removal(user, tokens or 0, jobs, databases)

    def set_disabled(self, name: str, disabled: bool) -> User:
        """Disable (their tokens are refused from the next request on) or enable a user."""
        with self._sessions.begin() as s:
            user = s.scalar(select(User).where(User.name == name))
            if user is None:
                raise _unknown_user(name)
            user.disabled_at = (user.disabled_at or utcnow()) if disabled else None
        return user

    def update(
        self, name: str, *, admin: bool | None = None, groups: Sequence[str] | None = None
    ) -> User:
        """Change a user's admin flag and/or groups (what is None stays)."""
        for group in groups or ():
            check_name(group, what="group", field="groups")
        with self._sessions.begin() as s:
            user = s.scalar(select(User).where(User.name == name))
            if user is None:
                raise _unknown_user(name)
            if admin is not None:
                user.is_admin = admin
            if groups is not None:
                user.groups = sorted(set(groups))
        return user

    def token(self, token_id: str) -> TokenInfo | None:
        """One token by its id (the public part), revoked or not; None if there is none."""
        query = select(ApiToken, User.name).join(User, User.id == ApiToken.user_id)
        with self._sessions() as s:
            row = s.execute(query.where(ApiToken.id == token_id)).first()
        if row is None:
            return None
        t, name = row
        return TokenInfo(t.id, name, t.created_at, t.last_used_at, t.revoked_at)

    def create_token(self, user_name: str) -> str:
        """A new token for the user; the whole token is returned once and never stored."""
        user = self.by_name(user_name)
        token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        with self._sessions.begin() as s:
            s.add(ApiToken(id=token_id, user_id=user.id, secret_sha256=_hash(secret)))
        return f"{TOKEN_PREFIX}{token_id}_{secret}"

    def tokens(self, user_name: str | None = None) -> list[TokenInfo]:
        """Every token (revoked ones too), or one user's, by user and age."""
        query = select(ApiToken, User.name).join(User, User.id == ApiToken.user_id)
        if user_name is not None:
            query = query.where(ApiToken.user_id == self.by_name(user_name).id)
        with self._sessions() as s:
            rows = s.execute(query.order_by(User.name, ApiToken.created_at, ApiToken.id))
            return [
                TokenInfo(t.id, name, t.created_at, t.last_used_at, t.revoked_at)
                for t, name in rows
            ]

    def revoke(self, token_or_id: str) -> None:
        token_id = _token_id(token_or_id) or token_or_id
        with self._sessions.begin() as s:
            row = s.get(ApiToken, token_id)
            if row is None:
                raise BlastDeckError(ErrorCode.UNKNOWN_TOKEN, f"No token {token_id[:20]!r}.")
            row.revoked_at = row.revoked_at or utcnow()

    def resolve(self, token: str) -> User | None:
        """The user a live token belongs to; None for a malformed, unknown or revoked token,
        or one whose user is disabled."""
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
            user = s.get(User, row.user_id)
            last_used = row.last_used_at
        if user is None or user.disabled_at is not None:
            return None
        if last_used is None or utcnow() - last_used >= LAST_USED_STEP:
            self._note_use(token_id)
        return user

    def _note_use(self, token_id: str) -> None:
        """Record that the token was used now. Bookkeeping: a database too busy to take the
        write does not refuse the request."""
        now = utcnow()
        stale = or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - LAST_USED_STEP)
        try:
            with self._sessions.begin() as s:
                s.execute(
                    update(ApiToken).where(ApiToken.id == token_id, stale).values(last_used_at=now)
                )
        except OperationalError as exc:
            log.warning("could not record the use of token %s: %s", token_id, exc.orig)


def _unknown_user(name: str) -> BlastDeckError:
    return BlastDeckError(ErrorCode.UNKNOWN_USER, f"No user named {name[:64]!r}.", field="name")


def _token_id(token: str) -> str | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    token_id, sep, secret = token[len(TOKEN_PREFIX) :].partition("_")
    return token_id if sep and secret and len(token_id) == 12 else None
