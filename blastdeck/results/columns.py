"""Tabular downloads with the columns a user picks (`columns=` on the tsv and csv downloads):
BLAST's -outfmt 6 format specifiers, read from one table saying where each comes from.

Today two sources fill them: the batch hit tables BLAST wrote in the job's one run (the 12
standard columns and the other columns BlastDeck asks BLAST for, copied as BLAST printed
them), and the NCBI Taxonomy, for BLAST's taxonomy columns (BLAST fills those from NCBI's
`taxdb` files, which are not available here; BlastDeck fills them from the subject's taxid).
A specifier that needs another source (issue 15: every outfmt 6 specifier, through
`blast_formatter` on the archives) is one more `Source` and one more row in SPECIFIERS.

Rows are streamed batch table by batch table, a chunk of rows at a time: memory stays flat
whatever the number of HSPs; the taxonomy is asked once about the job's distinct taxids.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.results.hsps import TABLE_COLUMNS, table_rows
from blastdeck.results.tabular import STANDARD_COLUMNS
from blastdeck.taxonomy import Taxonomy

MAX_COLUMNS = 100
MAX_COLUMNS_CHARS = 1000
MISSING = "N/A"  # what BLAST prints for a value it does not have
_ROWS_PER_CHUNK = 2000


class Source(StrEnum):
    HIT_TABLE = "hit_table"  # a column of the batch tables BLAST wrote (hsps.TABLE_COLUMNS)
    TAXONOMY = "taxonomy"  # the subject's taxid looked up in the NCBI Taxonomy


@dataclass(frozen=True)
class Specifier:
    name: str  # BLAST's outfmt 6 name
    source: Source
    meaning: str


def _table(name: str, meaning: str) -> Specifier:
    assert name in TABLE_COLUMNS, name
    return Specifier(name, Source.HIT_TABLE, meaning)


def _taxonomy(name: str, meaning: str) -> Specifier:
    return Specifier(name, Source.TAXONOMY, meaning)


SPECIFIERS: dict[str, Specifier] = {
    s.name: s
    for s in (
        _table("qseqid", "query seq-id"),
        _table("qaccver", "query accession.version"),
        _table("saccver", "subject accession.version"),
        _table("stitle", "subject title"),
        _table("pident", "percentage of identical matches"),
        _table("length", "alignment length"),
        _table("mismatch", "number of mismatches"),
        _table("gapopen", "number of gap openings"),
        _table("qstart", "start of alignment in query"),
        _table("qend", "end of alignment in query"),
        _table("sstart", "start of alignment in subject"),
        _table("send", "end of alignment in subject"),
        _table("evalue", "expect value"),
        _table("bitscore", "bit score"),
        _table("qlen", "query sequence length"),
        _table("slen", "subject sequence length"),
        _table("qcovhsp", "query coverage per HSP"),
        _table("qcovs", "query coverage per subject"),
        _table("staxid", "subject taxonomy id"),
        _taxonomy("staxids", "subject taxonomy ids (BlastDeck knows one per subject)"),
        _taxonomy("sscinames", "subject scientific name"),
        _taxonomy("scomnames", "subject common name"),
        _taxonomy("sskingdoms", "subject super kingdom"),
    )
}
PRESETS: dict[str, tuple[str, ...]] = {"std": STANDARD_COLUMNS}
_NAME = re.compile(r"[a-z]+")


def parse_columns(text: str) -> tuple[str, ...]:
    """BLAST's specifiers, separated by commas (or blanks, as in `-outfmt "6 std staxid"`);
    `std` stands for the 12 standard columns. Anything else: `unknown_column` naming it."""
    if len(text) > MAX_COLUMNS_CHARS:
        raise _column_error(f"columns is {len(text)} characters; at most {MAX_COLUMNS_CHARS}.")
    names: list[str] = []
    for token in re.split(r"\s*,\s*|\s+", text.strip()):
        if token in PRESETS:
            names.extend(PRESETS[token])
        elif token in SPECIFIERS:
            names.append(token)
        elif not token:
            raise _column_error("columns has an empty column name (nothing between commas?).")
        else:
            shown = token[:40]
            hint = "" if _NAME.fullmatch(token) else " (a specifier is lower-case letters)"
            raise _column_error(
                f"Unknown column {shown!r}{hint}; use BLAST's outfmt 6 names: std, "
                f"{', '.join(SPECIFIERS)}.",
                shown,
            )
    if len(names) > MAX_COLUMNS:
        raise _column_error(f"columns names {len(names)} columns; at most {MAX_COLUMNS}.")
    return tuple(names)


def _column_error(message: str, column: str | None = None) -> BlastDeckError:
    detail = {"column": column} if column is not None else None
    return BlastDeckError(ErrorCode.UNKNOWN_COLUMN, message, field="columns", detail=detail)


def taxonomy_cells(taxonomy: Taxonomy | None, staxids: np.ndarray) -> dict[str, list[str]]:
    """For each taxid of the job (as BLAST printed it), its taxonomy columns' text."""
    distinct = np.unique(np.asarray(staxids, dtype=np.int64))
    distinct = distinct[distinct > 0]
    cells: dict[str, list[str]] = {}
    if taxonomy is None or not len(distinct):
        return cells
    organisms = taxonomy.organisms(distinct)
    for row, taxid in enumerate(distinct.tolist()):
        organism = organisms.organism(row)
        if organism["scientific_name"] is None:
            continue  # unknown to the taxonomy: N/A, as BLAST prints without taxdb
        cells[str(taxid)] = [
            str(taxid),
            str(organism["scientific_name"]),
            str(organism["common_name"] or MISSING),
            str(organism["superkingdom"] or MISSING),
        ]
    return cells


_TAXONOMY_ORDER = ("staxids", "sscinames", "scomnames", "sskingdoms")
_STAXID = TABLE_COLUMNS.index("staxid")


def column_rows(
    tables: Iterable[Path], columns: tuple[str, ...], taxa: dict[str, list[str]]
) -> Iterator[list[str]]:
    """Each HSP's chosen columns, in the tables' order (BLAST's), as text."""
    picks: list[tuple[Source, int]] = []
    for name in columns:
        spec = SPECIFIERS[name]
        if spec.source is Source.HIT_TABLE:
            picks.append((spec.source, TABLE_COLUMNS.index(name)))
        else:
            picks.append((spec.source, _TAXONOMY_ORDER.index(name)))
    unknown = [MISSING] * len(_TAXONOMY_ORDER)
    for table in tables:
        for _, _, cells in table_rows(table):
            if not cells:
                continue
            organism = taxa.get(cells[_STAXID] or "", unknown)
            yield [
                (cells[at] or MISSING) if source is Source.HIT_TABLE else organism[at]
                for source, at in picks
            ]


def stream_columns(
    rows: Iterator[list[str]], columns: tuple[str, ...], as_csv: bool
) -> Iterator[bytes]:
    """The download's bytes, a header line then the rows, a chunk at a time: tab-separated as
    the standard TSV download is, or CSV (quoted where needed) as the CSV download is."""
    sink = io.StringIO()
    write = csv.writer(sink).writerow if as_csv else _tsv_writer(sink)
    write(columns)
    for count, row in enumerate(rows, 1):
        write(row)
        if count % _ROWS_PER_CHUNK == 0:
            yield _take(sink)
    yield _take(sink)


def _tsv_writer(sink: io.StringIO):
    def write(row: Iterable[str]) -> None:
        sink.write("\t".join(row) + "\n")

    return write


def _take(sink: io.StringIO) -> bytes:
    data = sink.getvalue().encode("utf-8", "surrogateescape")
    sink.seek(0)
    sink.truncate()
    return data
