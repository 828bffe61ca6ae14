"""Whole-job downloads: one complete document per format, however many batches the job had.

A job runs as N batches. Each leaves a hit table written by BLAST itself (`-outfmt 7`, see
`hsps.TABLE_COLUMNS`), from which the tsv and csv downloads are copied exactly as BLAST printed
them (`tabular.py`); the other formats are formatted with `blast_formatter` from each batch's
Blast4 archive (`-outfmt 11`), and the asn1 download merges the archives (`asn1_archive.py`).
Batches are handled one at a time into a scratch file and stitched together while streaming,
so memory stays bounded by one batch. The document is written strictly in order into a draft
beside `out` (readers may follow it as it grows, `export_renders.py`) and appears at `out`
atomically (`os.replace`).

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

import dataclasses
import errno
import functools
import itertools
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

from blastdeck.blast_tools import DatabaseDir
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.results.asn1_archive import write_asn1
from blastdeck.results.export_sources import (
    ENCODING,
    ExportSources,
    export_error,
    marked_lines,
)
from blastdeck.results.formats import ExportFormat, needs_archives, parse_export_format
from blastdeck.results.tabular import write_csv, write_tsv


def render_export(
    fmt: ExportFormat | str,
    tables: Sequence[Path],
    archives: Sequence[Path],
    blastdb_dir: Path | DatabaseDir,
    out: Path,
    on_draft: Callable[[Path], None] = lambda draft: None,
    query_loc: str | None = None,
) -> Path:
    """Write the whole job's results in `fmt` to `out` (atomically) and return `out`.

    `tables` and `archives` are the batches' hit tables and archives in query order (archives
    are only read for formats that `needs_archives`); `blastdb_dir` is where the database's
    basename resolves for `blast_formatter`. `on_draft` is told the file being written, which
    becomes `out` whole, once readers may follow it (it is written in order). `query_loc` is the
    job's, whose searched stretch is each query's length in XML, XML2 and JSON
    (`query_lengths.py`). Failures raise
    `BlastDeckError` (EXPORT_FAILED, or UNKNOWN_FORMAT for a format name that is not one of
    `ExportFormat`) and leave `out` as it was.
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
            open(draft, "x", newline="", **ENCODING) as sink,
        ):
            announce = functools.partial(on_draft, draft)
            if fmt not in _FORMATTED:
                announce()
            sources = ExportSources(
                tuple(tables), tuple(archives), blastdb_dir, Path(scratch), query_loc
            )
            writer(dataclasses.replace(sources, started=announce), sink)
            sink.flush()
            os.fsync(sink.fileno())  # the rename must never expose a half-written file
        os.replace(draft, out)
    except BaseException as exc:
        draft.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise storage_full(out, fmt.value) from exc
        raise
    return out


def storage_full(out: Path, what: str) -> BlastDeckError:
    """A full disk while writing an export: the operator's to fix, not a crash, so it is said
    with its stable code."""
    return BlastDeckError(
        ErrorCode.STORAGE_FULL,
        f"No space left on the disk holding {out.parent} to write the {what} "
        "export; free some space and ask again.",
    )


# -- json --------------------------------------------------------------------------------------

# BLAST's outfmt 15 layout (2.12): the document opens with these two lines and closes with the
# last two; each query's report starts with a line "{" and reports are separated by a line ",".
_JSON_HEAD = ("{\n", '"BlastOutput2": [\n')
_JSON_TAIL = ("]\n", "}\n")
_JSON_REPORT_START = "{\n"
_JSON_SEPARATOR = ",\n"
JSON_QUERY_ID = re.compile(r'^(\s*"query_id": ")Query_(\d+)(",?)$')


# Every line `_write_json`'s rules act on: the document's own lines (at the first column: its
# head and tail, a report's start, the separators) and the query ids. A JSON string holds no
# newline, so a line at the first column is never inside one.
_JSON_MARKS = (re.compile(r"\n[^ ]"), re.compile(r'"query_id": "Query_'))


def _write_json(job: ExportSources, sink: TextIO) -> None:
    """BLAST's single-file JSON (outfmt 15) byte for byte as one BLAST run over all the
    queries writes it: every batch's reports are copied as BLAST formatted them, in order, and
    their batch-local `Query_N` ids made job-wide (as in the XML export). Streamed: the lines
    between those the rules act on are copied whole (`marked_lines`)."""
    sink.writelines(_JSON_HEAD)
    reports = 0
    for index, blocks in enumerate(job.formatted_blocks("15")):
        offset = reports
        parts = marked_lines(blocks, *_JSON_MARKS)
        head = [next(parts, (True, "")), next(parts, (True, ""))]
        if tuple(text for _, text in head) != _JSON_HEAD:
            raise export_error(f"blast_formatter's JSON for batch {index + 1} is not BLAST's")
        previous: tuple[bool, str] | None = None
        for part in parts:  # one part held back: the batch's last is its closing "}"
            if previous is not None:
                marked, text = previous
                if marked:
                    reports += _write_json_line(sink, text, offset, reports)
                else:
                    sink.write(text)
            previous = part
        if previous != (True, _JSON_TAIL[1]):
            raise export_error(f"blast_formatter's JSON for batch {index + 1} is incomplete")
    sink.writelines(_JSON_TAIL)


def _write_json_line(sink: TextIO, line: str, offset: int, written: int) -> int:
    """Copy one body line of a batch's JSON; returns 1 when it starts a report."""
    if line == _JSON_TAIL[0]:
        return 0  # the batch's "]": the job's document closes once, at its end
    if line == _JSON_REPORT_START:
        if written:
            sink.write(_JSON_SEPARATOR)  # between batches, as BLAST separates reports
        sink.write(line)
        return 1
    if line == _JSON_SEPARATOR:
        return 0  # written before the next report instead
    if m := JSON_QUERY_ID.match(line.rstrip("\n")):
        line = f"{m.group(1)}Query_{offset + int(m.group(2))}{m.group(3)}\n"
    sink.write(line)
    return 0


# -- xml ---------------------------------------------------------------------------------------

_ITERATIONS_OPEN = "<BlastOutput_iterations>"
_ITERATIONS_CLOSE = "</BlastOutput_iterations>"
_ITER_NUM = re.compile(r"^(\s*<Iteration_iter-num>)\d+(</Iteration_iter-num>)")
_ITER_QUERY_ID = re.compile(r"^(\s*<Iteration_query-ID>)Query_(\d+)(</Iteration_query-ID>)")


# Every line `_write_xml`'s rules act on holds one of these: the iterations' bounds, an
# iteration's number or its query id. BLAST escapes "<" in user text, so they are elements.
_XML_MARKS = re.compile(r"<(?:/?BlastOutput_iterations|Iteration_iter-num|Iteration_query-ID)>")


def _write_xml(job: ExportSources, sink: TextIO) -> None:
    """One `<BlastOutput>`: the first batch's header, every batch's `<Iteration>`s, one tail.

    BLAST writes one element per line and escapes all user text, so a line-based pass is exact;
    the lines between those it acts on are copied whole (`marked_lines`).
    """
    last = len(job.archives) - 1
    renumber = _IterationRenumberer()
    for index, blocks in enumerate(job.formatted_blocks("5")):
        renumber.start_batch()
        part = "head"
        for marked, line in marked_lines(blocks, _XML_MARKS):
            stripped = line.strip() if marked else ""
            if part == "iterations" and stripped == _ITERATIONS_CLOSE:
                part = "tail"
            if part == "iterations":
                sink.write(renumber(line) if marked else line)
            elif (part == "head" and index == 0) or (part == "tail" and index == last):
                sink.write(line)
            if part == "head" and stripped == _ITERATIONS_OPEN:
                part = "iterations"
        if part != "tail":
            raise export_error(f"blast_formatter's XML for batch {index + 1} is incomplete")


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


def _write_text(job: ExportSources, sink: TextIO) -> None:
    _write_pairwise(job, sink, job.formatted_blocks("0"), _QUERY_START)


def _write_html(job: ExportSources, sink: TextIO) -> None:
    """Pairwise output as BLAST's own HTML (-html): the same layout, marked up."""
    _write_pairwise(job, sink, job.formatted_blocks("0", "-html"), _HTML_QUERY_START)


# blast_formatter (2.12) ends each query of an ungapped search (`ungapped`, tblastx) with
# Karlin-Altschul parameters for a gapped search it did not run, all -1.00, where the search's
# own pairwise output has no such block (it has a blank line where these three are).
_VOID_GAPPED_BLOCK = ("Gapped\n", "Lambda      K        H\n", "   -1.00    -1.00    -1.00 \n")


def _without_void_gapped_block(
    parts: Iterator[tuple[bool, str]],
) -> Iterator[tuple[bool, str]]:
    """Pairwise output (`marked_lines`) without blast_formatter's block of -1.00 gapped
    parameters (a gapped search's are never negative, so no other block matches). The marks
    hold every "Gapped" line and the two after it."""
    for marked, line in parts:
        if not marked or line != _VOID_GAPPED_BLOCK[0]:
            yield marked, line
            continue
        held = [(marked, line)]
        for expected in _VOID_GAPPED_BLOCK[1:]:
            held.append(next(parts, (True, "")))
            if held[-1] != (True, expected):
                yield from (h for h in held if h[1])
                break


# The lines `_write_pairwise`'s rules act on, besides a query's start and the banner (the
# first line, which repeats where an archive's next record starts): the footer's start, and
# "Gapped" with the two lines after it (as many of them as its block holds: the next block's
# first lines are marked anyway).
_PAIRWISE_MARKS = (
    re.compile(r"\n" + re.escape(_FOOTER_START)),
    re.compile(r"\nGapped\n(?:.*\n){0,2}"),
)


def _write_pairwise(
    job: ExportSources, sink: TextIO, batches: Iterable[Iterator[str]], query_start: str
) -> None:
    """The banner/reference prolog once, every query section in order (without the formatter's
    void gapped block), the footer once. Each batch's output is labelled prolog, query or
    footer: an archive file may hold several records, each printed as prolog, queries, footer;
    a record starts again where the banner line (the program and version) repeats. The lines
    between those the rules act on are copied whole (`marked_lines`)."""
    banner: str | None = None
    in_queries = False
    footer: list[str] = []
    query_mark = re.compile(re.escape("\n" + query_start))
    for blocks in batches:
        blocks = iter(blocks)
        first = next(blocks, "")
        banner = banner or first[: first.find("\n") + 1] or first or None
        marks = [query_mark, *_PAIRWISE_MARKS]
        if banner:
            marks.append(re.compile(re.escape("\n" + banner)))
        parts = marked_lines(itertools.chain([first], blocks), *marks)
        part = "prolog"
        for marked, text in _without_void_gapped_block(parts):
            if marked and part == "prolog" and text.startswith(query_start):
                part = "query"
            elif marked and part == "query" and text.startswith(_FOOTER_START):
                part = "footer"
            elif marked and part == "footer" and text == banner:
                part = "prolog"
            if part == "prolog" and not in_queries:
                sink.write(text)
            elif part == "query":
                in_queries = True
                footer.clear()
                sink.write(text)
            elif part == "footer":
                footer.append(text)
    if not in_queries:
        raise export_error("blast_formatter's pairwise output has no query section")
    sink.writelines(footer)  # the last record's: the same database and parameters throughout


# -- xml2 --------------------------------------------------------------------------------------

_XML2_REPORT_OPEN = "<BlastOutput2>"
_XML2_CLOSE = "</BlastXML2>"
XML2_QUERY_ID = re.compile(r"^(\s*<query-id>)Query_(\d+)(</query-id>)")


# Every line `_write_xml2`'s rules act on: a report's start, the document's end, query ids.
_XML2_MARKS = (
    re.compile(r"<BlastOutput2>"),
    re.compile(r"</BlastXML2>"),
    re.compile(r"<query-id>"),
)


def _write_xml2(job: ExportSources, sink: TextIO) -> None:
    """One `<BlastXML2>` (outfmt 16): the first batch's header, every `<BlastOutput2>` report;
    the lines between those the rules act on are copied whole (`marked_lines`)."""
    reports = 0
    for index, blocks in enumerate(job.formatted_blocks("16")):
        offset = reports  # batch-local Query_K ids made job-wide, as in the XML export
        part = "head"
        for marked, line in marked_lines(blocks, *_XML2_MARKS):
            stripped = line.strip() if marked else ""
            if stripped == _XML2_REPORT_OPEN:
                if part == "head" and reports:  # BLAST leaves a blank line between reports
                    sink.write("\n")
                part = "reports"
                reports += 1
            elif stripped == _XML2_CLOSE:
                part = "tail"
                continue
            if part == "head" and index == 0:
                sink.write(line)
            elif part == "reports":
                m = XML2_QUERY_ID.match(line) if marked else None
                if m:
                    number = offset + int(m.group(2))
                    line = f"{m.group(1)}Query_{number}{m.group(3)}{line[m.end() :]}"
                sink.write(line)
        if part != "tail":
            raise export_error(f"blast_formatter's XML2 for batch {index + 1} is incomplete")
    sink.write(_XML2_CLOSE + "\n")


# -- commented tabular (outfmt 7) ----------------------------------------------------------------

_PROCESSED = re.compile(r"# BLAST processed (\d+) quer(y|ies)")
_PROCESSED_MARK = re.compile(r"\n# BLAST processed ")


def _write_tabular(job: ExportSources, sink: TextIO) -> None:
    """BLAST's commented hit table (outfmt 7): every query's block, one closing count (the
    lines between the counts copied whole, `marked_lines`)."""
    queries = 0
    for blocks in job.formatted_blocks("7"):
        for marked, line in marked_lines(blocks, _PROCESSED_MARK):
            if marked and (m := _PROCESSED.match(line)):
                queries += int(m.group(1))
            else:
                sink.write(line)
    sink.write(f"# BLAST processed {queries} {'query' if queries == 1 else 'queries'}\n")


# The writers of blast_formatter's output: their readers are let in with the first batch
# formatted (`ExportSources.started`), so a formatter that fails at once is answered with its
# code rather than with a cut download. The others copy files BLAST wrote during the job.
_FORMATTED = frozenset(
    {
        ExportFormat.XML2,
        ExportFormat.HTML,
        ExportFormat.TABULAR,
        ExportFormat.JSON,
        ExportFormat.XML,
        ExportFormat.TEXT,
    }
)
_WRITERS: dict[ExportFormat, Callable[[ExportSources, TextIO], None]] = {
    ExportFormat.XML2: _write_xml2,
    ExportFormat.HTML: _write_html,
    ExportFormat.TABULAR: _write_tabular,
    ExportFormat.TSV: write_tsv,
    ExportFormat.CSV: write_csv,
    ExportFormat.JSON: _write_json,
    ExportFormat.XML: _write_xml,
    ExportFormat.TEXT: _write_text,
    ExportFormat.ASN1: write_asn1,
}
