"""Lineages of many taxa at once: a job's report over a million HSPs asks about its few
thousand distinct taxids, and walks their lineages together, one tree level per step (at most
the tree's depth, ~50 numpy steps), never one Python loop per taxon."""

from __future__ import annotations

import numpy as np

from blastdeck.taxonomy.index import TaxonomyIndex
from blastdeck.taxonomy.index_build import ABSENT_RANK
from blastdeck.taxonomy.model import RANK_ALIASES, STANDARD_RANKS, LineageTable, unique_sorted


def _slot_of_rank(index: TaxonomyIndex) -> np.ndarray:
    """For each rank code, its position in STANDARD_RANKS (len(STANDARD_RANKS): none)."""
    slots = np.full(256, len(STANDARD_RANKS), dtype=np.int64)
    for code, name in enumerate(index.rank_names):
        name = RANK_ALIASES.get(name, name)
        if name in STANDARD_RANKS:
            slots[code] = STANDARD_RANKS.index(name)
    return slots


def lineage_table(index: TaxonomyIndex, taxids: object) -> LineageTable:
    asked = unique_sorted(np.asarray(taxids, dtype=np.int64))
    current = index.canonical_many(asked)
    parent = np.asarray(index.parent)
    rank = np.asarray(index.rank)
    slots = _slot_of_rank(index)
    found = np.zeros((len(STANDARD_RANKS) + 1, len(asked)), dtype=np.int64)
    walking = np.flatnonzero(current > 0)
    at = current[walking]
    for _ in range(index.depth + 1):
        if not len(at):
            break
        slot = slots[rank[at]]
        # The nearest ancestor of each rank wins: only fill slots still empty.
        empty = found[slot, walking] == 0
        found[slot[empty], walking[empty]] = at[empty]
        at = parent[at]
        alive = at > 0
        walking, at = walking[alive], at[alive]

    # Each taxon's name is decoded once, then every column is one numpy gather of objects
    # (a per-cell Python call costs ~0.5 s for 100,000 distinct taxa).
    needed = unique_sorted(np.concatenate([current, found[: len(STANDARD_RANKS)].ravel()]))
    needed = needed[needed > 0]
    decoded = np.empty(len(needed) + 1, dtype=object)  # the last slot: None, for taxid 0
    decoded[:-1] = [index.name(t) for t in needed.tolist()]

    def column(taxids: np.ndarray) -> list[str | None]:
        at = np.searchsorted(needed, taxids)
        at[taxids == 0] = len(needed)
        return decoded[at].tolist()

    rank_label = np.array([*index.rank_names, *[None] * (256 - len(index.rank_names))], object)
    rank_label[ABSENT_RANK] = None
    ranks = rank_label[rank[current]].tolist()
    ranks = [r if t else None for r, t in zip(ranks, current.tolist(), strict=True)]
    names = column(current)
    rank_taxids = {name: found[i] for i, name in enumerate(STANDARD_RANKS)}
    rank_names = {name: column(found[i]) for i, name in enumerate(STANDARD_RANKS)}
    return LineageTable(
        taxids=asked,
        current=current,
        names=names,
        ranks=ranks,
        rank_taxids=rank_taxids,
        rank_names=rank_names,
    )
