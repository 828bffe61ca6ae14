"""Whole-job downloads: one complete document per format, however many batches the job had.

A job runs as N batches. Each leaves a hit table written by BLAST itself (`-outfmt 7`, see
`hits.TABLE_COLUMNS`), from which the tsv and csv downloads are copied exactly as BLAST printed
them; the other formats are formatted with `blast_formatter` from each batch's Blast4 archive
(`-outfmt 11`). Batches are handled one at a time into a scratch file and stitched together
while streaming, so memory stays bounded by one batch. The result appears at `out` atomically
(temp file in the same directory, then `os.replace`).

Facts about BLAST+ 2.12 output that the stitching relies on (checked against real output):
- Pairwise text repeats its banner/reference prolog and its database/matrix footer once per
  archive *record*, and blastn itself may write several records into one archive file when it
  splits a large query set. The prolog ends at the first `Query= ` line, the footer starts at
  the `  Database: ` line and ends where the banner line repeats.
- XML and JSON from one archive file are already one document, whatever its record count.
- In an archive, queries are local ids `Query_1..Query_n`, numbered per archive *file* (they keep
  counting across the records of one file, and restart at 1 in the next batch's file).
"""

from __future__ import annotations

import csv
import errno
import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO

from blastdeck.blast_tools import BlastToolError, run_tool
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.results.hits import TABLE_COLUMNS, split_table_row

# BLAST's standard tabular columns (`std`, what plain `-outfmt 6` prints), used by tsv and csv.
STANDARD_COLUMNS: tuple[str, ...] = (
    "qaccver",
    "saccver",
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
)

# BLAST writes plain ASCII; surrogateescape round-trips any other byte unchanged.
_ENCODING = {"encoding": "utf-8", "errors": "surrogateescape"}


class ExportFormat(StrEnum):
    TSV = "tsv"
    CSV = "csv"
    JSON = "json"
    XML = "xml"
    XML2 = "xml2"
    TEXT = "text"
    HTML = "html"
    TABULAR = "tabular"
    ASN1 = "asn1"

    @property
    def media_type(self) -> str:
        return _SPECS[self].media_type

    @property
    def extension(self) -> str:
        """The file extension, without the dot."""
        return _SPECS[self].extension


@dataclass(frozen=True)
class _FormatSpec:
    media_type: str
    extension: str


_SPECS: dict[ExportFormat, _FormatSpec] = {
    ExportFormat.TSV: _FormatSpec("text/tab-separated-values", "tsv"),
    ExportFormat.CSV: _FormatSpec("text/csv", "csv"),
    ExportFormat.JSON: _FormatSpec("application/json", "json"),
    ExportFormat.XML: _FormatSpec("application/xml", "xml"),
    ExportFormat.XML2: _FormatSpec("application/xml", "xml2.xml"),
    ExportFormat.TEXT: _FormatSpec("text/plain", "txt"),
    ExportFormat.HTML: _FormatSpec("text/html", "html"),
    ExportFormat.TABULAR: _FormatSpec("text/plain", "tabular.txt"),
    ExportFormat.ASN1: _FormatSpec("text/plain", "asn"),  # BLAST's archive is ASN.1 *text*
}


def parse_export_format(value: str) -> ExportFormat:
    try:
        return ExportFormat(value.strip().lower())
    except ValueError:
        known = ", ".join(f.value for f in ExportFormat)
        raise BlastDeckError(
            ErrorCode.UNKNOWN_FORMAT,
            f"Unknown export format {value[:40]!r}; use one of {known}.",
            field="format",
        ) from None


def needs_archives(fmt: ExportFormat) -> bool:
    """Whether `fmt` is formatted from the batch archives (the tables serve tsv and csv)."""
    return fmt not in (ExportFormat.TSV, ExportFormat.CSV)


def render_export(
    fmt: ExportFormat | str,
    tables: Sequence[Path],
    archives: Sequence[Path],
    blastdb_dir: Path,
    out: Path,
) -> Path:
    """Write the whole job's results in `fmt` to `out` (atomically) and return `out`.

    `tables` and `archives` are the batches' hit tables and archives in query order (archives
    are only read for formats that `needs_archives`); `blastdb_dir` is where the database's
    basename resolves for `blast_formatter`. Failures raise `BlastDeckError` (EXPORT_FAILED, or
    UNKNOWN_FORMAT for a format name that is not one of `ExportFormat`) and leave `out` as it was.
    """
    if not isinstance(fmt, ExportFormat):
        fmt = parse_export_format(fmt)
    if not (archives if needs_archives(fmt) else tables):
        raise BlastDeckError(ErrorCode.EXPORT_FAILED, "There are no batch results to export.")
    writer = _WRITERS[fmt]
    # A unique hidden name beside `out`: same filesystem, so os.replace is atomic.
    draft = out.with_name(f".{out.name}.{uuid.uuid4().hex}.part")
    try:
        with (
            tempfile.TemporaryDirectory(prefix=".export-", dir=out.parent) as scratch,
            open(draft, "x", newline="", **_ENCODING) as sink,
        ):
            writer(_Job(tuple(tables), tuple(archives), blastdb_dir, Path(scratch)), sink)
            sink.flush()
            os.fsync(sink.fileno())  # the rename must never expose a half-written file
        os.replace(draft, out)
    except BaseException as exc:
        draft.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            # A full disk is the operator's to fix, not a crash: say so with its stable code.
            raise BlastDeckError(
                ErrorCode.STORAGE_FULL,
                f"No space left on the disk holding {out.parent} to write the {fmt.value} "
                "export; free some space and ask again.",
            ) from exc
        raise
    return out


# -- shared plumbing -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    tables: tuple[Path, ...]
    archives: tuple[Path, ...]
    blastdb_dir: Path
    scratch: Path

    def formatted(self, outfmt: str, *extra: str) -> Iterator[Path]:
        """Each batch formatted as `outfmt`, one at a time, into the same scratch file.

        The consumer must be done with a file before asking for the next one.
        """
        dest = self.scratch / "batch.out"
        for archive in self.archives:
            _format_batch(archive, self.blastdb_dir, [outfmt, *extra], dest)
            yield dest


def _format_batch(archive: Path, blastdb_dir: Path, outfmt: list[str], dest: Path) -> None:
    try:
        run_tool(
            "blast_formatter",
            ["-archive", str(archive), "-outfmt", *outfmt],
            blastdb_dir=blastdb_dir,
            stdout_path=dest,
        )
    except BlastToolError as exc:
        raise _export_error(f"blast_formatter could not format {archive.name}: {exc}") from exc


def _open_text(path: Path) -> TextIO:
    return open(path, newline="", **_ENCODING)


def _export_error(message: str) -> BlastDeckError:
    return BlastDeckError(ErrorCode.EXPORT_FAILED, message)


# -- tsv / csv ---------------------------------------------------------------------------------


def _write_tsv(job: _Job, sink: TextIO) -> None:
    sink.write("\t".join(STANDARD_COLUMNS) + "\n")
    for row in _standard_rows(job.tables):
        sink.write("\t".join(row) + "\n")


def _write_csv(job: _Job, sink: TextIO) -> None:
    writer = csv.writer(sink)
    writer.writerow(STANDARD_COLUMNS)
    writer.writerows(_standard_rows(job.tables))


# Where each standard column sits in a batch's hit table.
_STANDARD_POSITIONS = tuple(TABLE_COLUMNS.index(name) for name in STANDARD_COLUMNS)


def blast_csv_lines(tables: Iterable[Path]) -> Iterator[str]:
    """BLAST's own `-outfmt 10` bytes (no header, no quoting) for clients that expect them."""
    for row in _standard_rows(tables):
        yield ",".join(row) + "\n"


def _standard_rows(tables: Iterable[Path]) -> Iterator[list[str]]:
    """BLAST's standard tabular rows (outfmt 6), taken from the batch tables in order."""
    for table in tables:
        with _open_text(table) as src:
            for line in src:
                row = line.rstrip("\r\n")
                if row and not row.startswith("#"):
                    try:
                        columns = split_table_row(row)
                    except ValueError as exc:
                        raise _export_error(f"unreadable row in {table.name}: {exc}") from exc
                    yield [columns[i] for i in _STANDARD_POSITIONS]


# -- json --------------------------------------------------------------------------------------

_QUERY_NUMBER = re.compile(r"Query_(\d+)")


def _write_json(job: _Job, sink: TextIO) -> None:
    """BLAST's single-file JSON (outfmt 15) with every batch's query reports in one list."""
    sink.write('{"BlastOutput2": [')
    written = 0
    for path in job.formatted("15"):
        offset = written
        for report in _json_reports(path):
            _renumber_json_query(report, offset)
            sink.write(",\n" if written else "\n")
            json.dump(report, sink)
            written += 1
    sink.write("\n]}\n")


def _json_reports(path: Path) -> list[Any]:
    with _open_text(path) as src:
        try:
            # strict=False: tolerate a raw control character inside a title.
            document = json.load(src, strict=False)
        except ValueError as exc:
            raise _export_error(f"blast_formatter wrote JSON that does not parse: {exc}") from exc
    reports = document.get("BlastOutput2") if isinstance(document, dict) else None
    if not isinstance(reports, list):
        raise _export_error("blast_formatter's JSON has no BlastOutput2 list")
    return reports


def _renumber_json_query(report: Any, offset: int) -> None:
    """Make a batch-local `Query_K` id job-wide, as the XML export does."""
    try:
        search = report["report"]["results"]["search"]
    except (KeyError, TypeError):
        return
    query_id = search.get("query_id") if isinstance(search, dict) else None
    if isinstance(query_id, str) and (m := _QUERY_NUMBER.fullmatch(query_id)):
        search["query_id"] = f"Query_{offset + int(m.group(1))}"


# -- xml ---------------------------------------------------------------------------------------

_ITERATIONS_OPEN = "<BlastOutput_iterations>"
_ITERATIONS_CLOSE = "</BlastOutput_iterations>"
_ITER_NUM = re.compile(r"^(\s*<Iteration_iter-num>)\d+(</Iteration_iter-num>)")
_ITER_QUERY_ID = re.compile(r"^(\s*<Iteration_query-ID>)Query_(\d+)(</Iteration_query-ID>)")


def _write_xml(job: _Job, sink: TextIO) -> None:
    """One `<BlastOutput>`: the first batch's header, every batch's `<Iteration>`s, one tail.

    BLAST writes one element per line and escapes all user text, so a line-based pass is exact.
    """
    last = len(job.archives) - 1
    renumber = _IterationRenumberer()
    for index, path in enumerate(job.formatted("5")):
        renumber.start_batch()
        with _open_text(path) as src:
            part = "head"
            for line in src:
                stripped = line.strip()
                if part == "iterations" and stripped == _ITERATIONS_CLOSE:
                    part = "tail"
                if part == "iterations":
                    sink.write(renumber(line))
                elif (part == "head" and index == 0) or (part == "tail" and index == last):
                    sink.write(line)
                if part == "head" and stripped == _ITERATIONS_OPEN:
                    part = "iterations"
        if part != "tail":
            raise _export_error(f"blast_formatter's XML for batch {index + 1} is incomplete")


class _IterationRenumberer:
    """Renumbers `Iteration_iter-num` 1..N across the job and `Query_K` query ids job-wide."""

    def __init__(self) -> None:
        self.iterations = 0
        self.offset = 0

    def start_batch(self) -> None:
        # A batch's query ids restart at Query_1, so shift them by the queries before it.
        self.offset = self.iterations

    def __call__(self, line: str) -> str:
        if m := _ITER_NUM.match(line):
            self.iterations += 1
            return f"{m.group(1)}{self.iterations}{m.group(2)}{line[m.end() :]}"
        if m := _ITER_QUERY_ID.match(line):
            number = self.offset + int(m.group(2))
            return f"{m.group(1)}Query_{number}{m.group(3)}{line[m.end() :]}"
        return line


# -- pairwise text -----------------------------------------------------------------------------

_QUERY_START = "Query= "
_HTML_QUERY_START = "<b>Query=</b> "
_FOOTER_START = "  Database: "


def _write_text(job: _Job, sink: TextIO) -> None:
    _write_pairwise(job, sink, job.formatted("0"), _QUERY_START)


def _write_html(job: _Job, sink: TextIO) -> None:
    """Pairwise output as BLAST's own HTML (-html): the same layout, marked up."""
    _write_pairwise(job, sink, job.formatted("0", "-html"), _HTML_QUERY_START)


def _write_pairwise(job: _Job, sink: TextIO, batches: Iterable[Path], query_start: str) -> None:
    """The banner/reference prolog once, every query section in order, the footer once."""
    banner: str | None = None
    in_queries = False
    footer: list[str] = []
    for path in batches:
        with _open_text(path) as src:
            for part, line in _text_parts(src, banner, query_start):
                banner = banner or line
                if part == "prolog" and not in_queries:
                    sink.write(line)
                elif part == "query":
                    in_queries = True
                    footer.clear()
                    sink.write(line)
                elif part == "footer":
                    footer.append(line)
    if not in_queries:
        raise _export_error("blast_formatter's pairwise output has no query section")
    sink.writelines(footer)  # the last record's: the same database and parameters throughout


def _text_parts(
    lines: TextIO, banner: str | None, query_start: str = _QUERY_START
) -> Iterator[tuple[str, str]]:
    """Label each line of one batch's pairwise output as prolog, query or footer.

    An archive file may hold several records, each printed as prolog, queries, footer; a record
    starts again where the banner line (the program and version) repeats.
    """
    part = "prolog"
    for line in lines:
        banner = banner or line
        if part == "prolog" and line.startswith(query_start):
            part = "query"
        elif part == "query" and line.startswith(_FOOTER_START):
            part = "footer"
        elif part == "footer" and line == banner:
            part = "prolog"
        yield part, line


# -- xml2 --------------------------------------------------------------------------------------

_XML2_REPORT_OPEN = "<BlastOutput2>"
_XML2_CLOSE = "</BlastXML2>"
_XML2_QUERY_ID = re.compile(r"^(\s*<query-id>)Query_(\d+)(</query-id>)")


def _write_xml2(job: _Job, sink: TextIO) -> None:
    """One `<BlastXML2>` (outfmt 16): the first batch's header, every `<BlastOutput2>` report."""
    reports = 0
    for index, path in enumerate(job.formatted("16")):
        offset = reports  # batch-local Query_K ids made job-wide, as in the XML export
        with _open_text(path) as src:
            part = "head"
            for line in src:
                stripped = line.strip()
                if stripped == _XML2_REPORT_OPEN:
                    part = "reports"
                    reports += 1
                elif stripped == _XML2_CLOSE:
                    part = "tail"
                    continue
                if part == "head" and index == 0:
                    sink.write(line)
                elif part == "reports":
                    m = _XML2_QUERY_ID.match(line)
                    if m:
                        number = offset + int(m.group(2))
                        line = f"{m.group(1)}Query_{number}{m.group(3)}{line[m.end() :]}"
                    sink.write(line)
        if part != "tail":
            raise _export_error(f"blast_formatter's XML2 for batch {index + 1} is incomplete")
    sink.write(_XML2_CLOSE + "\n")


# -- commented tabular (outfmt 7) ----------------------------------------------------------------

_PROCESSED = re.compile(r"# BLAST processed (\d+) quer(y|ies)")


def _write_tabular(job: _Job, sink: TextIO) -> None:
    """BLAST's commented hit table (outfmt 7): every query's block, one closing count."""
    queries = 0
    for path in job.formatted("7"):
        with _open_text(path) as src:
            for line in src:
                if m := _PROCESSED.match(line):
                    queries += int(m.group(1))
                else:
                    sink.write(line)
    sink.write(f"# BLAST processed {queries} {'query' if queries == 1 else 'queries'}\n")


# -- asn1 --------------------------------------------------------------------------------------


def _write_asn1(job: _Job, sink: TextIO) -> None:
    """One Blast4-archive record holding every batch's queries, alignments and masks.

    A single batch is copied as it is. Otherwise the batches' records are merged: query ids are
    renumbered job-wide, and the fields a record holds once for all its queries (options with
    the effective search space, Karlin-Altschul blocks, search statistics) come from the first
    record, exactly as in any one-record archive BLAST writes. `blast_formatter` reads the merge
    back to the same hits and alignments; only those per-record statistics lines can differ
    from formatting the batches one by one.
    """
    if len(job.archives) == 1:
        with _open_text(job.archives[0]) as src:
            shutil.copyfileobj(src, sink)
        return
    merger = _ArchiveMerger(job.scratch)
    for archive in job.archives:
        try:
            merger.add_file(archive.read_text(**_ENCODING))
        except _AsnError as exc:
            raise _export_error(f"Cannot merge the archive {archive.name}: {exc}") from exc
    merger.write(sink)


class _AsnError(ValueError):
    """An archive whose shape the merger does not understand."""


# Double-quoted ASN.1 strings ("" escapes a quote) and the punctuation that gives the structure.
_ASN_TOKEN = re.compile(r'"[^"]*(?:""[^"]*)*"|[{},]')
_ASN_LOCAL_QUERY = re.compile(r'local str "Query_(\d+)"')
_ASN_PARAM_NAME = re.compile(r'\{\s*name\s+"([^"]*)"')


@dataclass(frozen=True)
class _Piece:
    """One comma-separated element of an ASN.1 value list."""

    text: str  # the element, without surrounding blank lines
    head: str  # the words before its first `{`, e.g. "body queue-search"
    body: str | None  # what is inside its first `{ }`, untrimmed

    @property
    def label(self) -> str:
        words = self.head.split()
        return words[0] if words else ""


def _top_level(text: str, start: int, end: int) -> Iterator[tuple[str, int, int]]:
    """The braces and commas of text[start:end] that sit at nesting depth 0."""
    depth = 0
    for m in _ASN_TOKEN.finditer(text, start, end):
        token = m.group()
        if token == "{":
            depth += 1
            if depth == 1:
                yield "{", m.start(), m.end()
        elif token == "}":
            depth -= 1
            if depth < 0:
                raise _AsnError("unbalanced braces")
            if depth == 0:
                yield "}", m.start(), m.end()
        elif token == "," and depth == 0:
            yield ",", m.start(), m.end()
    if depth:
        raise _AsnError("unbalanced braces")


def _pieces(text: str, start: int, end: int) -> list[_Piece]:
    """The elements of the value list text[start:end] (the inside of a `{ }`)."""
    pieces: list[_Piece] = []
    piece_start, opened, body = start, -1, None
    for token, at, after in _top_level(text, start, end):
        if token == "{" and body is None:
            opened = after
        elif token == "}" and body is None:
            body = (opened, at)
        elif token == ",":
            pieces.append(_piece(text, piece_start, at, body))
            piece_start, body = after, None
    if text[piece_start:end].strip():
        pieces.append(_piece(text, piece_start, end, body))
    return pieces


def _piece(text: str, start: int, end: int, body: tuple[int, int] | None) -> _Piece:
    head_end = body[0] - 1 if body else end
    return _Piece(
        text=_trim(text[start:end]),
        head=text[start:head_end].strip(),
        body=text[body[0] : body[1]] if body else None,
    )


def _trim(text: str) -> str:
    """Drop blank lines around `text` but keep its first line's indentation, for readability."""
    text = text.rstrip()
    lead = len(text) - len(text.lstrip())
    return text[text.rfind("\n", 0, lead) + 1 :]


def _records(text: str) -> Iterator[str]:
    """The insides of the `Blast4-archive ::= { }` records of one archive file."""
    last, opened = 0, 0
    for token, at, after in _top_level(text, 0, len(text)):
        if token == ",":
            raise _AsnError("unexpected ',' between records")
        if token == "{":
            if text[last:at].split() != ["Blast4-archive", "::="]:
                raise _AsnError("not a Blast4-archive in ASN.1 text (outfmt 11)")
            opened = after
        else:
            yield text[opened:at]
            last = after
    if text[last:].strip() or last == 0:
        raise _AsnError("not a Blast4-archive in ASN.1 text (outfmt 11)")


def _items(piece: _Piece) -> list[_Piece]:
    """The elements inside a piece's `{ }`."""
    body = piece.body or ""
    return _pieces(body, 0, len(body))


def _fields(body: str | None, allowed: tuple[str, ...], where: str) -> dict[str, _Piece]:
    """The named fields of a SEQUENCE value; a field the merger does not know is refused."""
    fields: dict[str, _Piece] = {}
    for piece in _pieces(body or "", 0, len(body or "")):
        if piece.label not in allowed:
            raise _AsnError(f"unsupported field {piece.label!r} in {where}")
        fields[piece.label] = piece
    return fields


class _Spool:
    """List items appended to a scratch file, so a merged list never has to fit in memory."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self.empty = True

    def add(self, items: str) -> None:
        items = _trim(items)
        if items:
            with open(self._path, "a", **_ENCODING) as spool:
                spool.write(items if self.empty else ",\n" + items)
            self.empty = False

    def copy_to(self, sink: TextIO) -> None:
        if not self.empty:
            with _open_text(self._path) as spool:
                shutil.copyfileobj(spool, sink)


# The fields of the Blast4 ASN.1 types the merger walks through, in their specified order.
_ARCHIVE_FIELDS = ("request", "results", "messages")
_REQUEST_FIELDS = ("ident", "body")
_SEARCH_FIELDS = (
    "program",
    "service",
    "queries",
    "subject",
    "paramset",
    "algorithm-options",
    "program-options",
    "format-options",
)
_RESULT_FIELDS = ("alignments", "masks", "ka-blocks", "search-stats")
# Fields that must be identical in every record: they say which search this was.
_SAME_SEARCH_FIELDS = ("program", "service", "subject")
# Per-query masks, kept in program-options; every other option is the same for the whole job.
_QUERY_MASK_PARAM = "LCaseMask"


class _ArchiveMerger:
    """Builds one Blast4-archive record out of the records of several archive files."""

    def __init__(self, scratch: Path) -> None:
        self._queries = _Spool(scratch / "queries.asn")
        self._alignments = _Spool(scratch / "alignments.asn")
        self._masks = _Spool(scratch / "masks.asn")
        self._query_masks = _Spool(scratch / "query-masks.asn")
        self._first: dict[str, str] = {}  # whole fields taken from the first record having them
        self._options: list[str] | None = None  # program-options other than query masks
        self._messages: dict[str, None] = {}  # ordered, without repeats
        self._offset = 0  # queries in the files before this one
        self._in_file = 0  # queries seen so far in this file

    def add_file(self, text: str) -> None:
        self._in_file = 0
        for record in _records(text):
            self._add_record(record)
        self._offset += self._in_file

    def _add_record(self, record: str) -> None:
        archive = _fields(record, _ARCHIVE_FIELDS, "Blast4-archive")
        if "request" not in archive or "results" not in archive:
            raise _AsnError("a record lacks its request or results")
        request = _fields(archive["request"].body, _REQUEST_FIELDS, "request")
        body = request.get("body")
        if body is None or body.head.split() != ["body", "queue-search"]:
            raise _AsnError("the request is not a queue-search")
        self._keep_first("ident", request.get("ident"))
        search = _fields(body.body, _SEARCH_FIELDS, "queue-search")
        self._add_search(search)
        self._add_results(_fields(archive["results"].body, _RESULT_FIELDS, "results"))
        if "messages" in archive:
            for message in _items(archive["messages"]):
                self._messages.setdefault(message.text)

    def _add_search(self, search: dict[str, _Piece]) -> None:
        for name in _SAME_SEARCH_FIELDS:
            piece = search.get(name)
            if piece is None:
                raise _AsnError(f"the request has no {name}")
            if self._first.setdefault(name, piece.text) != piece.text:
                raise _AsnError(f"the batches differ in {name}; they are not from one search")
        self._add_queries(search.get("queries"))
        for name in ("paramset", "algorithm-options", "format-options"):
            self._keep_first(name, search.get(name))
        if "program-options" in search:
            self._add_program_options(search["program-options"])

    def _add_queries(self, queries: _Piece | None) -> None:
        if queries is None or queries.head.split() != ["queries", "bioseq-set"]:
            raise _AsnError("the queries are not a bioseq-set")
        inner = _items(queries)
        if len(inner) != 1 or inner[0].label != "seq-set" or inner[0].body is None:
            raise _AsnError("the queries bioseq-set is not a plain seq-set")
        seq_set = inner[0].body
        count = len(_pieces(seq_set, 0, len(seq_set)))
        numbers = [int(n) for n in _ASN_LOCAL_QUERY.findall(seq_set)]
        expected = list(range(self._in_file + 1, self._in_file + count + 1))
        if numbers != expected:
            # Renumbering is only safe for the ids BLAST gives unparsed deflines.
            raise _AsnError("the query ids are not BLAST's Query_1..Query_N in order")
        self._in_file += count
        self._queries.add(self._renumber(seq_set))

    def _add_program_options(self, options: _Piece) -> None:
        others: list[str] = []
        for param in _items(options):
            name = _ASN_PARAM_NAME.match(param.text.lstrip())
            if name and name.group(1) == _QUERY_MASK_PARAM:
                self._query_masks.add(self._renumber(param.text))
            else:
                others.append(param.text)
        if self._options is None:
            self._options = others

    def _add_results(self, results: dict[str, _Piece]) -> None:
        for name, spool in (("alignments", self._alignments), ("masks", self._masks)):
            piece = results.get(name)
            if piece is not None:
                spool.add(self._renumber(piece.body or ""))
        for name in ("ka-blocks", "search-stats"):
            self._keep_first(name, results.get(name))

    def _keep_first(self, name: str, piece: _Piece | None) -> None:
        if piece is not None:
            self._first.setdefault(name, piece.text)

    def _renumber(self, text: str) -> str:
        """Rewrite this file's `Query_K` ids to their job-wide numbers."""

        def job_wide(m: re.Match[str]) -> str:
            number = int(m.group(1))
            if not 1 <= number <= self._in_file:
                raise _AsnError(f"Query_{number} is not one of this batch's queries")
            return f'local str "Query_{self._offset + number}"'

        return _ASN_LOCAL_QUERY.sub(job_wide, text)

    # -- output --------------------------------------------------------------------------------
    # Laid out as BLAST lays out an archive; items copied from batches keep their indentation.

    def write(self, sink: TextIO) -> None:
        sink.write("Blast4-archive ::= {\n")
        sections = [self._block("request", 1, [self._text("ident"), self._write_search])]
        results = [
            self._block("alignments", 2, [self._alignments]),
            self._block("masks", 2, [self._masks]),
            self._text("ka-blocks"),
            self._text("search-stats"),
        ]
        sections.append(self._block("results", 1, results))
        if self._messages:
            sections.append(self._block("messages", 1, [list(self._messages)]))
        _write_separated(sink, sections)
        sink.write("\n}\n")

    def _write_search(self, sink: TextIO) -> None:
        program_options = None
        if self._options is not None or not self._query_masks.empty:
            program_options = self._block(
                "program-options", 3, [self._options or [], self._query_masks]
            )
        seq_set = self._block("seq-set", 4, [self._queries])
        fields = [
            self._text("program"),
            self._text("service"),
            self._block("queries bioseq-set", 3, [seq_set]),
            self._text("subject"),
            self._text("paramset"),
            self._text("algorithm-options"),
            program_options,
            self._text("format-options"),
        ]
        self._block("body queue-search", 2, fields)(sink)

    def _text(self, name: str) -> _Part | None:
        text = self._first.get(name)
        return None if text is None else [text]

    @staticmethod
    def _block(head: str, depth: int, parts: list[_Part | None]) -> _Writer:
        """Writes `head { part, part, ... }` at `depth` levels of indentation."""
        indent = "  " * depth

        def write(sink: TextIO) -> None:
            sink.write(f"{indent}{head} {{\n")
            _write_separated(sink, parts)
            sink.write(f"\n{indent}}}")

        return write


_Writer = Callable[[TextIO], None]
_Part = _Spool | list[str] | _Writer  # spooled items, ready items, or a nested block


def _write_separated(sink: TextIO, parts: Sequence[_Part | None]) -> None:
    """Write the non-empty parts with ASN.1's `,` between them."""
    first = True
    for part in parts:
        if part is None or (isinstance(part, _Spool | list) and _is_empty(part)):
            continue
        if not first:
            sink.write(",\n")
        first = False
        if isinstance(part, _Spool):
            part.copy_to(sink)
        elif isinstance(part, list):
            sink.write(",\n".join(part))
        else:
            part(sink)


def _is_empty(part: _Spool | list[str]) -> bool:
    return part.empty if isinstance(part, _Spool) else not part


_WRITERS: dict[ExportFormat, Callable[[_Job, TextIO], None]] = {
    ExportFormat.XML2: _write_xml2,
    ExportFormat.HTML: _write_html,
    ExportFormat.TABULAR: _write_tabular,
    ExportFormat.TSV: _write_tsv,
    ExportFormat.CSV: _write_csv,
    ExportFormat.JSON: _write_json,
    ExportFormat.XML: _write_xml,
    ExportFormat.TEXT: _write_text,
    ExportFormat.ASN1: _write_asn1,
}
