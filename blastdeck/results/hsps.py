"""An HSP (high-scoring segment pair) as BlastDeck indexes it, read from the hit table BLAST
writes for each batch.

BLAST writes the table in commented tabular form (outfmt 7) rather than plain outfmt 6: it has
the same columns, but also a `# Query:` block for every query in order, HSPs or not. That
places each row on its query by position, which stays exact when two queries share an id or
when BLAST rewrites an id it cannot print (non-ASCII bytes become `#`).

An HSP is one aligned segment of one query against one subject; a *hit* is all the HSPs of
one (query, subject) pair (`hits.py`).

Tables written before BlastDeck asked BLAST for `qcovs` and `staxid` have 17 columns; the
`# Fields:` line BLAST writes before each query's rows says which layout a table has, and the
missing values are derived (`qcovs` from the HSPs' query ranges) or unknown (`staxid` 0).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import get_type_hints

import numpy as np

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
    "qcovs",
    "staxid",
)

# The BLAST tabular column behind each HSP_FIELDS entry, in the same order; fields not named
# here share BLAST's name. The subject is named by its accession (saccver: "AY770966"), not by
# BLAST's typed id ("gb|AY770966|").
_BLAST_NAMES = {"query_id": "qseqid", "subject_id": "saccver", "subject_title": "stitle"}
BLAST_COLUMNS: tuple[str, ...] = tuple(_BLAST_NAMES.get(f, f) for f in HSP_FIELDS)

# A batch's hit table: the index columns, the query's accession (so BLAST's standard tabular
# output, `std` = qaccver saccver pident ... bitscore, can be copied from the table exactly as
# BLAST prints it), then the per-subject query coverage and the subject's taxid.
_FIRST_COLUMNS = BLAST_COLUMNS[: HSP_FIELDS.index("qcovs")]
TABLE_COLUMNS: tuple[str, ...] = (*_FIRST_COLUMNS, "qaccver", "qcovs", "staxid")
LEGACY_TABLE_COLUMNS: tuple[str, ...] = (*_FIRST_COLUMNS, "qaccver")  # before qcovs, staxid
HSP_TABLE_OUTFMT = "7 " + " ".join(TABLE_COLUMNS)

_TITLE_COLUMN = TABLE_COLUMNS.index("stitle")
# Where each HSP field is in a table row (after the title's tabs are joined back).
_FIELD_POSITIONS = tuple(TABLE_COLUMNS.index(_BLAST_NAMES.get(f, f)) for f in HSP_FIELDS)
_QCOVS, _STAXID = HSP_FIELDS.index("qcovs"), HSP_FIELDS.index("staxid")
_QUERY_LINE = "# Query: "
_FIELDS_LINE = "# Fields: "
_COMMENT = "# "  # rows never start with "# ": a query id holds no space
_LOCAL_QUERY_ID = re.compile(r"Query_\d+")
_LINE_END = re.compile(r"\r\n|\r|\n")


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
    qcovs: int  # % of the query covered by all HSPs with this subject (NCBI's "Query cover")
    staxid: int  # the subject's NCBI taxid; 0 when the database has none


# How each column's text becomes its field's value: the field's own type (str, int or float).
_CONVERTERS: tuple[Callable[[str], object], ...] = tuple(
    get_type_hints(Hsp)[name] for name in HSP_FIELDS
)


def table_rows(
    table: Path, errors: str = "surrogateescape"
) -> Iterator[tuple[int, str, list[str | None]]]:
    """Each row of a batch's table as (query position in the batch, the query's title as
    BLAST printed it, the row's TABLE_COLUMNS); columns a legacy table lacks are None. A new
    query's block is announced by a row with no columns. Bytes that are not UTF-8 are kept
    (surrogateescape, for byte-exact downloads) or replaced (`errors="replace"`)."""
    position, title, field_count = -1, "", len(TABLE_COLUMNS)
    with open(table, encoding="utf-8", errors=errors, newline="") as lines:
        for raw in lines:
            line = raw.rstrip("\r\n")
            if line.startswith(_QUERY_LINE):
                position, title = position + 1, line[len(_QUERY_LINE) :]
                yield position, title, []
            elif line.startswith(_FIELDS_LINE):
                field_count = len(line[len(_FIELDS_LINE) :].split(", "))
            elif line and not line.startswith(_COMMENT):
                if position < 0:
                    raise _error(table, f"an HSP row comes before any query: {line[:120]!r}")
                try:
                    yield position, title, split_table_row(line, field_count)
                except ValueError as exc:
                    raise _error(table, f"unreadable HSP row {line[:120]!r} ({exc})") from exc


def read_hsps(table: Path, query_ids: Sequence[str], query_offset: int) -> list[Hsp]:
    """The HSPs of one batch's table (BLAST's `-outfmt HSP_TABLE_OUTFMT` output), in BLAST's
    order, placed on their job-wide query index.

    `query_ids` are the first words of the batch's query deflines in order. `Hsp.query_id` is
    taken from that list, so it is the user's id even where BLAST printed a rewritten one.
    """
    hsps: list[Hsp] = []
    queries = -1
    legacy = False
    for position, title, columns in table_rows(table, errors="replace"):
        if not columns:  # a query's block starts
            queries = position
            _check_query(table, query_ids, position, title)
            continue
        legacy = legacy or columns[-1] is None
        index = query_offset + position
        hsps.append(_parse_row(table, columns, index, query_ids[position]))
    if queries + 1 != len(query_ids):
        raise _error(
            table,
            f"it holds {queries + 1} queries but the batch lists {len(query_ids)}",
        )
    return with_query_cover(hsps) if legacy else hsps


_TEXT_FIELDS = ("query_id", "subject_id", "subject_title")
# The HSP fields that are numbers (all but the query's and subject's ids and the title).
NUMBER_FIELDS = tuple(f for f in HSP_FIELDS if f not in _TEXT_FIELDS)


@dataclass
class HspColumns:
    """One batch's HSPs as the index stores them: a list per field instead of an `Hsp` per
    row. Subjects are coded in order of first appearance (`subject_codes` index into
    `subject_ids` and `subject_titles`)."""

    query_index: list[int]
    numbers: dict[str, np.ndarray]  # every HSP field but the ids and title: int64 or float64
    subject_codes: list[int]
    subject_ids: list[str]
    subject_titles: list[str]

    @staticmethod
    def of(hsps: Sequence[Hsp]) -> HspColumns:
        subjects: dict[str, int] = {}
        titles: list[str] = []
        codes = []
        for h in hsps:
            if h.subject_id not in subjects:
                subjects[h.subject_id] = len(subjects)
                titles.append(h.subject_title)
            codes.append(subjects[h.subject_id])
        numbers = {
            name: np.array([getattr(h, name) for h in hsps], _number_dtype(name))
            for name in NUMBER_FIELDS
        }
        return HspColumns([h.query_index for h in hsps], numbers, codes, list(subjects), titles)


def _number_dtype(name: str) -> type[np.generic]:
    return np.float64 if _CONVERTERS[HSP_FIELDS.index(name)] is float else np.int64


def read_hsp_columns(table: Path, query_ids: Sequence[str], query_offset: int) -> HspColumns | None:
    """`read_hsps` as columns, for indexing a finished batch: the same values and checks, but
    each column converted in one pass rather than an `Hsp` built per row (several times less
    of the server's CPU per job, CPU that BLAST's processes would otherwise have), and the
    lines sorted into comments and rows by comprehensions rather than a loop with a branch per
    line (a batch's last table is indexed while its job waits: 10 -> 6 ms at 2,500 rows).
    None for a legacy table (`read_hsps` derives its qcovs)."""
    laid_out = _table_layout(table, query_ids)
    if laid_out is None:
        return None
    lines, row_lines, positions = laid_out
    field_count = len(TABLE_COLUMNS)
    rows = [lines[i].split("\t") for i in row_lines]
    for k in [k for k, parts in enumerate(rows) if len(parts) != field_count]:
        line = lines[row_lines[k]]  # a tab in a subject title, or a broken row
        try:
            rows[k] = split_table_row(line, field_count)  # type: ignore[call-overload]
        except ValueError as exc:
            raise _error(table, f"unreadable HSP row {line[:120]!r} ({exc})") from exc
    return _columns(table, rows, (positions + query_offset).tolist())


def count_table(table: Path, query_ids: Sequence[str]) -> tuple[int, int] | None:
    """A finished batch's HSPs and hits ((query, subject) pairs) as its index would count
    them, with the same checks of its layout and rows, without converting a column: what a
    job's completion needs of a batch it has not indexed (~1.5 against ~12 ms at 2,500
    rows). None for a legacy table."""
    laid_out = _table_layout(table, query_ids)
    if laid_out is None:
        return None
    lines, row_lines, positions = laid_out
    rows = [lines[i] for i in row_lines]
    short = next((row for row in rows if row.count("\t") < len(TABLE_COLUMNS) - 1), None)
    if short is not None:
        found = short.count("\t") + 1
        raise _error(table, f"unreadable HSP row {short[:120]!r} ({found} columns)")
    subjects = [row.split("\t", 2)[1] for row in rows]
    return len(rows), len(set(zip(positions.tolist(), subjects, strict=True)))


def _table_layout(
    table: Path, query_ids: Sequence[str]
) -> tuple[list[str], list[int], np.ndarray] | None:
    """A batch table's lines, the lines of its HSP rows and each row's query (its place in
    the batch), once its `# Query:` lines are checked against the batch's queries; None for a
    legacy table."""
    with open(table, encoding="utf-8", errors="replace", newline="") as handle:
        text = handle.read()
    # The lines a file iterated with newline="" gives (\n, \r\n or \r), without their ends.
    lines = _LINE_END.split(text) if "\r" in text else text.split("\n")
    field_count = len(TABLE_COLUMNS)
    starts: list[int] = []  # the line of each query's "# Query:" comment
    for at in [i for i, line in enumerate(lines) if line.startswith(_COMMENT)]:
        line = lines[at]
        if line.startswith(_QUERY_LINE):
            _check_query(table, query_ids, len(starts), line[len(_QUERY_LINE) :])
            starts.append(at)
        elif line.startswith(_FIELDS_LINE) and (
            len(line[len(_FIELDS_LINE) :].split(", ")) != field_count
        ):
            return None
    row_lines = [i for i, line in enumerate(lines) if line and not line.startswith(_COMMENT)]
    if row_lines and (not starts or row_lines[0] < starts[0]):
        line = lines[row_lines[0]]
        raise _error(table, f"an HSP row comes before any query: {line[:120]!r}")
    if len(starts) != len(query_ids):
        raise _error(table, f"it holds {len(starts)} queries but the batch lists {len(query_ids)}")
    # Each row's query: the last "# Query:" line before it.
    positions = np.searchsorted(np.array(starts), np.array(row_lines, dtype=np.int64), "right")
    return lines, row_lines, positions - 1


def _columns(table: Path, rows: list[list[str]], query_index: list[int]) -> HspColumns:
    by_position = list(zip(*rows, strict=True)) or [()] * len(TABLE_COLUMNS)
    texts = {name: by_position[_FIELD_POSITIONS[i]] for i, name in enumerate(HSP_FIELDS)}
    if "N/A" in texts["staxid"]:  # no taxid in the database
        texts["staxid"] = tuple("0" if t == "N/A" else t for t in texts["staxid"])
    numbers: dict[str, np.ndarray] = {}
    for name in NUMBER_FIELDS:
        try:
            numbers[name] = _parse_numbers(texts[name], _CONVERTERS[HSP_FIELDS.index(name)])
        except ValueError as exc:
            column = BLAST_COLUMNS[HSP_FIELDS.index(name)]
            raise _error(table, f"unreadable {column} ({exc})") from exc
    subjects: dict[str, int] = {}
    titles: list[str] = []
    codes = []
    for subject, title in zip(texts["subject_id"], texts["subject_title"], strict=True):
        code = subjects.get(subject)
        if code is None:
            code = subjects[subject] = len(subjects)
            titles.append(title)
        codes.append(code)
    return HspColumns(query_index, numbers, codes, list(subjects), titles)


def _parse_numbers(texts: Sequence[str], convert: Callable[[str], object]) -> np.ndarray:
    """One column's numbers, parsed by numpy in one pass (int64 or float64; the same values
    as `int`/`float` give, checked on BLAST's formats). Anything numpy reads short of the whole
    column (a bad or empty field) is parsed again by `convert`, which names the bad text."""
    dtype = np.float64 if convert is float else np.int64
    if not texts:
        return np.zeros(0, dtype)
    try:
        parsed = np.fromstring("\t".join(texts), dtype=dtype, sep="\t")
    except ValueError:  # numpy's "could not be read to its end", where warnings are errors
        parsed = None
    if parsed is None or len(parsed) != len(texts):
        return np.array([convert(t) for t in texts], dtype)
    return parsed


def evalue_text(evalue: float) -> str:
    """An e-value as BLAST+ prints it in tabular output."""
    if evalue < 1.0e-180:
        return "0.0"
    if evalue < 0.0009:
        return f"{evalue:.2e}"
    if evalue < 0.1:
        return f"{evalue:.3f}"
    if evalue < 1.0:
        return f"{evalue:.2f}"
    if evalue < 10.0:
        return f"{evalue:.1f}"
    return f"{evalue:.0f}"


def bitscore_text(bitscore: float) -> str:
    """A bit score as BLAST+ prints it in tabular output: over 99.9 cut to a whole number."""
    if bitscore > 99999:
        return f"{bitscore:.3e}"
    if bitscore > 99.9:
        return str(int(bitscore))
    return f"{bitscore:.1f}"


def write_hsp_table(path: Path, query_ids: Sequence[str], rows: Iterator[Hsp]) -> None:
    """A hit table in the layout BLAST writes for a batch (`HSP_TABLE_OUTFMT`), from HSPs
    BLAST did not write here (an imported BLAST XML): a `# Query:` line per query, in order,
    then its rows, with BLAST's tabular number formats, so the table downloads (`tsv`, `csv`,
    `columns=`) read it as they read a search's. `rows` come in query order."""
    fields = "# Fields: " + ", ".join(TABLE_COLUMNS)
    pending = next(rows, None)
    with path.open("w", encoding="utf-8", newline="") as out:
        for index, query_id in enumerate(query_ids):
            out.write(f"{_QUERY_LINE}{query_id}\n")
            if pending is not None and pending.query_index == index:
                out.write(fields + "\n")
            while pending is not None and pending.query_index == index:
                out.write("\t".join(_table_cells(pending)) + "\n")
                pending = next(rows, None)
        if pending is not None:
            raise ValueError(f"an HSP of query {pending.query_index} beyond the queries listed")


def _table_cells(h: Hsp) -> list[str]:
    values = {
        "qseqid": h.query_id, "saccver": h.subject_id, "stitle": h.subject_title,
        "pident": f"{h.pident:.3f}", "evalue": evalue_text(h.evalue),
        "bitscore": bitscore_text(h.bitscore), "qaccver": h.query_id,
    }  # fmt: skip
    ints = ("length", "mismatch", "gapopen", "qstart", "qend", "sstart", "send", "qlen", "slen",
            "qcovhsp", "qcovs", "staxid")  # fmt: skip
    for name in ints:
        values[name] = str(int(getattr(h, name)))
    return [values[column] for column in TABLE_COLUMNS]


def with_query_cover(hsps: list[Hsp]) -> list[Hsp]:
    """`qcovs` derived for a legacy table as BLAST derives it: the share of the query covered
    by the union of the query ranges of all HSPs with one subject (`query_cover`)."""
    ranges: dict[tuple[int, str], list[tuple[int, int]]] = {}
    for h in hsps:
        ranges.setdefault((h.query_index, h.subject_id), []).append(
            (min(h.qstart, h.qend), max(h.qstart, h.qend))
        )
    covered = {}
    for key, spans in ranges.items():
        total, end = 0, 0
        for start, stop in sorted(spans):
            start = max(start, end + 1)
            if stop >= start:
                total += stop - start + 1
                end = stop
        covered[key] = total
    return [
        replace(h, qcovs=query_cover(covered[(h.query_index, h.subject_id)], h.qlen)) for h in hsps
    ]


def query_cover(covered: int, qlen: int) -> int:
    """BLAST's whole-percent query coverage: rounded half up, but 100 only when every base
    is covered (checked against BLAST 2.12's qcovs and qcovhsp on 10,000 hits)."""
    if qlen <= 0:
        return 0
    percent = int(100 * covered / qlen + 0.5)
    return 99 if percent == 100 and covered < qlen else percent


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


def _parse_row(table: Path, columns: list[str | None], query_index: int, query_id: str) -> Hsp:
    texts = [columns[i] for i in _FIELD_POSITIONS]
    if texts[_STAXID] in (None, "N/A"):  # no taxid in the database (or a legacy table)
        texts[_STAXID] = "0"
    if texts[_QCOVS] is None:
        texts[_QCOVS] = "0"  # derived by with_query_cover
    try:
        values = [convert(text) for convert, text in zip(_CONVERTERS, texts, strict=True)]
    except ValueError as exc:
        raise _error(table, f"unreadable HSP row {texts!r:.160} ({exc})") from exc
    # The caller's id, not BLAST's rendering of it (see _same_query_id).
    return Hsp(query_index, query_id, *values[1:])


def split_table_row(line: str, field_count: int = len(TABLE_COLUMNS)) -> list[str | None]:
    """The TABLE_COLUMNS of a row with `field_count` fields (a legacy table's row has fewer:
    the missing ones are None); a tab inside a subject title stays in the title."""
    parts = line.split("\t")
    if field_count not in (len(TABLE_COLUMNS), len(LEGACY_TABLE_COLUMNS)):
        raise ValueError(f"a table of {field_count} fields is not a BlastDeck hit table")
    if len(parts) < field_count:
        raise ValueError(f"{len(parts)} columns, expected {field_count}")
    title_end = len(parts) - (field_count - _TITLE_COLUMN - 1)
    title = "\t".join(parts[_TITLE_COLUMN:title_end])
    row: list[str | None] = [*parts[:_TITLE_COLUMN], title, *parts[title_end:]]
    return row + [None] * (len(TABLE_COLUMNS) - len(row))


def _error(table: Path, detail: str) -> BlastDeckError:
    return BlastDeckError(
        ErrorCode.EXPORT_FAILED, f"Could not read the HSPs of {table.name}: {detail}"
    )
