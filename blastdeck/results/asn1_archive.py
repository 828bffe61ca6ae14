"""The asn1 download: one Blast4-archive (`-outfmt 11`) for the whole job, merged from the
batches' archives so that `blast_formatter` reads it back to the job's hits and alignments."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from blastdeck.results.export_sources import ENCODING, ExportSources, export_error, open_text


def write_asn1(job: ExportSources, sink: TextIO) -> None:
    """One Blast4-archive record holding every batch's queries, alignments and masks.

    A single batch is copied as it is. Otherwise the batches' records are merged: query ids are
    renumbered job-wide, and the fields a record holds once for all its queries (options with
    the effective search space, Karlin-Altschul blocks, search statistics) come from the first
    record, exactly as in any one-record archive BLAST writes. `blast_formatter` reads the merge
    back to the same hits and alignments; only those per-record statistics lines can differ
    from formatting the batches one by one.
    """
    if len(job.archives) == 1:
        with open_text(job.archives[0]) as src:
            shutil.copyfileobj(src, sink)
        return
    merger = _ArchiveMerger(job.scratch)
    for archive in job.archives:
        try:
            merger.add_file(archive.read_text(**ENCODING))
        except _AsnError as exc:
            raise export_error(f"Cannot merge the archive {archive.name}: {exc}") from exc
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
            with open(self._path, "a", **ENCODING) as spool:
                spool.write(items if self.empty else ",\n" + items)
            self.empty = False

    def copy_to(self, sink: TextIO) -> None:
        if not self.empty:
            with open_text(self._path) as spool:
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
