"""The organisms of a BLAST database: its taxid map checked before makeblastdb sees it, the
taxids of an existing database read with `blastdbcmd`, and the coverage a database shows.

A database's taxids come from a map uploaded with its FASTA (`seqid<TAB>taxid`, one a line,
given to `makeblastdb -parse_seqids -taxid_map`), from one taxid for every sequence, or from the
database itself (NCBI's preformatted v5 databases carry them: `blastdbcmd -entry all -outfmt
%T` prints each sequence's taxid, 0 when it has none, with seqids or ordinal ids alike).

Each database's distinct taxids are kept in a file in the data dir
(`<databases dir>/.taxids/<storage name>.taxids`, one taxid a line with its number of sequences
after a tab; never beside a registered database, which lives outside the data dir): a job's
expanded taxon filter is cut down to them, so BLAST reads hundreds of taxids instead of
hundreds of thousands (docs/taxonomy.md), and the counts say how many sequences a filter leaves
BLAST to search. A file written before the counts were kept has the taxids alone.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from blastdeck.blast_tools import BlastToolError, DatabaseDir, database_arg, run_tool
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.programs import Molecule
from blastdeck.domain.taxon_filter import MAX_TAXID
from blastdeck.files import write_atomically
from blastdeck.taxonomy import Taxonomy
from blastdeck.taxonomy.model import in_sorted

TAXID_SET_DIR = ".taxids"  # a dot name: no database's storage name starts with '.'
TOP_ORGANISMS = 10
MAX_MAP_ERRORS_SHOWN = 1
_MAP_LINE = re.compile(r"(\S+)\s+(\S+)")


@dataclass(frozen=True)
class TaxonomyCoverage:
    """How much of a database has taxids: sequences with one, distinct taxids, the organisms
    with most sequences ({taxid, name, sequences}; name None for a taxid the taxonomy lacks),
    and the distinct taxids themselves (sorted) with the sequences of each."""

    taxid_sequences: int
    distinct_taxids: int
    top_organisms: list[dict[str, Any]]
    taxids: np.ndarray
    counts: np.ndarray  # sequences of each of `taxids`


def _map_error(line: int, message: str, field: str) -> BlastDeckError:
    return BlastDeckError(
        ErrorCode.INVALID_TAXID_MAP,
        f"Taxid map line {line}: {message}",
        field=field,
        detail={"line": str(line)},
    )


def _record_names(seqids: Iterable[str]) -> dict[str, str]:
    """Every name a map may give a sequence by: its id, and for an NCBI-style id
    (`ref|NM_000518.5|`) each of its parts, as makeblastdb -parse_seqids reads them."""
    names: dict[str, str] = {}
    for seqid in seqids:
        names[seqid] = seqid
        if "|" in seqid:
            for part in seqid.split("|"):
                if part and len(part) > 3:  # not the 'ref'/'gb'/'lcl' tags
                    names.setdefault(part, seqid)
    return names


def parse_taxid_map(
    data: str | bytes, seqids: Collection[str], taxonomy: Taxonomy, field: str = "taxid_map"
) -> dict[str, int]:
    """The map as {FASTA seqid: taxid}, every line checked: two fields (seqid and taxid, tab or
    blank separated), a taxid the taxonomy has, a seqid the FASTA has, each seqid once. Blank
    lines and `#` comments are skipped. A bad line is an `invalid_taxid_map` naming its number."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise BlastDeckError(
                ErrorCode.INVALID_TAXID_MAP, "The taxid map is not UTF-8 text.", field=field
            ) from None
    names = _record_names(seqids)
    found: dict[str, int] = {}
    first_line: dict[str, int] = {}
    for number, raw in enumerate(data.removeprefix("\ufeff").splitlines(), 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        parts = _MAP_LINE.fullmatch(text)
        if parts is None:
            shown = text if len(text) <= 60 else text[:60] + "..."
            raise _map_error(number, f"expected 'seqid<TAB>taxid', got {shown!r}.", field)
        name, taxid_text = parts.groups()
        if not taxid_text.isdigit() or not 0 < int(taxid_text) <= MAX_TAXID:
            raise _map_error(
                number, f"the taxid {taxid_text[:20]!r} of {name[:60]!r} is not a taxid "
                f"(a whole number from 1 to {MAX_TAXID}).", field,
            )  # fmt: skip
        seqid = names.get(name)
        if seqid is None:
            raise _map_error(number, f"no sequence of the FASTA has the id {name[:80]!r}.", field)
        if seqid in first_line:
            raise _map_error(
                number, f"{name[:80]!r} already has a taxid (line {first_line[seqid]}).", field
            )
        taxid = int(taxid_text)
        if taxonomy.canonical(taxid) is None:
            raise _map_error(
                number, f"taxid {taxid} (of {name[:60]!r}) is not in the NCBI Taxonomy.", field
            )
        found[seqid] = taxid
        first_line[seqid] = number
    if not found:
        raise BlastDeckError(
            ErrorCode.INVALID_TAXID_MAP, "The taxid map has no 'seqid<TAB>taxid' line.", field=field
        )
    return found


def single_taxid(value: int | str, taxonomy: Taxonomy, field: str = "taxid") -> int:
    """One taxid for every sequence: a taxid the taxonomy has (written as a number)."""
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not 0 < int(text) <= MAX_TAXID:
        raise BlastDeckError(
            ErrorCode.INVALID_REQUEST,
            f"taxid must be a whole number from 1 to {MAX_TAXID}, not {text[:20]!r}.",
            field=field,
        )
    taxid = int(text)
    if taxonomy.canonical(taxid) is None:
        raise BlastDeckError(
            ErrorCode.UNKNOWN_TAXON,
            f"No taxon has taxid {taxid} in the NCBI Taxonomy BlastDeck uses.",
            field=field,
            detail={"taxon": str(taxid)},
        )
    return taxid


def map_text(taxids: dict[str, int]) -> str:
    """The checked map as makeblastdb reads it: each sequence by one id makeblastdb
    -parse_seqids matches (it takes `NM_000518.5` or `ref|NM_000518.5|`, but not a whole
    `gi|12345|gb|AB000001.1|` FASTA id)."""
    return "".join(f"{_map_key(seqid)}\t{taxid}\n" for seqid, taxid in taxids.items())


def _map_key(seqid: str) -> str:
    parts = seqid.split("|")
    if len(parts) >= 4 and parts[0] == "gi":
        parts = parts[2:]  # gi|12345|gb|AB000001.1|: the accession after the gi
    return parts[1] if len(parts) >= 2 and parts[1] else seqid


def check_applied(expected: dict[str, int], sequence_taxids: np.ndarray) -> None:
    """makeblastdb gave every mapped sequence its taxid (it says nothing when a map line
    matches no sequence): the database's own taxids, read back, agree with the map."""
    applied = int((sequence_taxids > 0).sum())
    if applied != len(expected):
        raise BlastDeckError(
            ErrorCode.DATABASE_BUILD_FAILED,
            f"makeblastdb gave {applied} of the {len(expected)} mapped sequences their taxid; "
            "give the map's seqids as plain accessions (e.g. NM_000518.5).",
            field="taxid_map",
        )


def read_sequence_taxids(prefix: Path, molecule: Molecule) -> np.ndarray:
    """Each sequence's taxid (0: none), read from the database with blastdbcmd in its own
    directory (blast_tools' notes on paths)."""
    try:
        out = run_tool(
            "blastdbcmd",
            ["-db", database_arg(prefix), "-dbtype", molecule.value, "-entry", "all",
             "-outfmt", "%T"],
            database_dir=DatabaseDir(prefix.parent),
            timeout=3600,
        )  # fmt: skip
    except BlastToolError as exc:
        raise BlastDeckError(
            ErrorCode.INVALID_DATABASE_PATH,
            f"Could not read the taxids of the database at {prefix}: {exc}",
            field="path",
        ) from None
    return np.array([int(t) if t.isdigit() else 0 for t in out.split()], dtype=np.int64)


def coverage_of(sequence_taxids: np.ndarray, taxonomy: Taxonomy | None) -> TaxonomyCoverage:
    """The coverage of a database whose sequences have these taxids (0: none)."""
    with_taxid = sequence_taxids[sequence_taxids > 0]
    taxids, counts = np.unique(with_taxid, return_counts=True)
    order = np.lexsort((taxids, -counts))[:TOP_ORGANISMS]  # most sequences, then lowest taxid
    top = []
    for i in order.tolist():
        taxid = int(taxids[i])
        name = None
        if taxonomy is not None and (current := taxonomy.canonical(taxid)) is not None:
            name = taxonomy.get(current).scientific_name
        top.append({"taxid": taxid, "name": name, "sequences": int(counts[i])})
    return TaxonomyCoverage(
        len(with_taxid), len(taxids), top, taxids.astype(np.int64), counts.astype(np.int64)
    )


def taxid_set_path(databases_dir: Path, storage_name: str) -> Path:
    return databases_dir / TAXID_SET_DIR / f"{storage_name}.taxids"


def write_taxid_set(
    databases_dir: Path, storage_name: str, taxids: np.ndarray, counts: np.ndarray
) -> Path:
    """The database's distinct taxids (sorted, unique), each with its sequences."""
    path = taxid_set_path(databases_dir, storage_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(f"{t}\t{n}\n" for t, n in zip(taxids.tolist(), counts.tolist(), strict=True))
    write_atomically(path, lines)
    return path


@dataclass(frozen=True)
class TaxidCounts:
    """A database's distinct taxids (sorted) and the sequences of each (None: its file was
    written before the counts were kept)."""

    taxids: np.ndarray
    counts: np.ndarray | None


def read_taxid_counts(databases_dir: Path, storage_name: str) -> TaxidCounts | None:
    """The database's distinct taxids with their sequences, or None when they were never
    read."""
    path = taxid_set_path(databases_dir, storage_name)
    if not path.is_file():
        return None
    text = path.read_text()
    values = np.array(text.split(), dtype=np.int64)
    if "\t" not in text.split("\n", 1)[0]:
        return TaxidCounts(values, None)
    return TaxidCounts(values[0::2], values[1::2])


def searched_sequences(
    taxids: np.ndarray, counts: np.ndarray, sequences: int, listed: np.ndarray, include: bool
) -> int:
    """Of a database's `sequences` (its distinct `taxids` having `counts` of them), those BLAST
    searches with a list of the `listed` taxids (sorted, as a job's list is): the ones with a
    listed taxid (-taxidlist), or every other one, those without a taxid too
    (-negative_taxidlist)."""
    listed_sequences = int(counts[in_sorted(taxids, listed)].sum())
    return listed_sequences if include else sequences - listed_sequences
