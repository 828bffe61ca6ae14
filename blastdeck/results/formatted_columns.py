"""Tabular columns the hit tables do not hold (`qseq`, `btop`, `nident`, `sallseqid` ...),
printed by BLAST itself: `blast_formatter -archive` on each of the job's batch archives with
`-outfmt "6 <columns>"`, in batch order, read line by line from its stdout as it prints (never
the whole output at once). BLAST's taxonomy name columns are left to `TaxonCells` (BLAST would
print N/A without NCBI's taxdb): the formatter is asked for `staxid` and `staxids` instead.

A title (`stitle`, `salltitles`) may hold a tab, which would add fields to BLAST's row; the
extra fields are given back to the title they came from (`row_fields`).
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from blastdeck.blast_tools import DatabaseDir, as_database_dir, blast_env, tail, tool_path
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.results.columns import SPECIFIERS, Source, TaxonCells

_TITLES = ("stitle", "salltitles")
_TAXIDS = ("staxid", "staxids")


def formatter_columns(columns: tuple[str, ...]) -> tuple[str, ...]:
    """What blast_formatter is asked for: the chosen columns but BLAST's taxonomy name columns,
    and the taxids those are filled from."""
    asked = [c for c in columns if SPECIFIERS[c].source is not Source.TAXONOMY]
    if len(asked) < len(columns):
        asked += [t for t in _TAXIDS if t not in asked]
    return tuple(asked)


def formatted_rows(
    archives: Iterable[Path],
    blastdb_dir: Path | DatabaseDir,
    columns: tuple[str, ...],
    taxa: TaxonCells,
) -> Iterator[list[str]]:
    """Each HSP's chosen columns as BLAST prints them, batch archive by batch archive."""
    asked = formatter_columns(columns)
    where = {name: at for at, name in enumerate(asked)}
    staxid, staxids = where.get("staxid"), where.get("staxids")
    for archive in archives:
        for fields in _formatted(archive, blastdb_dir, asked):
            ids = fields[staxid] if staxid is not None else ""
            all_ids = fields[staxids] if staxids is not None else ""
            yield [
                taxa.cell(name, ids, all_ids)
                if SPECIFIERS[name].source is Source.TAXONOMY
                else fields[where[name]]
                for name in columns
            ]


def _formatted(
    archive: Path, blastdb_dir: Path | DatabaseDir, asked: tuple[str, ...]
) -> Iterator[list[str]]:
    where = as_database_dir(blastdb_dir)
    outfmt = "6 " + " ".join(asked)
    argv = [tool_path("blast_formatter"), "-archive", str(archive), "-outfmt", outfmt]
    # stderr to an unnamed file: a pipe nobody reads until the end could fill (BLAST warns per
    # query without taxdb) and stall the formatter.
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=stderr, cwd=where.path, env=blast_env(where)
        )
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.decode("utf-8", "surrogateescape").rstrip("\r\n")
                if line:
                    yield row_fields(line, asked)
            if proc.wait() != 0:
                stderr.seek(0)
                raise BlastDeckError(
                    ErrorCode.EXPORT_FAILED,
                    f"blast_formatter could not format {archive.name} (exit "
                    f"{proc.returncode}): {tail(stderr.read()) or 'no message'}",
                )
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout:
                proc.stdout.close()


def row_fields(line: str, asked: tuple[str, ...]) -> list[str]:
    """BLAST's row split into the asked columns. Extra fields are tabs inside titles: with one
    title column they all belong to it; with both, `salltitles` starts with `stitle`'s text
    (the first title), which places the split."""
    fields = line.split("\t")
    extra = len(fields) - len(asked)
    if extra == 0:
        return fields
    titles = [asked.index(t) for t in _TITLES if t in asked]
    if extra < 0 or not titles:
        raise BlastDeckError(
            ErrorCode.EXPORT_FAILED,
            f"blast_formatter printed {len(fields)} fields for {len(asked)} columns: "
            f"{line[:120]!r}",
        )
    if len(titles) == 1:
        return _joined(fields, titles[0], extra)
    first, second = sorted(titles)
    for own in range(extra + 1):  # tabs in the first title; the second holds the others
        candidate = _joined(_joined(fields, first, own), second, extra - own)
        stitle, salltitles = candidate[titles[0]], candidate[titles[1]]
        if salltitles == stitle or salltitles.startswith(stitle + "<>"):
            return candidate
    return _joined(_joined(fields, first, 0), second, extra)


def _joined(fields: list[str], at: int, extra: int) -> list[str]:
    return [*fields[:at], "\t".join(fields[at : at + extra + 1]), *fields[at + extra + 1 :]]
