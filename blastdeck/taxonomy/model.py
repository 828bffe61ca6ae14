"""What the taxonomy service answers with, and the raw tables its index is built from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from blastdeck.domain.errors import BlastDeckError, ErrorCode

# The ranks every lineage is reported at (NCBI's "ranked lineage", less kingdom, which most
# bacteria lack). NCBI renamed superkingdom to "domain" in 2025; a taxdump of that age fills
# the superkingdom slot from its domain-rank ancestor.
STANDARD_RANKS: tuple[str, ...] = (
    "superkingdom",
    "phylum",
    "class",
    "order",
    "family",
    "genus",
    "species",
)
RANK_ALIASES: dict[str, str] = {"domain": "superkingdom"}


def unique_sorted(values: np.ndarray) -> np.ndarray:
    """np.unique by sorting. numpy 2.4's np.unique without return_counts takes a hash-based
    path that is ~80x slower on 500,000 taxids (1 s against 12 ms, measured here)."""
    ordered = np.sort(np.asarray(values, dtype=np.int64).ravel())
    if len(ordered) < 2:
        return ordered
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]]


def sorted_intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The values in both of two sorted, unique int64 arrays (sorted): each of `b` looked up in
    `a` by binary search. np.intersect1d makes both unique first, by the hash path above: 7 ms
    for a 35,000-taxid filter and a 10,000-sequence database, against 0.2 ms here."""
    if not len(a) or not len(b):
        return np.zeros(0, dtype=np.int64)
    return b[in_sorted(b, a)]


def in_sorted(values: np.ndarray, ordered: np.ndarray) -> np.ndarray:
    """Which of `values` (any order) are in the sorted array `ordered`: a boolean mask, by
    binary search (np.isin makes both unique first, by the slow hash path above)."""
    if not len(ordered):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(ordered, values), len(ordered) - 1)
    return ordered[at] == values


# Name classes as stored in the index (one byte per entry).
SCIENTIFIC, COMMON, SYNONYM, COMMON_WORD = 0, 1, 2, 3
CLASS_LABELS = {
    SCIENTIFIC: "scientific name",
    COMMON: "common name",
    SYNONYM: "synonym",
    COMMON_WORD: "common name",  # a later word of a common name: "mouse" in "house mouse"
}


@dataclass(frozen=True)
class TaxonName:
    taxid: int
    name: str


@dataclass(frozen=True)
class LineageEntry:
    taxid: int
    name: str
    rank: str


@dataclass(frozen=True)
class Taxon:
    taxid: int  # the current taxid (a merged one given to `get` resolves to it)
    scientific_name: str
    common_name: str | None
    rank: str  # NCBI's spelling: "species", "no rank", "forma specialis", ...
    parent_taxid: int | None  # None for the root
    lineage: dict[str, TaxonName | None]  # STANDARD_RANKS -> the ancestor (or itself) there
    full_lineage: tuple[LineageEntry, ...]  # from just below the root down to the taxon
    child_count: int
    descendant_count: int  # every taxon under it, not counting itself
    merged_from: int | None = None  # the taxid asked for, when NCBI merged it into this one


@dataclass(frozen=True)
class SearchMatch:
    taxid: int
    scientific_name: str
    common_name: str | None
    rank: str
    matched_name: str  # the name the prefix matched (scientific, common or synonym)
    name_class: str  # "scientific name", "common name" or "synonym"
    exact: bool  # the whole name equals the query (case and blanks aside)


@dataclass(frozen=True)
class TaxidLists:
    """A job's taxon filter, expanded to what BLAST takes: at most one of the two lists is set,
    because BLAST+ refuses -taxidlist together with -negative_taxidlist. Each is a sorted array
    of unique taxids; None means "no such option"."""

    include: np.ndarray | None  # for -taxidlist
    exclude: np.ndarray | None  # for -negative_taxidlist
    include_taxa: tuple[int, ...] = ()  # the resolved taxa as asked (before expansion)
    exclude_taxa: tuple[int, ...] = ()

    def restricted_to(self, present: np.ndarray, database: str) -> TaxidLists:
        """The lists cut down to the taxids a database has (`blastdbcmd -tax_info`).

        BLAST reads and looks up every listed taxid in each process: measured with BLAST+
        2.12, +0.45 s for 300,000 taxids and +0.7-0.9 s for Bacteria's 569,016, per BLAST
        process (so per batch), against +0 s for the same filter cut to the database's 847.
        And a -taxidlist none of whose taxids the database has makes BLAST fail ("Taxonomy
        ID(s) not found"); here that is a `taxon_filter_empty` naming the database instead.
        """
        present = unique_sorted(present)
        include = None if self.include is None else sorted_intersection(self.include, present)
        exclude = None if self.exclude is None else sorted_intersection(self.exclude, present)
        if include is not None and not len(include):
            raise BlastDeckError(
                ErrorCode.TAXON_FILTER_EMPTY,
                f"No sequence of the database {database} belongs to the taxa asked for.",
                field="options.taxids",
                detail={"database": database},
            )
        if exclude is not None and not len(exclude):
            exclude = None  # nothing of the database to drop: no option at all
        return TaxidLists(include, exclude, self.include_taxa, self.exclude_taxa)


@dataclass
class LineageTable:
    """Names and standard-rank ancestors of a set of taxids, as columns (row i: `taxids[i]`).

    Unknown taxids (0, BLAST's "no taxid", or one the taxonomy lacks) have current 0, name
    None and no ancestors. `rows_for` maps any array of taxids (e.g. one per HSP) to rows.
    """

    taxids: np.ndarray  # int64, sorted, unique
    current: np.ndarray  # int64: the current taxid (merged ids resolved), 0 when unknown
    names: list[str | None]
    ranks: list[str | None]
    rank_taxids: dict[str, np.ndarray]  # standard rank -> int64 ancestor taxid there (0: none)
    rank_names: dict[str, list[str | None]]

    def __len__(self) -> int:
        return len(self.taxids)

    def rows_for(self, taxids: np.ndarray) -> np.ndarray:
        """The row of each taxid (all must be in the table)."""
        return np.searchsorted(self.taxids, np.asarray(taxids, dtype=np.int64))

    def row(self, i: int) -> dict[str, object]:
        return {
            "taxid": int(self.taxids[i]),
            "current_taxid": int(self.current[i]) or None,
            "name": self.names[i],
            "rank": self.ranks[i],
            **{
                rank: (
                    {"taxid": int(self.rank_taxids[rank][i]), "name": self.rank_names[rank][i]}
                    if self.rank_taxids[rank][i]
                    else None
                )
                for rank in STANDARD_RANKS
            },
        }


@dataclass(frozen=True)
class BuildReport:
    """Where the derived index is and whether this call built it (with how long it took)."""

    path: Path
    source: str
    built: bool
    build_seconds: float  # of the build that made it, whenever that was
    taxa: int


@dataclass
class RawTaxonomy:
    """The taxonomy as read from a source, before indexing: one row per taxon, plus names."""

    source: str  # for people: where it came from
    taxid: np.ndarray  # int64 [N]
    parent: np.ndarray  # int64 [N]; the root is its own parent (NCBI: 1 -> 1)
    rank: np.ndarray  # uint8 [N], codes into rank_names
    rank_names: list[str]
    scientific: list[bytes]  # [N] UTF-8
    other_taxid: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # [M]
    other_names: list[bytes] = field(default_factory=list)  # [M]
    other_class: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))  # COMMON...
    display_common: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # ^ for each taxon with a common name to show, the row in other_* of that name
    merged_old: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    merged_new: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
