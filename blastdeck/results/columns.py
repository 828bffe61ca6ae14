"""Tabular downloads with the columns a user picks (`columns=` on the tsv and csv downloads):
every one of BLAST's -outfmt 6 format specifiers, read from one table saying where each comes
from.

Three sources fill them:
- the batch hit tables BLAST wrote in the job's one run (the 12 standard columns and the other
  columns BlastDeck asks BLAST for, copied as BLAST printed them): no BLAST run at download;
- `blast_formatter` on the job's ASN.1 archives (`formatted_columns.py`) for every other
  specifier (sequences, BTOP, identities, frames, seq-ids ...): BLAST itself prints them;
- the NCBI Taxonomy, for BLAST's taxonomy name columns. BLAST fills those from NCBI's `taxdb`
  files, which are not available here; without them BLAST prints N/A. BlastDeck fills the
  names from the subject's taxid instead, except the Blast names (`sblastname(s)`), which the
  Taxonomy does not hold: those stay N/A, as BLAST prints them without taxdb.

A list naming a specifier twice keeps its first place only, as BLAST does (`std,evalue` is the
12 standard columns). Rows are streamed a chunk at a time: memory stays flat whatever the
number of HSPs.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.results.hsps import TABLE_COLUMNS, table_rows
from blastdeck.results.tabular import STANDARD_COLUMNS
from blastdeck.taxonomy import Taxonomy

MAX_COLUMNS = 100  # names in the list as given (a repeated one counts each time)
MAX_COLUMNS_CHARS = 1000
MISSING = "N/A"  # what BLAST prints for a value it does not have
_ROWS_PER_CHUNK = 2000


class Source(StrEnum):
    HIT_TABLE = "hit_table"  # a column of the batch tables BLAST wrote (hsps.TABLE_COLUMNS)
    FORMATTER = "formatter"  # blast_formatter on the job's archives (formatted_columns.py)
    TAXONOMY = "taxonomy"  # the subject's taxid looked up in the NCBI Taxonomy


@dataclass(frozen=True)
class Specifier:
    name: str  # BLAST's outfmt 6 name
    source: Source
    meaning: str
    programs: tuple[str, ...] | None = None  # the programs BLAST prints it for (None: all)


def _table(name: str, meaning: str) -> Specifier:
    assert name in TABLE_COLUMNS, name
    return Specifier(name, Source.HIT_TABLE, meaning)


def _formatter(name: str, meaning: str, programs: tuple[str, ...] | None = None) -> Specifier:
    return Specifier(name, Source.FORMATTER, meaning, programs)


def _taxonomy(name: str, meaning: str) -> Specifier:
    return Specifier(name, Source.TAXONOMY, meaning)


# In the order of `blastn -help`.
SPECIFIERS: dict[str, Specifier] = {
    s.name: s
    for s in (
        _table("qseqid", "query seq-id"),
        _formatter("qgi", "query GI"),
        _formatter("qacc", "query accession"),
        _table("qaccver", "query accession.version"),
        _table("qlen", "query sequence length"),
        _formatter("sseqid", "subject seq-id"),
        _formatter("sallseqid", "all subject seq-ids, separated by ';'"),
        _formatter("sgi", "subject GI"),
        _formatter("sallgi", "all subject GIs"),
        _formatter("sacc", "subject accession"),
        _table("saccver", "subject accession.version"),
        _formatter("sallacc", "all subject accessions"),
        _table("slen", "subject sequence length"),
        _table("qstart", "start of alignment in query"),
        _table("qend", "end of alignment in query"),
        _table("sstart", "start of alignment in subject"),
        _table("send", "end of alignment in subject"),
        _formatter("qseq", "aligned part of query sequence"),
        _formatter("sseq", "aligned part of subject sequence"),
        _table("evalue", "expect value"),
        _table("bitscore", "bit score"),
        _formatter("score", "raw score"),
        _table("length", "alignment length"),
        _table("pident", "percentage of identical matches"),
        _formatter("nident", "number of identical matches"),
        _table("mismatch", "number of mismatches"),
        _formatter("positive", "number of positive-scoring matches"),
        _table("gapopen", "number of gap openings"),
        _formatter("gaps", "total number of gaps"),
        _formatter("ppos", "percentage of positive-scoring matches"),
        _formatter("frames", "query and subject frames separated by a '/'"),
        _formatter("qframe", "query frame"),
        _formatter("sframe", "subject frame"),
        _formatter("btop", "BLAST traceback operations (BTOP)"),
        _table("staxid", "subject taxonomy id"),
        _taxonomy("ssciname", "subject scientific name"),
        _taxonomy("scomname", "subject common name"),
        _taxonomy("sblastname", "subject Blast name (N/A: needs NCBI's taxdb)"),
        _taxonomy("sskingdom", "subject super kingdom"),
        _taxonomy("staxids", "unique subject taxonomy ids, separated by ';'"),
        _taxonomy("sscinames", "unique subject scientific names, separated by ';'"),
        _taxonomy("scomnames", "unique subject common names, separated by ';'"),
        _taxonomy("sblastnames", "unique subject Blast names (N/A: needs NCBI's taxdb)"),
        _taxonomy("sskingdoms", "unique subject super kingdoms, separated by ';'"),
        _table("stitle", "subject title"),
        _formatter("salltitles", "all subject titles, separated by '<>'"),
        _formatter("sstrand", "subject strand"),
        _table("qcovs", "query coverage per subject"),
        _table("qcovhsp", "query coverage per HSP"),
        _formatter("qcovus", "query coverage per unique subject (blastn only)", ("blastn",)),
    )
}
# `ext`: Galaxy's extended tabular output (its BLAST+ wrappers' 25 columns), in Galaxy's order.
EXTENDED_COLUMNS: tuple[str, ...] = (
    *STANDARD_COLUMNS,
    *("sallseqid", "score", "nident", "positive", "gaps", "ppos", "qframe", "sframe"),
    *("qseq", "sseq", "qlen", "slen", "salltitles"),
)
PRESETS: dict[str, tuple[str, ...]] = {"std": STANDARD_COLUMNS, "ext": EXTENDED_COLUMNS}
_NAME = re.compile(r"[a-z]+")


def parse_columns(text: str) -> tuple[str, ...]:
    """BLAST's specifiers, separated by commas (or blanks, as in `-outfmt "6 std staxid"`);
    `std` stands for the 12 standard columns, `ext` for Galaxy's 25. A repeated column keeps
    its first place (BLAST's rule). Anything else: `unknown_column` naming it."""
    if len(text) > MAX_COLUMNS_CHARS:
        raise _column_error(f"columns is {len(text)} characters; at most {MAX_COLUMNS_CHARS}.")
    tokens = re.split(r"\s*,\s*|\s+", text.strip())
    if len(tokens) > MAX_COLUMNS:
        raise _column_error(f"columns names {len(tokens)} columns; at most {MAX_COLUMNS}.")
    names: dict[str, None] = {}
    for token in tokens:
        if token in PRESETS:
            names.update(dict.fromkeys(PRESETS[token]))
        elif token in SPECIFIERS:
            names[token] = None
        elif not token:
            raise _column_error("columns has an empty column name (nothing between commas?).")
        else:
            shown = token[:40]
            hint = "" if _NAME.fullmatch(token) else " (a specifier is lower-case letters)"
            raise _column_error(
                f"Unknown column {shown!r}{hint}; use BLAST's outfmt 6 names: std, ext, "
                f"{', '.join(SPECIFIERS)}.",
                shown,
            )
    return tuple(names)


def check_program(columns: tuple[str, ...], program: str) -> None:
    """A column BLAST documents for other programs only (`qcovus`: blastn) is refused."""
    for name in columns:
        programs = SPECIFIERS[name].programs
        if programs is not None and program not in programs:
            raise BlastDeckError(
                ErrorCode.COLUMN_NOT_FOR_PROGRAM,
                f"Column {name!r} is for {', '.join(programs)} only; this job ran {program}.",
                field="columns",
                detail={"column": name},
            )


def needs(columns: tuple[str, ...], source: Source) -> bool:
    return any(SPECIFIERS[c].source is source for c in columns)


def _column_error(message: str, column: str | None = None) -> BlastDeckError:
    detail = {"column": column} if column is not None else None
    return BlastDeckError(ErrorCode.UNKNOWN_COLUMN, message, field="columns", detail=detail)


_NO_TAXID = ("", "0", MISSING)


class TaxonCells:
    """The taxonomy columns' text from the taxids BLAST printed (`staxid`, and `staxids`: one
    or more separated by ';'), each taxid looked up once. Without a taxonomy, or for a taxid it
    does not know, the names are N/A (what BLAST prints without taxdb); the Blast names always
    are. With no taxid at all BLAST prints `staxids` 0 and every name N/A."""

    def __init__(
        self, taxonomy: Taxonomy | None, known: Callable[[], np.ndarray] | None = None
    ) -> None:
        self._taxonomy = taxonomy
        self._names: dict[str, tuple[str, str, str]] = {}
        self._known = known  # the job's taxids, looked up together at the first name asked

    def _look_up(self, taxids: np.ndarray) -> None:
        taxids = taxids[taxids > 0]
        unknown = (MISSING, MISSING, MISSING)
        if self._taxonomy is None or not len(taxids):
            self._names.update(dict.fromkeys((str(t) for t in taxids.tolist()), unknown))
            return
        organisms = self._taxonomy.organisms(taxids)
        for row, taxid in enumerate(taxids.tolist()):
            organism = organisms.organism(row)
            if organism["scientific_name"] is None:
                self._names[str(taxid)] = unknown
                continue
            self._names[str(taxid)] = (
                str(organism["scientific_name"]),
                str(organism["common_name"] or MISSING),
                str(organism["superkingdom"] or MISSING),
            )

    def _of(self, taxid: str) -> tuple[str, str, str]:
        if self._known is not None:
            known, self._known = self._known(), None
            self._look_up(np.unique(np.asarray(known, dtype=np.int64)))
        if taxid not in self._names:
            if taxid.isdigit() and len(taxid) <= 10:  # a taxid is below 2**31
                self._look_up(np.array([int(taxid)], dtype=np.int64))
            self._names.setdefault(taxid, (MISSING, MISSING, MISSING))
        return self._names[taxid]

    def cell(self, name: str, staxid: str, staxids: str) -> str:
        if name in ("sblastname", "sblastnames"):
            return MISSING
        if name == "staxids":
            return staxids if staxids not in _NO_TAXID else "0"
        if name in ("ssciname", "scomname", "sskingdom"):
            if staxid in _NO_TAXID:
                return MISSING
            return self._of(staxid)[("ssciname", "scomname", "sskingdom").index(name)]
        if staxids in _NO_TAXID:
            return MISSING
        at = ("sscinames", "scomnames", "sskingdoms").index(name)
        values = [self._of(t)[at] for t in staxids.split(";")]
        if name == "sskingdoms":  # BLAST: unique, in alphabetical order
            values = sorted(set(values))
        return ";".join(values)


_STAXID = TABLE_COLUMNS.index("staxid")


def column_rows(
    tables: Iterable[Path], columns: tuple[str, ...], taxa: TaxonCells
) -> Iterator[list[str]]:
    """Each HSP's chosen columns (from the hit table and the taxonomy only), in the tables'
    order (BLAST's), as text. The table holds one taxid per subject: `staxids` is that one."""
    picks = [
        TABLE_COLUMNS.index(name) if SPECIFIERS[name].source is Source.HIT_TABLE else name
        for name in columns
    ]
    for table in tables:
        for _, _, cells in table_rows(table):
            if not cells:
                continue
            staxid = cells[_STAXID] or MISSING
            yield [
                (cells[at] or MISSING) if isinstance(at, int) else taxa.cell(at, staxid, staxid)
                for at in picks
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
