"""A job's HSP index: one columnar file per finished batch, read back as one table.

While a job runs, each finished batch's hit table is parsed once and written as
`<work dir>/index/batch_NNN.npz` (written beside and renamed, so a reader never sees half a
file). Readers (the hits API, the web page, the taxonomy report) load every batch file present
into one `HspTable` of column arrays: sorting, filtering, paging and grouping a million HSPs
are then array operations of milliseconds, with no per-row database work while BLAST runs.

Numbers keep the exact values BLAST printed (float64 for e-values, bit scores and identities;
int32 for positions and lengths). Strings (query ids, subject ids and titles) are stored once
per batch, packed as UTF-8 bytes with offsets, and referred to by code.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from blastdeck.results.hsps import (
    HSP_FIELDS,
    NUMBER_FIELDS,
    Hsp,
    HspColumns,
    read_hsp_columns,
    read_hsps,
)

INDEX_DIR = "index"
# The numeric HSP fields and how each is stored.
NUMERIC_FIELDS: dict[str, str] = {
    "pident": "f8",
    "length": "i4",
    "mismatch": "i4",
    "gapopen": "i4",
    "qstart": "i4",
    "qend": "i4",
    "sstart": "i4",
    "send": "i4",
    "evalue": "f8",
    "bitscore": "f8",
    "qlen": "i4",
    "slen": "i4",
    "qcovhsp": "i4",
    "qcovs": "i4",
    "staxid": "i8",
}
_STRING_FIELDS = ("query_id", "subject_id", "subject_title")
assert set(NUMERIC_FIELDS) | set(_STRING_FIELDS) == set(HSP_FIELDS)
assert tuple(NUMERIC_FIELDS) == NUMBER_FIELDS


def index_dir(work_dir: Path) -> Path:
    return work_dir / INDEX_DIR


def batch_index_file(work_dir: Path, batch_index: int) -> Path:
    return index_dir(work_dir) / f"batch_{batch_index:05d}.npz"


def pack_strings(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Strings as one UTF-8 blob and the offsets of each (`PackedStrings`)."""
    encoded = [t.encode("utf-8", "replace") for t in texts]
    offsets = np.zeros(len(encoded) + 1, dtype="i8")
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype="u1"), offsets


@dataclass(frozen=True)
class PackedStrings:
    """Strings stored as one UTF-8 blob and offsets; decoded one at a time, or all when a
    sort needs them."""

    blob: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:
        start, end = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.blob[start:end].tobytes().decode("utf-8", "replace")

    def all(self) -> list[str]:
        data = self.blob.tobytes()
        bounds = self.offsets.tolist()
        return [data[a:b].decode("utf-8", "replace") for a, b in itertools.pairwise(bounds)]

    @staticmethod
    def concat(parts: Sequence[PackedStrings]) -> PackedStrings:
        if not parts:
            return PackedStrings(np.zeros(0, "u1"), np.zeros(1, "i8"))
        blobs, offsets, base = [], [np.zeros(1, "i8")], 0
        for part in parts:
            blobs.append(part.blob)
            offsets.append(part.offsets[1:] + base)
            base += len(part.blob)
        return PackedStrings(np.concatenate(blobs), np.concatenate(offsets))


def write_batch_index(
    work_dir: Path,
    batch_index: int,
    query_offset: int,
    query_ids: Sequence[str],
    hsps: Sequence[Hsp],
) -> None:
    """Store one batch's HSPs (replacing an earlier copy) as columns."""
    write_batch_columns(work_dir, batch_index, query_offset, query_ids, HspColumns.of(hsps))


def index_batch_table(
    work_dir: Path, batch_index: int, table: Path, query_ids: Sequence[str], query_offset: int
) -> None:
    """Index one finished batch: its hit table read straight into columns and stored."""
    columns = read_hsp_columns(table, query_ids, query_offset)
    if columns is None:  # a legacy table: read_hsps derives what it lacks
        columns = HspColumns.of(read_hsps(table, query_ids, query_offset))
    write_batch_columns(work_dir, batch_index, query_offset, query_ids, columns)


def write_batch_columns(
    work_dir: Path,
    batch_index: int,
    query_offset: int,
    query_ids: Sequence[str],
    hsps: HspColumns,
) -> None:
    """Store one batch's HSP columns (replacing an earlier copy) as its index file."""
    count = len(hsps.query_index)
    arrays: dict[str, Any] = {
        "query_offset": np.array([query_offset], dtype="i8"),
        "query_index": np.fromiter(hsps.query_index, "i4", count),
        "subject": np.fromiter(hsps.subject_codes, "i4", count),
    }
    arrays["hit_count"] = np.array([_pair_count(arrays["query_index"], arrays["subject"])], "i8")
    for name, dtype in NUMERIC_FIELDS.items():
        arrays[name] = np.asarray(hsps.numbers[name]).astype(dtype, copy=False)
    for prefix, texts in (
        ("query_ids", query_ids),
        ("subject_ids", hsps.subject_ids),
        ("subject_titles", hsps.subject_titles),
    ):
        arrays[f"{prefix}_blob"], arrays[f"{prefix}_offsets"] = pack_strings(texts)
    target = batch_index_file(work_dir, batch_index)
    target.parent.mkdir(parents=True, exist_ok=True)
    draft = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part.npz")
    try:
        np.savez(draft, **arrays)
        os.replace(draft, target)
    finally:
        draft.unlink(missing_ok=True)


def index_version(work_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """What the index holds now: its batch files (each written once, replaced whole)."""
    try:
        entries = list(os.scandir(index_dir(work_dir)))
    except FileNotFoundError:
        return ()
    return tuple(
        sorted(
            (e.name, e.stat().st_mtime_ns, e.stat().st_size)
            for e in entries
            if e.name.startswith("batch_") and e.name.endswith(".npz")
        )
    )


class SortOrders:
    """A table's sort orders by name (`browse.sort_order`): kept in memory, and for a finished
    job's final index also stored beside it (memory-mapped when read back), so an order is
    computed once per job, not once per process."""

    def __init__(self, directory: Path | None = None) -> None:
        self._memory: dict[str, np.ndarray] = {}
        self._directory = directory

    def path(self, name: str) -> Path | None:
        return None if self._directory is None else self._directory / f"order.{name}.npy"

    def get(self, name: str) -> np.ndarray | None:
        order = self._memory.get(name)
        path = self.path(name)
        if order is None and path is not None and path.exists():
            order = self._memory[name] = np.load(path, mmap_mode="r")
        return order

    def put(self, name: str, order: np.ndarray) -> np.ndarray:
        path = self.path(name)
        if path is not None:
            # A read-only or full disk: the order still serves from memory.
            with contextlib.suppress(OSError):
                save_array(path, order)
        self._memory[name] = order
        return order


def save_array(path: Path, array: np.ndarray) -> None:
    """Write one .npy file whole (beside, then renamed): a reader never sees half of it."""
    draft = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part.npy")
    try:
        np.save(draft, array)
        os.replace(draft, path)
    finally:
        draft.unlink(missing_ok=True)


@dataclass
class HspTable:
    """Every indexed HSP of a job, in BLAST's order within each batch, batches in query order.

    `columns` holds NUMERIC_FIELDS plus `query_index` and `subject` (a code into
    `subject_ids` / `subject_titles`). `query_ids` maps every indexed query (with or without
    HSPs) to its id. Derived views (sort orders, hits) are cached on the table by the modules
    that make them; sort orders in `orders`.
    """

    version: tuple[tuple[str, int, int], ...]
    columns: dict[str, np.ndarray]
    subject_ids: PackedStrings
    subject_titles: PackedStrings
    query_ids: dict[int, str]
    cache: dict[str, Any] = field(default_factory=dict)
    orders: SortOrders = field(default_factory=SortOrders)

    def __len__(self) -> int:
        return len(self.columns["query_index"])

    def row(self, i: int) -> dict[str, Any]:
        """One HSP as the API shows it (HSP_FIELDS)."""
        c = self.columns
        code = int(c["subject"][i])
        out: dict[str, Any] = {
            "query_index": int(c["query_index"][i]),
            "query_id": self.query_ids.get(int(c["query_index"][i]), ""),
            "subject_id": self.subject_ids[code],
            "subject_title": self.subject_titles[code],
        }
        for name, dtype in NUMERIC_FIELDS.items():
            value = c[name][i]
            out[name] = float(value) if dtype == "f8" else int(value)
        return out


def _pair_count(query_index: np.ndarray, subject: np.ndarray) -> int:
    """Distinct (query, subject) pairs: the batch's hits (no other batch has its queries)."""
    if not len(query_index):
        return 0
    pairs = np.sort(query_index.astype("i8") << 32 | subject.astype("i8"))
    return int(np.count_nonzero(pairs[1:] != pairs[:-1])) + 1


@dataclass(frozen=True)
class IndexCounts:
    hsps: int
    hits: int  # (query, subject) pairs


def batch_counts(work_dir: Path) -> IndexCounts | None:
    """The HSPs and hits of the batches indexed so far, from each file's own counts, without
    loading the table; None when a file was written before batch files kept their hit count."""
    hsps = hits = 0
    for name, _, _ in index_version(work_dir):
        with np.load(index_dir(work_dir) / name) as data:
            if "hit_count" not in data.files:
                return None
            hsps += len(data["query_index"])
            hits += int(data["hit_count"][0])
    return IndexCounts(hsps, hits)


def load_hsp_table(work_dir: Path) -> HspTable:
    """The job's HSP index as it is now (the batches indexed so far)."""
    version = index_version(work_dir)
    parts: dict[str, list[np.ndarray]] = {}
    subject_ids: list[PackedStrings] = []
    titles: list[PackedStrings] = []
    query_ids: dict[int, str] = {}
    subject_base = 0
    for name, _, _ in version:
        with np.load(index_dir(work_dir) / name) as data:
            for column in ("query_index", *NUMERIC_FIELDS):
                parts.setdefault(column, []).append(data[column])
            parts.setdefault("subject", []).append(data["subject"] + subject_base)
            ids = PackedStrings(data["subject_ids_blob"], data["subject_ids_offsets"])
            subject_ids.append(ids)
            titles.append(
                PackedStrings(data["subject_titles_blob"], data["subject_titles_offsets"])
            )
            subject_base += len(ids)
            offset = int(data["query_offset"][0])
            queries = PackedStrings(data["query_ids_blob"], data["query_ids_offsets"])
            for i, query_id in enumerate(queries.all()):
                query_ids[offset + i] = query_id
    columns = {
        name: np.concatenate(arrays) if arrays else np.zeros(0, _dtype(name))
        for name, arrays in parts.items()
    }
    for name in ("query_index", "subject", *NUMERIC_FIELDS):
        columns.setdefault(name, np.zeros(0, _dtype(name)))
    return HspTable(
        version,
        columns,
        PackedStrings.concat(subject_ids),
        PackedStrings.concat(titles),
        query_ids,
    )


def _dtype(column: str) -> str:
    return NUMERIC_FIELDS.get(column, "i4")
