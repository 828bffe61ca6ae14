"""Who may search a database: public ones everyone, private ones their owner, group ones the
members of its group; admins (and the single local user when auth is off) all of them."""

from __future__ import annotations

from enum import StrEnum

from blastdeck.domain.errors import BlastDeckError, ErrorCode


class Visibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    GROUP = "group"


def parse_visibility(value: object) -> Visibility:
    try:
        return Visibility(str(value).strip().lower())
    except ValueError:
        raise BlastDeckError(
            ErrorCode.INVALID_REQUEST,
            f"visibility must be one of {', '.join(v.value for v in Visibility)}.",
            field="visibility",
        ) from None


def may_use(
    *,
    user_id: str | None,
    is_admin: bool,
    groups: tuple[str, ...],
    owner_id: str | None,
    visibility: str,
    group: str | None,
) -> bool:
    if is_admin or user_id is None or visibility == Visibility.PUBLIC:
        return True
    if owner_id == user_id:
        return True
    return visibility == Visibility.GROUP and group is not None and group in groups
