"""Browsing a job's results: HSP and hit lists sorted, filtered and paged, and the per-query
summary, all as array operations over the job's index (`hsp_index.py`, `hits.py`).

The default order is BLAST's ranking: e-value ascending, then bit score descending, then query
order (the table's own order last). Any other sort column is the primary key with those ties.
Sort orders are computed once per loaded index and cached on it, so paging anywhere in a
million rows, or filtering them, costs milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

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
    c = table.columns
    ties = (c["evalue"], -c["bitscore"], c["query_index"])
    keys: dict[str, Callable[[], np.ndarray]] = {
        "evalue": lambda: c["evalue"],
        "bitscore": lambda: c["bitscore"],
        "pident": lambda: c["pident"],
        "qcovhsp": lambda: c["qcovhsp"],
        "length": lambda: c["length"],
        "query": lambda: c["query_index"],
        "subject_id": lambda: _subject_rank(table)[c["subject"]],
    }
    if organism_key is not None:
        keys["organism"] = lambda: organism_key(c["staxid"])
    rows = _page(
        table.cache,
        c,
        table.query_ids,
        "hsp",
        keys,
        ties,
        "qcovhsp",
        sort,
        descending,
        filters,
        limit,
        offset,
        lambda subject_id: _subject_codes(table, subject_id),
    )
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
    h = hits.columns
    ties = (h["evalue"], -h["max_score"], h["query_index"])
    keys: dict[str, Callable[[], np.ndarray]] = {
        name: (lambda name=name: h[name])
        for name in ("evalue", "max_score", "total_score", "qcovs", "pident", "slen")
    }
    keys["query"] = lambda: h["query_index"]
    keys["subject_id"] = lambda: _subject_rank(table)[h["subject"]]
    if organism_key is not None:
        keys["organism"] = lambda: organism_key(h["staxid"])
    rows = _page(
        table.cache,
        h,
        table.query_ids,
        "hit",
        keys,
        ties,
        "qcovs",
        sort,
        descending,
        filters,
        limit,
        offset,
        lambda subject_id: _subject_codes(table, subject_id),
    )
    return [hits.row(i) for i in rows[0]], rows[1]


def query_summary(table: HspTable) -> list[dict[str, Any]]:
    """Every indexed query in input order: its id, length, HSP and hit counts (0 for a query
    without HSPs)."""
    cached = table.cache.get("queries")
    if cached is None:
        c = table.columns
        hits = hit_table(table).columns
        size = max(table.query_ids, default=-1) + 1
        hsps = np.bincount(c["query_index"], minlength=size)
        per_query_hits = np.bincount(hits["query_index"], minlength=size)
        qlen = np.zeros(size, "i8")
        qlen[c["query_index"]] = c["qlen"]
        cached = table.cache["queries"] = [
            {
                "query_index": index,
                "query_id": query_id,
                "qlen": int(qlen[index]) or None,
                "hsps": int(hsps[index]),
                "hits": int(per_query_hits[index]),
            }
            for index, query_id in sorted(table.query_ids.items())
        ]
    return cached


def _page(
    cache: dict[str, Any],
    columns: dict[str, np.ndarray],
    query_ids: dict[int, str],
    kind: str,
    keys: dict[str, Callable[[], np.ndarray]],
    ties: tuple[np.ndarray, ...],
    cover: str,
    sort: str,
    descending: bool | None,
    filters: ResultFilter | None,
    limit: int,
    offset: int,
    subject_codes: Callable[[str], np.ndarray] | None = None,
) -> tuple[np.ndarray, int]:
    if descending is None:
        descending = sort in DESCENDING_BY_DEFAULT
    cache_key = f"order:{kind}:{sort}:{descending}"
    order = cache.get(cache_key)
    if order is None:
        primary = keys[sort]()
        if sort == "query":  # within a query, BLAST's own order (the table's)
            ties = ()
        if descending:
            primary = -primary.astype("f8") if primary.dtype.kind != "f" else -primary
        # np.lexsort sorts by the last key first; the table's own order breaks remaining ties.
        order = cache[cache_key] = np.lexsort((*reversed(ties), primary))
    mask = (filters or ResultFilter()).mask(columns, query_ids, cover, subject_codes)
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
    """For each subject code, its place in the alphabetical order of all subject ids."""
    rank = table.cache.get("subject_rank")
    if rank is None:
        names = np.array(table.subject_ids.all(), dtype=object)
        rank = table.cache["subject_rank"] = np.empty(len(names), "i8")
        rank[np.argsort(names, kind="stable")] = np.arange(len(names))
    return rank
