"""Hits and HSPs by organism: each row's organism (names and lineage, from its `staxid`), the
filter "under this taxon" and the order "by scientific name", as array operations.

The taxonomy is asked about distinct taxids only: a page's (at most a thousand rows) for the
names, a column's for the pre-order positions and the name order, which are then cached on the
loaded index (`HspTable.cache`), so filtering or sorting a million HSPs by organism is one
numpy pass per request after the first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from blastdeck.results.hsp_index import HspTable
from blastdeck.taxonomy import Taxonomy
from blastdeck.taxonomy.model import unique_sorted

ORGANISM_FIELDS = ("scientific_name", "common_name", "superkingdom", "lineage")
_UNKNOWN: dict[str, Any] = dict.fromkeys(ORGANISM_FIELDS)


def with_organisms(rows: Sequence[dict[str, Any]], taxonomy: Taxonomy | None) -> list[dict]:
    """The rows with their organism: `taxid` (the current one when NCBI merged the subject's),
    `scientific_name`, `common_name`, `superkingdom` and `lineage` at the standard ranks; nulls
    for taxid 0 (the database has none), a taxid the taxonomy lacks, or no taxonomy at all.
    The page's distinct taxids are resolved together, once."""
    staxids = np.fromiter((int(r.get("staxid") or 0) for r in rows), np.int64, len(rows))
    if taxonomy is None or not len(rows):
        taxids = staxids.tolist()
        return [r | {"taxid": t or None} | _UNKNOWN for r, t in zip(rows, taxids, strict=True)]
    table = taxonomy.organisms(staxids)
    found = table.rows_for(staxids).tolist()
    organisms = {row: table.organism(row) for row in set(found)}
    out = []
    for row, place in zip(rows, found, strict=True):
        organism = organisms[place]
        out.append(row | organism | {"taxid": organism["taxid"] or None})
    return out


def _cached(cache: dict[str, Any], name: str, column: np.ndarray, make) -> np.ndarray:
    """A derived array of `column`, kept on the loaded index (keyed by the column itself:
    hits and HSPs have separate staxid columns)."""
    key = f"{name}:{id(column)}"
    held = cache.get(key)
    if held is None or held[0] is not column:
        held = cache[key] = (column, make())
    return held[1]


class TaxonRows:
    """The filter "the subject's organism is this taxon or under it" over a staxid column:
    the taxon's pre-order slice [start, end) against each row's pre-order position."""

    def __init__(self, taxonomy: Taxonomy, taxid: int, cache: dict[str, Any]) -> None:
        self._taxonomy = taxonomy
        self._cache = cache
        self.start, self.end = taxonomy.subtree_bounds(taxid, field="taxid")

    def mask(self, staxid: np.ndarray) -> np.ndarray:
        places = _cached(
            self._cache, "taxon_places", staxid, lambda: self._taxonomy.preorder_positions(staxid)
        )
        return (places >= self.start) & (places < self.end)


def organism_sort_key(
    taxonomy: Taxonomy, cache: dict[str, Any]
) -> Callable[[np.ndarray], np.ndarray]:
    """The sort key `organism` for a staxid column: each row's place in the alphabetical order
    of the scientific names (case aside), rows without a known organism last."""

    def key(staxid: np.ndarray) -> np.ndarray:
        return _cached(cache, "organism_rank", staxid, lambda: _name_ranks(taxonomy, staxid))

    return key


def _name_ranks(taxonomy: Taxonomy, staxid: np.ndarray) -> np.ndarray:
    distinct = unique_sorted(staxid)
    names = taxonomy.lineage_names(distinct).names
    order = sorted(range(len(distinct)), key=lambda i: (names[i] is None, (names[i] or "").lower()))
    rank = np.empty(len(distinct), dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(distinct))
    return rank[np.searchsorted(distinct, staxid)]


def subject_taxids(table: HspTable, query_index: int) -> dict[str, int]:
    """Each subject one query hit, by id, with its taxid (for rows that name subjects but
    carry no taxid, such as alignments read from BLAST's JSON)."""
    c = table.columns
    mine = np.flatnonzero(c["query_index"] == query_index)
    codes, first = np.unique(c["subject"][mine], return_index=True)
    taxids = c["staxid"][mine][first]
    return {table.subject_ids[int(code)]: int(t) for code, t in zip(codes, taxids, strict=True)}
