"""Browsing a job's results: HSP and hit lists sorted, filtered and paged, and the per-query
summary, all as array operations over the job's index (`hsp_index.py`, `hits.py`).

The default order is BLAST's ranking: e-value ascending, then bit score descending, then query
order (the table's own order last). Any other sort column is the primary key with those ties.
Sort orders live in the table's order store (`HspTable.orders`): a finished job's are
precomputed once into its final index (`final_index.py`) and memory-mapped, a running job's are
computed once per loaded index. Filters are boolean masks over the columns, applied to a sort
order, so paging anywhere in a million rows, or filtering them, costs milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, get_args

import numpy as np

from blastdeck.results.hits import HitTable, hit_table
from blastdeck.results.hsp_index import HspTable

# What a list may be ordered by; "query" is input order (then BLAST's order within a query).
HspSort = Literal[
    "evalue", "bitscore", "pident", "qcovhsp", "length", "query", "subject_id", "organism"
]
HitSort = Literal[
    "evalue",
    "max_score",
    "total_score",
    "qcovs",
    "pident",
    "slen",
    "query",
    "subject_id",
    "organism",
]
# Sorted high first unless the caller says otherwise.
DESCENDING_BY_DEFAULT = frozenset(
    {"bitscore", "pident", "qcovhsp", "length", "max_score", "total_score", "qcovs", "slen"}
)


class RowMask(Protocol):
    def mask(self, staxid: np.ndarray) -> np.ndarray: ...


# A sort key computed from a staxid column (sort=organism: organisms.organism_sort_key).
StaxidKey = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ResultFilter:
    """Which rows a list shows; every bound is optional. `min_cover` is qcovhsp for HSPs and
    qcovs for hits."""

    query_id: str | None = None
    query_index: int | None = None
    min_pident: float | None = None
    min_cover: float | None = None
    max_evalue: float | None = None
    subject_id: str | None = None
    # The subject's organism under a taxon: an object with mask(staxid column) (organisms.py).
    taxon: RowMask | None = None

    def mask(
        self,
        columns: dict[str, np.ndarray],
        query_ids: dict[int, str],
        cover: str,
        subject_codes: Callable[[str], np.ndarray] | None = None,
    ):
        bounds: list[np.ndarray] = []
        if self.query_index is not None:
            bounds.append(columns["query_index"] == self.query_index)
        if self.query_id is not None:
            wanted = [i for i, qid in query_ids.items() if qid == self.query_id]
            bounds.append(np.isin(columns["query_index"], wanted))
        if self.min_pident is not None:
            bounds.append(columns["pident"] >= self.min_pident)
        if self.min_cover is not None:
            bounds.append(columns[cover] >= self.min_cover)
        if self.max_evalue is not None:
            bounds.append(columns["evalue"] <= self.max_evalue)
        if self.subject_id is not None and subject_codes is not None:
            bounds.append(np.isin(columns["subject"], subject_codes(self.subject_id)))
        if self.taxon is not None:
            bounds.append(self.taxon.mask(columns["staxid"]))
        if not bounds:
            return None
        return np.logical_and.reduce(bounds)


def hsp_page(
    table: HspTable,
    sort: HspSort = "evalue",
    descending: bool | None = None,
    filters: ResultFilter | None = None,
    limit: int = 100,
    offset: int = 0,
    organism_key: StaxidKey | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of HSPs and how many match the filters."""
    order = sort_order(table, "hsp", sort, descending, organism_key)
    rows = _page(table, table.columns, "qcovhsp", order, filters, limit, offset)
    return [table.row(i) for i in rows[0]], rows[1]


def hit_page(
    table: HspTable,
    sort: HitSort = "evalue",
    descending: bool | None = None,
    filters: ResultFilter | None = None,
    limit: int = 100,
    offset: int = 0,
    organism_key: StaxidKey | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of hits (one row per query and subject) and how many match the filters."""
    hits: HitTable = hit_table(table)
    order = sort_order(table, "hit", sort, descending, organism_key)
    rows = _page(table, hits.columns, "qcovs", order, filters, limit, offset)
    return [hits.row(i) for i in rows[0]], rows[1]


# The sortable columns of each list (besides "query" and "subject_id", which every list has).
SORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "hsp": ("evalue", "bitscore", "pident", "qcovhsp", "length"),
    "hit": ("evalue", "max_score", "total_score", "qcovs", "pident", "slen"),
}
# BLAST's ranking, which breaks ties of any other sort: (column, high first).
_TIES: dict[str, tuple[tuple[str, bool], ...]] = {
    "hsp": (("evalue", False), ("bitscore", True), ("query_index", False)),
    "hit": (("evalue", False), ("max_score", True), ("query_index", False)),
}


# Sorts by a key that is not one column (e.g. an organism name per taxid): kind -> name ->
# the primary key of every row, from the table and the list's columns. Their orders are kept
# like the others (precomputed into a finished job's final index when registered by then,
# else made on first use and stored).
SortKey = Callable[[HspTable, dict[str, np.ndarray]], np.ndarray]
SORT_KEYS: dict[str, dict[str, SortKey]] = {
    "hsp": {"subject_id": lambda table, columns: _subject_rank(table)[columns["subject"]]},
    "hit": {"subject_id": lambda table, columns: _subject_rank(table)[columns["subject"]]},
}


def sort_names(kind: str) -> tuple[str, ...]:
    """Every sort a list of this kind offers."""
    return (*SORT_COLUMNS[kind], "query", *SORT_KEYS[kind])


def sort_order(
    table: HspTable,
    kind: str,
    sort: str,
    descending: bool | None = None,
    organism_key: StaxidKey | None = None,
) -> np.ndarray:
    """The rows of the `kind` list ("hsp" or "hit") in this order: from the table's order
    store (a finished job's are precomputed on disk), else computed once and kept there.
    The organism order depends on the taxonomy's names, so it is kept with the loaded index
    only, never stored on disk."""
    if descending is None:
        descending = sort in DESCENDING_BY_DEFAULT
    name = f"{kind}.{sort}.{'desc' if descending else 'asc'}"
    if sort == "organism":
        order = table.cache.get(name)
        if order is None:
            if organism_key is None:
                raise KeyError(sort)
            columns = table.columns if kind == "hsp" else hit_table(table).columns
            key = organism_key(columns["staxid"])
            order = table.cache[name] = compute_order(table, kind, columns, sort, descending, key)
        return order
    order = table.orders.get(name)
    if order is None:
        columns = table.columns if kind == "hsp" else hit_table(table).columns
        order = table.orders.put(name, compute_order(table, kind, columns, sort, descending))
    return order


def compute_order(
    table: HspTable,
    kind: str,
    columns: dict[str, np.ndarray],
    sort: str,
    descending: bool,
    key: np.ndarray | None = None,
) -> np.ndarray:
    """Positions of the rows sorted by `sort` (BLAST's ranking breaking ties, then the table's
    own order); `sort="query"` is input order, BLAST's own order within a query."""
    if sort == "query":
        primary = columns["query_index"]
        ties = np.arange(len(primary))
    else:
        ties = blast_ranking(table, kind, columns)
        if key is not None:  # a key computed by the caller (sort=organism), one per row
            primary = key
        elif sort in SORT_COLUMNS[kind]:
            primary = columns[sort]
        else:
            primary = SORT_KEYS[kind][sort](table, columns)
        primary = primary[ties]
    if descending:
        primary = -primary.astype("f8") if primary.dtype.kind != "f" else -primary
    # A stable sort keeps the ties in BLAST's ranking (then the table's order).
    order = ties[np.argsort(primary, kind="stable")]
    return order.astype("i4") if len(order) < 2**31 else order


def blast_ranking(table: HspTable, kind: str, columns: dict[str, np.ndarray]) -> np.ndarray:
    """BLAST's ranking of the rows (e-value, then score high first, then query order), which
    every other sort uses to break its ties; computed once per table."""
    key = f"ranking:{kind}"
    # Sorting by e-value ascending is that ranking itself: a stored order serves.
    ranking = table.cache.get(key)
    if ranking is None:
        ranking = table.orders.get(f"{kind}.evalue.asc")
    if ranking is None:
        keys = [-columns[c] if high_first else columns[c] for c, high_first in _TIES[kind]]
        # np.lexsort sorts by the last key first; the table's own order breaks remaining ties.
        ranking = table.cache[key] = np.lexsort(tuple(reversed(keys)))
    return ranking


def query_summary(table: HspTable) -> list[dict[str, Any]]:
    """Every indexed query in input order: its id, length, HSP and hit counts (0 for a query
    without HSPs)."""
    cached = table.cache.get("queries")
    if cached is None:
        qlen, hsps, hits = query_counts(table)
        cached = table.cache["queries"] = [
            {
                "query_index": index,
                "query_id": query_id,
                "qlen": int(qlen[index]) or None,
                "hsps": int(hsps[index]),
                "hits": int(hits[index]),
            }
            for index, query_id in sorted(table.query_ids.items())
        ]
    return cached


def query_counts(table: HspTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per query index: its length (0: no HSP tells it), its HSP count and its hit count
    (a finished job's final index holds them precomputed)."""
    counts = table.cache.get("query_counts")
    if counts is None:
        c = table.columns
        hits = hit_table(table).columns
        size = max(table.query_ids, default=-1) + 1
        qlen = np.zeros(size, "i8")
        qlen[c["query_index"]] = c["qlen"]
        counts = table.cache["query_counts"] = (
            qlen,
            np.bincount(c["query_index"], minlength=size),
            np.bincount(hits["query_index"], minlength=size),
        )
    return counts


def _page(
    table: HspTable,
    columns: dict[str, np.ndarray],
    cover: str,
    order: np.ndarray,
    filters: ResultFilter | None,
    limit: int,
    offset: int,
) -> tuple[np.ndarray, int]:
    mask = (filters or ResultFilter()).mask(
        columns,
        table.query_ids,
        cover,
        lambda subject_id: _subject_codes(table, subject_id),
    )
    chosen = order if mask is None else order[mask[order]]
    return chosen[offset : offset + limit], len(chosen)


def _subject_codes(table: HspTable, subject_id: str) -> np.ndarray:
    """The codes a subject id has in the table (one per batch it was found in)."""
    codes = table.cache.get("subject_codes")
    if codes is None:
        codes = {}
        for code, name in enumerate(table.subject_ids.all()):
            codes.setdefault(name, []).append(code)
        table.cache["subject_codes"] = codes
    return np.asarray(codes.get(subject_id, []), dtype="i8")


def _subject_rank(table: HspTable) -> np.ndarray:
    """For each subject code, its place in the alphabetical order of the subject ids (one
    place per id: a running job's batches each have a code for the same subject)."""
    rank = table.cache.get("subject_rank")
    if rank is None:
        names = np.array(table.subject_ids.all(), dtype=object)
        _, inverse = np.unique(names, return_inverse=True) if len(names) else (None, names)
        rank = table.cache["subject_rank"] = np.asarray(inverse, dtype="i8")
    return rank


# What the API offers (HspSort, HitSort) is what this module can sort by.
# Every sort the API offers exists; "organism" needs the taxonomy, so its key comes from the
# caller (organism_key) and its order is never stored on disk.
assert set(get_args(HspSort)) <= {*sort_names("hsp"), "organism"}
assert set(get_args(HitSort)) <= {*sort_names("hit"), "organism"}
