"""A job's XML2 or JSON report as one file per query, zipped, as NCBI's URL API sends
`FORMAT_TYPE=XML2` / `JSON2`.

The files are BLAST+'s own multi-file output: `blast_formatter -outfmt 14` (XML2) or
`-outfmt 13` (JSON) writes, for `-out BASE`, an index file `BASE` that lists `BASE_1.xml`,
`BASE_2.xml`, ... (one report per query). The zip holds them under NCBI's names: the index as
`RID.xml` / `RID.json`, the reports as `RID_1.xml` ... `RID_N.xml` in query order.

A job runs as several batches, each with its own archive; every batch is formatted on its own
and its files are renumbered job-wide as they go into the zip: the file names and the
batch-local query ids (`Query_K`, numbered per archive file) become `Query_<offset+K>`, as in
the single-file exports. The index is BLAST's own, from the first batch, with one entry line
per query of the whole job written in BLAST's layout. A job of one batch therefore gets exactly
the bytes BLAST writes. Everything is streamed a line at a time into the zip.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO

from blastdeck.blast_tools import BlastToolError, DatabaseDir, as_database_dir, run_tool
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.results.export_sources import ENCODING, export_error, open_text
from blastdeck.results.exports import JSON_QUERY_ID, XML2_QUERY_ID, storage_full
from blastdeck.results.query_lengths import searched_lengths

_BATCH_BASE = "batch"


@dataclass(frozen=True)
class _Kind:
    outfmt: str
    suffix: str  # of every file in the zip
    entry: re.Pattern[str]  # an index line naming one report file (group 1: the name)
    query_id: re.Pattern[str]  # a report line holding the batch-local Query_K
    separator: str  # after every index entry but the last


_KINDS = {
    "xml2": _Kind("14", "xml", re.compile(r'^\s*<xi:include href="([^"]+)"/>$'), XML2_QUERY_ID, ""),
    "json2": _Kind("13", "json", re.compile(r'^\s*\{"File": "([^"]+)" \},?$'), JSON_QUERY_ID, ","),
}


class PerQueryZip(StrEnum):
    """The zipped multi-file reports (NCBI's `XML2` and `JSON2`)."""

    XML2 = "xml2"
    JSON2 = "json2"

    @property
    def extension(self) -> str:
        """The cached file's extension, without the dot."""
        return f"{self.value}.zip"

    @property
    def media_type(self) -> str:
        return "application/zip"


def member_names(kind: PerQueryZip, base: str, queries: int) -> list[str]:
    """The zip's file names, in order: the index, then one report per query."""
    suffix = _KINDS[kind].suffix
    return [f"{base}.{suffix}", *(f"{base}_{n}.{suffix}" for n in range(1, queries + 1))]


def render_per_query_zip(
    kind: PerQueryZip,
    base: str,
    archives: Sequence[Path],
    blastdb_dir: Path | DatabaseDir,
    out: Path,
    query_loc: str | None = None,
) -> Path:
    """Write the zip of `archives` (the job's batches, in query order) to `out`, atomically;
    `base` names its files (NCBI: the RID); `query_loc` is the job's (its stretch is each
    query's length, `query_lengths.py`). Failures raise `BlastDeckError` (EXPORT_FAILED,
    STORAGE_FULL) and leave `out` as it was."""
    if not archives:
        raise BlastDeckError(ErrorCode.EXPORT_FAILED, "There are no batch results to export.")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", base):
        raise export_error(f"{base[:40]!r} cannot name the report files")
    draft = out.with_name(f".{out.name}.{uuid.uuid4().hex}.part")
    try:
        with (
            tempfile.TemporaryDirectory(prefix=".export-", dir=out.parent) as scratch,
            zipfile.ZipFile(draft, "x", zipfile.ZIP_DEFLATED) as zf,
        ):
            fix = searched_lengths(query_loc)
            _write_zip(_KINDS[kind], base, archives, blastdb_dir, Path(scratch), zf, fix)
        with open(draft, "rb") as done:
            os.fsync(done.fileno())  # the rename must never expose a half-written file
        os.replace(draft, out)
    except BaseException as exc:
        draft.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise storage_full(out, kind.value) from exc
        raise
    return out


def _write_zip(
    kind: _Kind,
    base: str,
    archives: Sequence[Path],
    blastdb_dir: Path | DatabaseDir,
    scratch: Path,
    zf: zipfile.ZipFile,
    fix: Callable[[str], str] | None,
) -> None:
    """Every batch formatted first (the index, written first as BLAST lists it before its
    reports, needs the job's count), then copied into the zip one file at a time."""
    batches = []
    for number, archive in enumerate(archives, start=1):
        batch_dir = scratch / str(number)
        batch_dir.mkdir()
        batches.append((batch_dir, _format_batch(kind, archive, blastdb_dir, batch_dir)))
    total = sum(len(names) for _, names in batches)
    with zf.open(f"{base}.{kind.suffix}", "w") as sink:
        index = _read_lines(batches[0][0] / _BATCH_BASE)
        names = [f"{base}_{n}.{kind.suffix}" for n in range(1, total + 1)]
        sink.write("".join(_index_lines(kind, index, names)).encode(**ENCODING))
    reports = 0
    for batch_dir, names in batches:
        offset = reports
        for name in names:
            reports += 1
            with zf.open(f"{base}_{reports}.{kind.suffix}", "w") as sink:
                _copy_report(kind, batch_dir / name, offset, sink, fix)
        shutil.rmtree(batch_dir)


def _format_batch(
    kind: _Kind, archive: Path, blastdb_dir: Path | DatabaseDir, batch_dir: Path
) -> list[str]:
    """Run blast_formatter's multi-file output for one archive; the report files it listed."""
    try:
        run_tool(
            "blast_formatter",
            [
                "-archive",
                str(archive),
                "-outfmt",
                kind.outfmt,
                "-out",
                str(batch_dir / _BATCH_BASE),
            ],
            database_dir=as_database_dir(blastdb_dir),
        )
    except BlastToolError as exc:
        raise export_error(f"blast_formatter could not format {archive.name}: {exc}") from exc
    names = [_entry(kind, line) for line in _read_lines(batch_dir / _BATCH_BASE)]
    names = [Path(name).name for name in names if name]  # BLAST writes them beside the index
    expected = [f"{_BATCH_BASE}_{n}.{kind.suffix}" for n in range(1, len(names) + 1)]
    if not names or names != expected:
        raise export_error(f"blast_formatter's index for {archive.name} is not BLAST's")
    return names


def _entry(kind: _Kind, line: str) -> str | None:
    """The report file an index line names, if it is an entry line."""
    m = kind.entry.match(line.rstrip("\n"))
    return m.group(1) if m else None


def _read_lines(path: Path) -> list[str]:
    try:
        with open_text(path) as src:
            return src.readlines()
    except FileNotFoundError:
        raise export_error(f"blast_formatter wrote no {path.name}") from None


def _copy_report(
    kind: _Kind, path: Path, offset: int, sink: IO[bytes], fix: Callable[[str], str] | None
) -> None:
    with open_text(path) as src:
        for line in src:
            if fix is not None:
                line = fix(line)
            if m := kind.query_id.match(line.rstrip("\n")):
                number = offset + int(m.group(2))
                line = f"{m.group(1)}Query_{number}{m.group(3)}{line[m.end() :]}"
            sink.write(line.encode(**ENCODING))


def _index_lines(kind: _Kind, index: list[str], names: list[str]) -> list[str]:
    """BLAST's index with the job's entries: its head, one entry per report in the layout of
    BLAST's own entry lines (separated by `kind.separator`), its tail."""
    entries = [i for i, line in enumerate(index) if _entry(kind, line)]
    first, last = entries[0], entries[-1]
    template = index[first].rstrip("\n").removesuffix(kind.separator)
    old = _entry(kind, index[first]) or ""
    lines = index[:first]
    for n, name in enumerate(names, start=1):
        separator = kind.separator if n < len(names) else ""
        lines.append(template.replace(old, name, 1) + separator + "\n")
    return lines + index[last + 1 :]
