"""A job's title: checked and put on one line, or made from its queries when none is given."""

from __future__ import annotations

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.fasta import QueryRecord

MAX_TITLE_CHARS = 200


def default_title(records: list[QueryRecord]) -> str:
    """A job's title when none is given: the query's defline, or how many queries there are
    and the first one's (`50 queries: EF574478 Uncultured bacterium ...`)."""
    first = " ".join(records[0].defline.split()) or records[0].id or "query"
    text = first if len(records) == 1 else f"{len(records):,} queries: {first}"
    return text if len(text) <= 80 else text[:79] + "…"


def clean_title(title: str | None) -> str:
    """The title on one line; a longer one than MAX_TITLE_CHARS is refused, not cut, so what
    the user sees is what they typed."""
    if not title:
        return ""
    if len(title) > MAX_TITLE_CHARS:
        raise BlastDeckError(
            ErrorCode.INVALID_REQUEST,
            f"The title has {len(title):,} characters; at most {MAX_TITLE_CHARS} are allowed.",
            field="title",
        )
    printable = "".join(ch if ch.isprintable() else " " for ch in str(title))
    return " ".join(printable.split())
