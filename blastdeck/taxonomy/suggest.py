"""Ranked prefix search over the sorted name keys, and close names for a name that is not one.

Suggestions without scanning 2.7 million names: the candidates are (1) the best-scored names
sharing the longest prefix with what was typed, so a slip late in a name ("Escherichia colli")
still lands on its neighbours, and (2) the names next to every variant with one edit in the
first three letters (deleted, swapped, replaced or inserted), so an early slip ("Eshcerichia")
does too. Each candidate costs a binary search; the few hundred found are ranked by
`difflib` similarity.
"""

from __future__ import annotations

import difflib
import string

import numpy as np

from blastdeck.taxonomy.index import TaxonomyIndex
from blastdeck.taxonomy.model import COMMON_WORD

_LETTERS = string.ascii_lowercase + " "
_MIN_SIMILARITY = 0.75
_MIN_WORD_TIER = 4
_LONGEST_PREFIX = 160  # NCBI names are shorter: a longer query is no name


def best_entries(index: TaxonomyIndex, lo: int, hi: int, count: int) -> list[int]:
    """Up to `count` entries of [lo, hi) with the lowest score (ties: key order)."""
    if hi - lo <= count:
        scores = np.asarray(index.key_score[lo:hi])
        return (lo + np.argsort(scores, kind="stable")).tolist()
    scores = np.asarray(index.key_score[lo:hi])
    top = np.argpartition(scores, count)[:count]
    top = top[np.lexsort((top, scores[top]))]
    return (lo + top).tolist()


def ranked_prefix(index: TaxonomyIndex, key: bytes, want: int) -> tuple[list[int], int]:
    """Entries starting with `key`, enough of them to give `want` distinct taxa, in tiers:
    names equal to `key`; then common names whose last words equal it ("mouse": "house
    mouse"); then the rest, each tier by score. Returns (entries, number of exact ones).

    The middle tier is for whole words of 4 letters or more: "mouse" means house mice, but
    "sal" is the start of Salmonella more than the end of "escarabajo de la sal", so shorter
    ones compete with the rest by score."""
    lo, hi = index.prefix_range(key)
    exact_hi = index.exact_range(key)[1] if lo < hi else lo
    equal = best_entries(index, lo, exact_hi, exact_hi - lo)
    exact = [e for e in equal if int(index.key_class[e]) != COMMON_WORD]
    words = [e for e in equal if int(index.key_class[e]) == COMMON_WORD]
    pool = max(want * 4, 16)
    while True:
        rest = best_entries(index, exact_hi, hi, pool)
        if len(key) >= _MIN_WORD_TIER:
            ordered = exact + words + rest
        else:
            ordered = exact + sorted(words + rest, key=lambda e: (int(index.key_score[e]), e))
        if len({int(index.key_taxid[e]) for e in ordered}) >= want or len(rest) >= hi - exact_hi:
            return ordered, len(exact)
        pool *= 4


def _variants(key: bytes) -> set[bytes]:
    text = key.decode("utf-8", "replace")
    found: set[bytes] = set()
    for i in range(min(3, len(text))):
        found.add((text[:i] + text[i + 1 :]).encode())
        if i + 1 < len(text):
            found.add((text[:i] + text[i + 1] + text[i] + text[i + 2 :]).encode())
        for letter in _LETTERS:
            found.add((text[:i] + letter + text[i + 1 :]).encode())
            found.add((text[:i] + letter + text[i:]).encode())
    found.discard(key)
    return found


def close_entries(index: TaxonomyIndex, key: bytes, limit: int = 5) -> list[int]:
    """Entries whose names are close to `key` (best first, one per taxon)."""
    candidates: set[int] = set()
    found_prefixes = 0
    for length in range(min(len(key) - 1, _LONGEST_PREFIX), 2, -1):
        lo, hi = index.prefix_range(key[:length])
        if hi > lo:
            candidates.update(best_entries(index, lo, hi, 30))
            found_prefixes += 1
            if found_prefixes == 2:
                break
    total = len(index.keys)
    for variant in _variants(key):
        at = index.prefix_range(variant)[0]
        candidates.update(range(max(0, at - 2), min(total, at + 3)))
    matcher = difflib.SequenceMatcher(b=key, autojunk=False)
    scored = []
    for entry in candidates:
        matcher.set_seq1(index.keys[entry])
        if matcher.real_quick_ratio() >= _MIN_SIMILARITY and matcher.quick_ratio() >= (
            _MIN_SIMILARITY
        ):
            ratio = matcher.ratio()
            if ratio >= _MIN_SIMILARITY:
                scored.append((-ratio, int(index.key_score[entry]), entry))
    best: list[int] = []
    seen: set[int] = set()
    for _, _, entry in sorted(scored):
        taxid = int(index.key_taxid[entry])
        if taxid not in seen:
            seen.add(taxid)
            best.append(entry)
            if len(best) == limit:
                break
    return best
