"""How names are compared, and how search results are ordered.

A name's *key* is its UTF-8 bytes with blanks collapsed and ASCII letters lower-cased: the
index sorts keys as bytes, so a prefix of a name is a prefix of its key and one binary search
finds every name starting with what was typed. (NCBI names are ASCII; other letters compare
as written.)

Search order, best first (documented in the API): names equal to the query; then formal names
before names of unnamed organisms ("uncultured ...", "... sp. X", "bacterium ...",
environmental samples); then taxa with more taxa under them (in powers of two: with no
popularity data offline, the number of strains, species and genera NCBI describes under a
taxon is the best sign of how much it is studied and sequenced); then higher ranks; then
shorter names; then scientific names before common names before synonyms. So "esch" offers
Escherichia (4,795 taxa under it) before the bryozoan family Escharinidae (24), "sal"
Salmonella first, "e" Eukaryota, and "human" Homo sapiens (its common name, an exact match).
"""

from __future__ import annotations

import numpy as np

# Higher ranks first; intermediate ranks sit between the major ones they are between.
RANK_ORDER: tuple[str, ...] = (
    "domain",
    "superkingdom",
    "realm",
    "kingdom",
    "subkingdom",
    "superphylum",
    "phylum",
    "subphylum",
    "superclass",
    "class",
    "subclass",
    "infraclass",
    "cohort",
    "subcohort",
    "superorder",
    "order",
    "suborder",
    "infraorder",
    "parvorder",
    "superfamily",
    "family",
    "subfamily",
    "tribe",
    "subtribe",
    "genus",
    "subgenus",
    "section",
    "subsection",
    "series",
    "species group",
    "species subgroup",
    "species",
    "subspecies",
    "varietas",
    "subvariety",
    "forma",
    "forma specialis",
    "strain",
    "serogroup",
    "serotype",
    "biotype",
    "genotype",
    "pathogroup",
    "morph",
    "isolate",
    "clade",
)
UNRANKED_BUCKET = len(RANK_ORDER)  # "no rank" and anything unknown

# Names of organisms nobody has named, found as substrings of keys (i.e. lower case).
_INFORMAL = (
    b"uncultured",
    b"unidentified",
    b"unclassified",
    b"unknown",
    b"environmental",
    b"metagenome",
    b" sp.",
    b" cf.",
    b" aff.",
    b"bacterium",
    b"endosymbiont",
    b"enrichment culture",
    b" clone",
)
_MARK = b"\x01"  # a byte no name has

# Score bit layout (uint32, lower is better):
#   informal (1) | 31 - log2(taxa in subtree) (5) | rank bucket (6) | length (10) | class (2)
_CLASS_BITS, _LENGTH_BITS, _RANK_BITS, _SIZE_BITS = 2, 10, 6, 5
_RANK_SHIFT = _CLASS_BITS + _LENGTH_BITS
_SIZE_SHIFT = _RANK_SHIFT + _RANK_BITS
_INFORMAL_SHIFT = _SIZE_SHIFT + _SIZE_BITS


def key_of(text: str | bytes) -> bytes:
    raw = text.encode("utf-8", "replace") if isinstance(text, str) else text
    return b" ".join(raw.split()).lower()


def rank_buckets(rank_names: list[str]) -> np.ndarray:
    """The search bucket of each rank code."""
    order = {name: i for i, name in enumerate(RANK_ORDER)}
    return np.array([order.get(name, UNRANKED_BUCKET) for name in rank_names], dtype=np.uint32)


def normalize_many(names: list[bytes]) -> list[bytes]:
    """`key_of` for millions of names at once: `bytes.replace` over all of them joined (C-speed
    passes), instead of a split/join/lower per name."""
    if not names:
        return []
    joined = b"\n".join(names).lower()
    for blank in (b"\t", b"\r", b"\x0b", b"\x0c"):  # bytes.split()'s whitespace, less newline
        joined = joined.replace(blank, b" ")
    while b"  " in joined:
        joined = joined.replace(b"  ", b" ")
    joined = joined.replace(b" \n", b"\n").replace(b"\n ", b"\n").strip(b" ")
    return joined.split(b"\n")


def informal_flags(keys: list[bytes]) -> np.ndarray:
    """1 for each key that names an unnamed organism. Every pattern is replaced by a marker
    byte in all keys joined (a regex, or a Python object per match, is ten times slower over
    70 MB), then the markers are counted per key with numpy."""
    joined = b"\n".join(keys)
    for pattern in _INFORMAL:
        joined = joined.replace(pattern, _MARK)
    text = np.frombuffer(joined, dtype=np.uint8)
    newlines = np.flatnonzero(text == 10)
    flags = np.zeros(len(keys), dtype=np.uint32)
    flags[np.searchsorted(newlines, np.flatnonzero(text == _MARK[0]))] = 1
    return flags


def scores(
    informal: np.ndarray,
    subtree: np.ndarray,
    bucket: np.ndarray,
    length: np.ndarray,
    name_class: np.ndarray,
) -> np.ndarray:
    size = np.floor(np.log2(np.maximum(subtree, 1))).astype(np.uint32)
    return (
        (informal.astype(np.uint32) << _INFORMAL_SHIFT)
        | ((31 - np.minimum(size, 31)) << _SIZE_SHIFT)
        | (np.minimum(bucket, (1 << _RANK_BITS) - 1).astype(np.uint32) << _RANK_SHIFT)
        | (np.minimum(length, (1 << _LENGTH_BITS) - 1).astype(np.uint32) << _CLASS_BITS)
        | name_class.astype(np.uint32)
    )
