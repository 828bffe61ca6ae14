"""Builds the taxonomy's derived index from a `RawTaxonomy`: flat numpy arrays and byte blobs,
written once into a directory and memory-mapped by every process afterwards (`index.py`).

Why these arrays:

- Dense by taxid (NCBI taxids are < 3.4 million, so a few MB each): `parent`, `rank`,
  `name_off` (+ `names.bin`, scientific names in taxid order). A lineage is a chain of array
  reads; the lineages of thousands of taxids are walked together, a level at a time.
- Pre-order of the tree: `pre[t]` is t's position and `subtree[t]` its size, so the taxon
  and all of its descendants are `order[pre[t] : pre[t] + subtree[t]]`: Bacteria's ~600,000
  descendants are one slice, not a walk. Computed level by level with numpy (no Python loop
  over taxa).
- Search keys (`names.key_of`) sorted as bytes (`keys.bin`, `key_off`): every name starting
  with a prefix is one contiguous range, found by binary search; each key carries its taxon,
  its name class and a precomputed score (`names.scores`) so the best of a range are picked
  with one `argpartition`.
- Merged taxids (NCBI renumbered them) sorted by old id, for binary search.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from blastdeck.taxonomy import names as naming
from blastdeck.taxonomy.errors import unavailable
from blastdeck.taxonomy.model import COMMON, COMMON_WORD, SCIENTIFIC, RawTaxonomy

# Bump whenever the files below change in meaning or content (a new score, a new key rule):
# indexes live in the user's cache across code versions and are found by this number.
FORMAT = 1
ABSENT_RANK = 255


def _save(directory: Path, name: str, array: np.ndarray) -> None:
    np.save(directory / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)


def _blob(directory: Path, name: str, parts: list[bytes]) -> None:
    (directory / f"{name}.bin").write_bytes(b"".join(parts))
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    if parts:
        np.cumsum(np.fromiter(map(len, parts), np.int64, len(parts)), out=offsets[1:])
    _save(directory, f"{name}_off", offsets)


def _tree(taxid: np.ndarray, parent: np.ndarray, size: int) -> dict[str, np.ndarray]:
    """Dense parent table, pre-order positions and subtree sizes, level by level."""
    roots = taxid[taxid == parent]
    if len(roots) != 1:
        raise unavailable(
            f"The taxonomy needs exactly one root (a taxon its own parent), found {len(roots)}."
        )
    root = int(roots[0])
    dense_parent = np.full(size, -1, dtype=np.int64)
    dense_parent[taxid] = parent
    if (dense_parent[parent] < 0).any():
        orphan = int(taxid[dense_parent[parent] < 0][0])
        raise unavailable(f"Taxon {orphan}'s parent {int(dense_parent[orphan])} is not a taxon.")
    dense_parent[root] = 0  # walks up stop at 0

    below = taxid != root
    child, of = taxid[below], parent[below]
    by_parent = np.lexsort((child, of))  # children grouped by parent, each group by taxid
    child, of = child[by_parent], of[by_parent]
    count = np.bincount(of, minlength=size)
    first = np.zeros(size, dtype=np.int64)
    first[1:] = np.cumsum(count)[:-1]

    levels = [np.array([root], dtype=np.int64)]
    while True:
        frontier = levels[-1]
        counts = count[frontier]
        total = int(counts.sum())
        if not total:
            break
        # The children of every frontier taxon, concatenated: each range first[f]..+count[f].
        shift = np.repeat(first[frontier] - (np.cumsum(counts) - counts), counts)
        levels.append(child[shift + np.arange(total)])
    reached = sum(len(level) for level in levels)
    if reached != len(taxid):
        raise unavailable(f"{len(taxid) - reached} taxa are not under the root (a parent cycle).")

    subtree = np.ones(size, dtype=np.int64)
    for level in reversed(levels[1:]):
        # A level holds each parent's children contiguously: one reduceat per level.
        up = dense_parent[level]
        starts = np.flatnonzero(np.r_[True, up[1:] != up[:-1]])
        subtree[up[starts]] += np.add.reduceat(subtree[level], starts)

    pre = np.full(size, -1, dtype=np.int64)
    pre[root] = 0
    for level in levels[1:]:
        up = dense_parent[level]
        before = np.cumsum(subtree[level]) - subtree[level]  # sizes of earlier entries
        group_start = np.r_[True, up[1:] != up[:-1]]
        group = np.cumsum(group_start) - 1
        pre[level] = pre[up] + 1 + before - before[group_start][group]
    order = np.empty(len(taxid), dtype=np.int32)
    order[pre[taxid]] = taxid
    return {
        "parent": dense_parent.astype(np.int32),
        "pre": pre.astype(np.int32),
        "subtree": np.where(pre >= 0, subtree, 0).astype(np.int32),
        "order": order,
        "depth": np.array(len(levels)),
        "root": np.array(root),
    }


def _entries(raw: RawTaxonomy) -> tuple[list[bytes], np.ndarray, np.ndarray, np.ndarray]:
    """Every searchable key with its taxid, name class and row in other_names (-1: scientific).

    A common name is also found from a later word of 3 letters or more ("mouse" finds
    "house mouse", "coli" finds "E. coli")."""
    keys = naming.normalize_many(raw.scientific) + naming.normalize_many(raw.other_names)
    word_keys, word_taxid, word_row = [], [], []
    for row in np.flatnonzero(raw.other_class == COMMON).tolist():
        words = keys[len(raw.scientific) + row].split(b" ")
        for start in range(1, len(words)):
            if len(words[start]) >= 3:
                word_keys.append(b" ".join(words[start:]))
                word_taxid.append(int(raw.other_taxid[row]))
                word_row.append(row)
    n_sci, n_other = len(raw.scientific), len(raw.other_names)
    return (
        keys + word_keys,
        np.concatenate([raw.taxid, raw.other_taxid, np.array(word_taxid, dtype=np.int64)]),
        np.concatenate(
            [
                np.full(n_sci, SCIENTIFIC, dtype=np.uint8),
                raw.other_class.astype(np.uint8),
                np.full(len(word_row), COMMON_WORD, dtype=np.uint8),
            ]
        ),
        np.concatenate(
            [
                np.full(n_sci, -1, dtype=np.int64),
                np.arange(n_other, dtype=np.int64),
                np.array(word_row, dtype=np.int64),
            ]
        ),
    )


def build(raw: RawTaxonomy, directory: Path, fingerprint: str) -> dict[str, object]:
    """Writes the index into `directory` (which must exist and be empty); returns its meta."""
    started = time.perf_counter()
    ascending = np.sort(raw.taxid)
    if len(ascending) and (ascending[1:] == ascending[:-1]).any():
        raise unavailable("The taxonomy lists a taxid twice.")
    size = int(raw.taxid.max()) + 1
    tree = _tree(raw.taxid, raw.parent, size)
    for name in ("parent", "pre", "subtree", "order"):
        _save(directory, name, tree[name])
    rank = np.full(size, ABSENT_RANK, dtype=np.uint8)
    rank[raw.taxid] = raw.rank
    _save(directory, "rank", rank)

    by_taxid = np.argsort(raw.taxid)
    lengths = np.zeros(size, dtype=np.int64)
    lengths[raw.taxid] = np.fromiter(map(len, raw.scientific), np.int64, len(raw.scientific))
    scientific = raw.scientific
    (directory / "names.bin").write_bytes(b"".join([scientific[i] for i in by_taxid.tolist()]))
    name_off = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(lengths, out=name_off[1:])
    _save(directory, "name_off", name_off)

    _blob(directory, "other", raw.other_names)
    keep = np.isin(raw.other_taxid[raw.display_common], raw.taxid)
    shown = raw.display_common[keep]
    shown = shown[np.argsort(raw.other_taxid[shown], kind="stable")]
    _save(directory, "common_taxid", raw.other_taxid[shown].astype(np.int32))
    _save(directory, "common_row", shown.astype(np.int32))

    keys, key_taxid, key_class, key_row = _entries(raw)
    known = np.zeros(size, dtype=bool)
    known[raw.taxid] = True
    valid = np.flatnonzero((key_taxid < size) & known[np.minimum(key_taxid, size - 1)])
    order = sorted(valid.tolist(), key=keys.__getitem__)
    sorted_keys = [keys[i] for i in order]
    del keys
    perm = np.array(order, dtype=np.int64)
    key_taxid, key_class, key_row = key_taxid[perm], key_class[perm], key_row[perm]
    _blob(directory, "keys", sorted_keys)
    other_lengths = np.fromiter(map(len, raw.other_names), np.int64, len(raw.other_names))
    shown_length = np.where(
        key_row >= 0,
        other_lengths[np.maximum(key_row, 0)] if len(other_lengths) else 0,
        lengths[key_taxid],
    )
    bucket_of_rank = np.full(256, naming.UNRANKED_BUCKET, dtype=np.uint32)
    bucket_of_rank[: len(raw.rank_names)] = naming.rank_buckets(raw.rank_names)
    score = naming.scores(
        naming.informal_flags(sorted_keys),
        tree["subtree"][key_taxid],
        bucket_of_rank[rank[key_taxid]],
        shown_length,
        key_class,
    )
    _save(directory, "key_taxid", key_taxid.astype(np.int32))
    _save(directory, "key_class", key_class)
    _save(directory, "key_row", key_row.astype(np.int32))
    _save(directory, "key_score", score)

    # Merged ids that still are taxa, or point nowhere, are dropped: a live taxon wins.
    old, new = raw.merged_old, raw.merged_new
    usable = ~np.isin(old, raw.taxid) & np.isin(new, raw.taxid)
    by_old = np.argsort(old[usable], kind="stable")
    _save(directory, "merged_old", old[usable][by_old].astype(np.int32))
    _save(directory, "merged_new", new[usable][by_old].astype(np.int32))

    meta: dict[str, object] = {
        "format": FORMAT,
        "fingerprint": fingerprint,
        "source": raw.source,
        "taxa": len(raw.taxid),
        "names": len(sorted_keys),
        "merged": int(usable.sum()),
        "root": int(tree["root"]),
        "depth": int(tree["depth"]),
        "rank_names": raw.rank_names,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "index_seconds": round(time.perf_counter() - started, 3),
    }
    return meta


def write_meta(directory: Path, meta: dict[str, object]) -> None:
    """Written last: a directory with meta.json is complete."""
    (directory / "meta.json").write_text(json.dumps(meta, indent=1))
