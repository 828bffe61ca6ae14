"""The taxonomy's derived index on disk: found, or built once per taxonomy source, then
memory-mapped, so a process start costs milliseconds and every process shares one copy of
the pages.

Layout: `<cache dir>/v<FORMAT>-<source fingerprint>/` holds the files `index_build.py` writes
and `meta.json`, written last. A build happens in a temporary sibling directory renamed into
place, under an flock on `<cache dir>/.build.lock`: a second process (the API server and a
worker starting together) waits for the first build and then opens its result; a build that
dies leaves nothing half-written behind.
"""

from __future__ import annotations

import bisect
import fcntl
import json
import mmap
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from blastdeck.taxonomy.index_build import ABSENT_RANK, FORMAT, build, write_meta
from blastdeck.taxonomy.model import BuildReport, RawTaxonomy

_ARRAYS = (
    "parent",
    "rank",
    "pre",
    "subtree",
    "order",
    "name_off",
    "other_off",
    "common_taxid",
    "common_row",
    "keys_off",
    "key_taxid",
    "key_class",
    "key_row",
    "key_score",
    "merged_old",
    "merged_new",
)


_NAME_CACHE_MAX = 500_000  # decoded names kept (~50 MB at most)


def _map(path: Path) -> bytes | mmap.mmap:
    if path.stat().st_size == 0:  # mmap cannot map an empty file
        return b""
    with path.open("rb") as fh:
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)


class _Keys(Sequence[bytes]):
    """The sorted search keys as a sequence, for `bisect`."""

    def __init__(self, blob: bytes | mmap.mmap, offsets: np.ndarray) -> None:
        self._blob, self._offsets = blob, offsets

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i):  # type: ignore[override]
        return self._blob[int(self._offsets[i]) : int(self._offsets[i + 1])]


class TaxonomyIndex:
    """Read-only lookups on one built index (all arrays memory-mapped)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.meta = json.loads((directory / "meta.json").read_text())
        for name in _ARRAYS:
            setattr(self, name, np.load(directory / f"{name}.npy", mmap_mode="r"))
        self.names_blob = _map(directory / "names.bin")
        self.other_blob = _map(directory / "other.bin")
        self.keys = _Keys(_map(directory / "keys.bin"), self.keys_off)
        self.rank_names: list[str] = list(self.meta["rank_names"])
        self.size = len(self.parent)
        self.root = int(self.meta["root"])
        self.depth = int(self.meta["depth"])
        # Decoded names are kept: a job's report asks for the same few thousand again.
        self._names: dict[int, str] = {}

    # -- taxa --------------------------------------------------------------------------------

    def exists(self, taxid: int) -> bool:
        return 0 < taxid < self.size and self.parent[taxid] >= 0

    def canonical(self, taxid: int) -> int | None:
        """The current taxid for a taxid or a merged (renumbered) one; None when unknown."""
        if self.exists(taxid):
            return taxid
        at = int(np.searchsorted(self.merged_old, taxid))
        if at < len(self.merged_old) and int(self.merged_old[at]) == taxid:
            return int(self.merged_new[at])
        return None

    def canonical_many(self, taxids: np.ndarray) -> np.ndarray:
        """Vectorised `canonical`: 0 where unknown."""
        taxids = np.asarray(taxids, dtype=np.int64)
        inside = (taxids > 0) & (taxids < self.size)
        found = np.zeros(len(taxids), dtype=bool)
        found[inside] = np.asarray(self.parent)[taxids[inside]] >= 0
        current = np.where(found, taxids, 0)
        missing = np.flatnonzero(~found)
        if len(missing) and len(self.merged_old):
            at = np.minimum(
                np.searchsorted(self.merged_old, taxids[missing]), len(self.merged_old) - 1
            )
            hit = np.asarray(self.merged_old)[at] == taxids[missing]
            current[missing[hit]] = np.asarray(self.merged_new)[at[hit]]
        return current

    def name(self, taxid: int) -> str:
        cached = self._names.get(taxid)
        if cached is None:
            if len(self._names) >= _NAME_CACHE_MAX:  # bounded: a server runs for months
                self._names.clear()
            start, end = int(self.name_off[taxid]), int(self.name_off[taxid + 1])
            cached = self._names[taxid] = self.names_blob[start:end].decode("utf-8", "replace")
        return cached

    def rank_of(self, taxid: int) -> str:
        code = int(self.rank[taxid])
        return "no rank" if code == ABSENT_RANK else self.rank_names[code]

    def other_name(self, row: int) -> str:
        start, end = int(self.other_off[row]), int(self.other_off[row + 1])
        return self.other_blob[start:end].decode("utf-8", "replace")

    def common_name(self, taxid: int) -> str | None:
        at = int(np.searchsorted(self.common_taxid, taxid))
        if at < len(self.common_taxid) and int(self.common_taxid[at]) == taxid:
            return self.other_name(int(self.common_row[at]))
        return None

    def subtree_slice(self, taxid: int) -> slice:
        start = int(self.pre[taxid])
        return slice(start, start + int(self.subtree[taxid]))

    # -- names -------------------------------------------------------------------------------

    def prefix_range(self, key: bytes) -> tuple[int, int]:
        """The entries whose key starts with `key` (UTF-8 never has 0xff, so key+0xff is past
        every such key)."""
        lo = bisect.bisect_left(self.keys, key)
        return lo, bisect.bisect_left(self.keys, key + b"\xff", lo)

    def exact_range(self, key: bytes) -> tuple[int, int]:
        lo = bisect.bisect_left(self.keys, key)
        return lo, bisect.bisect_right(self.keys, key, lo)

    def matched_name(self, entry: int) -> str:
        row = int(self.key_row[entry])
        return self.name(int(self.key_taxid[entry])) if row < 0 else self.other_name(row)


# -- finding or building ----------------------------------------------------------------------


@contextmanager
def _flock(path: Path) -> Iterator[None]:
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _report(index: TaxonomyIndex, built: bool) -> BuildReport:
    return BuildReport(
        path=index.directory,
        source=str(index.meta["source"]),
        built=built,
        build_seconds=float(index.meta["build_seconds"]),
        taxa=int(index.meta["taxa"]),
    )


def open_or_build(
    cache_dir: Path, fingerprint: str, load: Callable[[], RawTaxonomy]
) -> tuple[TaxonomyIndex, BuildReport]:
    """The index of the source named `fingerprint`, built from `load()` when missing."""
    target = cache_dir / f"v{FORMAT}-{fingerprint}"
    if (target / "meta.json").is_file():
        index = TaxonomyIndex(target)
        return index, _report(index, built=False)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _flock(cache_dir / ".build.lock"):
        if (target / "meta.json").is_file():  # another process built it while we waited
            index = TaxonomyIndex(target)
            return index, _report(index, built=False)
        for stale in cache_dir.glob(".building-*"):  # left by a build that died (we hold the lock)
            shutil.rmtree(stale, ignore_errors=True)
        started = time.perf_counter()
        work = Path(tempfile.mkdtemp(prefix=".building-", dir=cache_dir))
        try:
            work.chmod(0o755)  # mkdtemp's 0700 would hide a shared cache from other users
            raw = load()
            loaded = time.perf_counter() - started
            meta = build(raw, work, fingerprint)
            meta["load_seconds"] = round(loaded, 3)
            meta["build_seconds"] = round(time.perf_counter() - started, 3)
            write_meta(work, meta)
            os.rename(work, target)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        _prune(cache_dir, keep=target)
    index = TaxonomyIndex(target)
    return index, _report(index, built=True)


def _prune(cache_dir: Path, keep: Path) -> None:
    """Drops indexes of an older format or an older snapshot of the same kind of source
    (processes still mapping them keep their pages: unlinked files live on until unmapped)."""
    kind = keep.name.split("-")[1]
    for other in cache_dir.glob("v*-*"):
        if other == keep or not other.is_dir():
            continue
        parts = other.name.split("-")
        if parts[0] != f"v{FORMAT}" or parts[1] == kind:
            shutil.rmtree(other, ignore_errors=True)
