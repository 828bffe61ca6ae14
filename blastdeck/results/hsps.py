"""An HSP (high-scoring segment pair) as BlastDeck indexes it, read from the hit table BLAST
writes for each batch.

BLAST writes the table in commented tabular form (outfmt 7) rather than plain outfmt 6: it has
the same columns, but also a `# Query:` block for every query in order, HSPs or not. That
places each row on its query by position, which stays exact when two queries share an id or
when BLAST rewrites an id it cannot print (non-ASCII bytes become `#`).

An HSP is one aligned segment of one query against one subject; a *hit* is all the HSPs of
one (query, subject) pair (see `store/hsps.py` for the per-subject view).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import get_type_hints

from blastdeck.domain.errors import BlastDeckError, ErrorCode

HSP_FIELDS: tuple[str, ...] = (
    "query_id",
    "subject_id",
    "subject_title",
    "pident",
    "length",
    "mismatch",
    "gapopen",
    "qstart",
    "qend",
    "sstart",
    "send",
    "evalue",
    "bitscore",
    "qlen",
    "slen",
    "qcovhsp",
)

# The BLAST tabular column behind each HSP_FIELDS entry, in the same order; fields not named
# here share BLAST's name. The subject is named by its accession (saccver: "AY770966"), not by
# BLAST's typed id ("gb|AY770966|").
_BLAST_NAMES = {"query_id": "qseqid", "subject_id": "saccver", "subject_title": "stitle"}
BLAST_COLUMNS: tuple[str, ...] = tuple(_BLAST_NAMES.get(f, f) for f in HSP_FIELDS)

# A batch's hit table: the index columns, then the query's accession, so BLAST's standard
# tabular output (`std` = qaccver saccver pident ... bitscore) can be copied from the table
# exactly as BLAST prints it.
TABLE_COLUMNS: tuple[str, ...] = (*BLAST_COLUMNS, "qaccver")
HSP_TABLE_OUTFMT = "7 " + " ".join(TABLE_COLUMNS)

_TITLE_COLUMN = TABLE_COLUMNS.index("stitle")
_COLUMNS_AFTER_TITLE = len(TABLE_COLUMNS) - _TITLE_COLUMN - 1
_QUERY_LINE = "# Query: "
_COMMENT = "# "  # rows never start with "# ": a query id holds no space
_LOCAL_QUERY_ID = re.compile(r"Query_\d+")


@dataclass(frozen=True, slots=True)
class Hsp:
    """One HSP of one query against one subject; `query_index` is 0-based within the job."""

    query_index: int
    query_id: str
    subject_id: str
    subject_title: str
    pident: float
    length: int
    mismatch: int
    gapopen: int
    qstart: int
    qend: int
    sstart: int
    send: int
    evalue: float
    bitscore: float
    qlen: int
    slen: int
    qcovhsp: int


# How each column's text becomes its field's value: the field's own type (str, int or float).
_CONVERTERS: tuple[Callable[[str], object], ...] = tuple(
    get_type_hints(Hsp)[name] for name in HSP_FIELDS
)


def read_hsps(table: Path, query_ids: Sequence[str], query_offset: int) -> list[Hsp]:
    """The HSPs of one batch's table (BLAST's `-outfmt HSP_TABLE_OUTFMT` output), in BLAST's
    order, placed on their job-wide query index.

    `query_ids` are the first words of the batch's query deflines in order. `Hsp.query_id` is
    taken from that list, so it is the user's id even where BLAST printed a rewritten one.
    """
    hsps: list[Hsp] = []
    position = -1
    with open(table, encoding="utf-8", errors="replace", newline="") as lines:
        for raw in lines:
            line = raw.rstrip("\r\n")
            if line.startswith(_QUERY_LINE):
                position += 1
                _check_query(table, query_ids, position, line[len(_QUERY_LINE) :])
            elif line and not line.startswith(_COMMENT):
                if position < 0:
                    raise _error(table, f"an HSP row comes before any query: {line[:120]!r}")
                index = query_offset + position
                hsps.append(_parse_row(table, line, index, query_ids[position]))
    if position + 1 != len(query_ids):
        raise _error(
            table,
            f"it holds {position + 1} queries but the batch lists {len(query_ids)}",
        )
    return hsps


def _check_query(table: Path, query_ids: Sequence[str], position: int, title: str) -> None:
    """Refuse a batch whose table and query list disagree, rather than misplace its HSPs."""
    if position >= len(query_ids):
        raise _error(table, f"it holds more queries than the {len(query_ids)} listed")
    expected = query_ids[position]
    shown = title.split(maxsplit=1)[0] if title.strip() else ""
    if not _same_query_id(expected, shown):
        raise _error(
            table,
            f"query {position + 1} is {shown!r} in the table but {expected!r} in the batch list",
        )


def _same_query_id(expected: str, shown: str) -> bool:
    """Whether `shown` is how BLAST prints the query id `expected`.

    BLAST writes each byte outside printable ASCII as `#`; an empty defline has no id.
    """
    if expected == shown:
        return True
    printable = "".join(
        # "replace" counts a surrogate-escaped byte as the one byte it stands for.
        ch if " " < ch < "\x7f" else "#" * len(ch.encode("utf-8", "replace"))
        for ch in expected
    )
    blank = not expected.strip()
    return printable == shown or (blank and _LOCAL_QUERY_ID.fullmatch(shown) is not None)


def _parse_row(table: Path, line: str, query_index: int, query_id: str) -> Hsp:
    try:
        columns = split_table_row(line)[: len(BLAST_COLUMNS)]
        values = [convert(text) for convert, text in zip(_CONVERTERS, columns, strict=True)]
    except ValueError as exc:
        raise _error(table, f"unreadable HSP row {line[:120]!r} ({exc})") from exc
    # The caller's id, not BLAST's rendering of it (see _same_query_id).
    return Hsp(query_index, query_id, *values[1:])


def split_table_row(line: str) -> list[str]:
    """The TABLE_COLUMNS of a row; a tab inside a subject title stays in the title."""
    parts = line.split("\t")
    if len(parts) < len(TABLE_COLUMNS):
        raise ValueError(f"{len(parts)} columns, expected {len(TABLE_COLUMNS)}")
    title_end = len(parts) - _COLUMNS_AFTER_TITLE
    title = "\t".join(parts[_TITLE_COLUMN:title_end])
    return [*parts[:_TITLE_COLUMN], title, *parts[title_end:]]


def _error(table: Path, detail: str) -> BlastDeckError:
    return BlastDeckError(
        ErrorCode.EXPORT_FAILED, f"Could not read the HSPs of {table.name}: {detail}"
    )
