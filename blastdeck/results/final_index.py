"""A finished job's final HSP index: every batch in one set of memory-mapped column files, with
its hits, per-query counts and its sort orders.

While a job runs its index is one file per finished batch (`hsp_index.py`), loaded and
concatenated by each reader, with sort orders computed in memory. Once all batches are in, the
exporting step writes `index/final/` once:

- `hsp.<column>.npy`, `hit.<column>.npy`: the HSP and hit tables (`hits.py`), subject codes
  made job-wide (one code per subject id, whatever batch found it);
- `str.<name>.blob.npy` / `.offsets.npy`: subject ids and titles, query ids (`query_keys.npy`
  their query indexes); `queries.<count>.npy`: each query's length, HSP and hit counts;
- `order.<kind>.<sort>.<asc|desc>.npy`: every sort the hits and HSP lists offer
  (`browse.sort_names`), both directions (a descending order keeps BLAST's ranking for its
  ties, so it is not the ascending one reversed), computed here for a job of
  `PRECOMPUTE_MIN_HSPS` or more; a smaller job's orders (and an order added later, a new sort
  column) are computed on first use and stored here then;
- `meta.json`, written last.

It is built in a hidden directory and renamed into place, so a reader sees all of it or none.
Readers map the files (`np.load(mmap_mode="r")`): loading costs milliseconds whatever the
job's size, the pages are the kernel's to share and drop, and a sort, a filter (a mask over a
column, applied to a sort order) or a deep page touches only what it reads.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np

from blastdeck.results.browse import query_counts, sort_names, sort_order
from blastdeck.results.hits import HitTable, hit_table
from blastdeck.results.hsp_index import (
    NUMERIC_FIELDS,
    HspTable,
    IndexCounts,
    PackedStrings,
    SortOrders,
    index_dir,
    index_version,
    load_hsp_table,
    pack_strings,
)

FINAL_DIR = "final"
FORMAT = 1
_META = "meta.json"
# Every sort order of a big table is computed here, once: the first page of a million HSPs in
# any order is then a read. Below this size an order takes milliseconds when first asked for
# (and is stored then, the same way), so a small job does not pay ~50 sorts up front.
PRECOMPUTE_MIN_HSPS = 100_000
STOP_CHECK_INTERVAL_S = 0.25  # how often the precomputation asks whether to stop
_HSP_COLUMNS = ("query_index", "subject", *NUMERIC_FIELDS)
_STRINGS = ("subject_ids", "subject_titles", "query_ids")
_QUERY_COUNTS = ("qlen", "hsps", "hits")


class FinalizeStopped(Exception):
    """The job was cancelled while its final index was being written (nothing was left)."""


def final_dir(work_dir: Path) -> Path:
    return index_dir(work_dir) / FINAL_DIR


def final_version(work_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """The final index's version (its meta file), or () when the job has none."""
    try:
        stat = (final_dir(work_dir) / _META).stat()
    except FileNotFoundError:
        return ()
    return ((FINAL_DIR, stat.st_mtime_ns, stat.st_size),)


def current_version(work_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """What a reader would load now: the final index once there is one, else the batches."""
    return final_version(work_dir) or index_version(work_dir)


def load_current(work_dir: Path) -> HspTable:
    return load_final(work_dir) if final_version(work_dir) else load_hsp_table(work_dir)


def finalize(work_dir: Path, stop: Callable[[], bool] | None = None) -> IndexCounts:
    """Write the job's final index from its batch files (once: an existing one is kept) and
    return its counts (from its meta file: a job's completion needs no more, and loading the
    index back cost a small job ~7 ms; `load_final` reads it). `stop` is asked between the
    parts; when it says so the draft is removed and `FinalizeStopped` raised."""
    if final_version(work_dir):
        return final_counts(work_dir)
    table = _job_wide_subjects(load_hsp_table(work_dir))
    draft = index_dir(work_dir) / f".{FINAL_DIR}-{uuid.uuid4().hex}"
    try:
        draft.mkdir(parents=True)
        _write_tables(table, draft)
        table.orders = SortOrders(draft)  # sort_order stores each order it makes there
        if len(table) >= PRECOMPUTE_MIN_HSPS:
            _precompute_orders(table, stop)
        elif stop is not None and stop():
            raise FinalizeStopped
        meta = {"format": FORMAT, "hsps": len(table), "hits": len(hit_table(table))}
        (draft / _META).write_text(json.dumps(meta))
        try:
            os.rename(draft, final_dir(work_dir))
        except OSError:
            if not final_version(work_dir):  # not another writer's finished copy: a failure
                raise
    finally:
        shutil.rmtree(draft, ignore_errors=True)
    return final_counts(work_dir)


def final_counts(work_dir: Path) -> IndexCounts:
    meta = json.loads((final_dir(work_dir) / _META).read_text())
    return IndexCounts(meta["hsps"], meta["hits"])


def _precompute_orders(table: HspTable, stop: Callable[[], bool] | None) -> None:
    next_check = 0.0
    for kind in ("hsp", "hit"):
        for sort in sort_names(kind):
            for descending in (False, True):
                if stop is not None and time.monotonic() >= next_check:
                    if stop():
                        raise FinalizeStopped
                    next_check = time.monotonic() + STOP_CHECK_INTERVAL_S
                sort_order(table, kind, sort, descending)


def drop_batch_files(work_dir: Path) -> None:
    """Remove the per-batch files a final index replaces (readers of a final index never
    open them)."""
    if not final_version(work_dir):
        return
    for name, _, _ in index_version(work_dir):
        (index_dir(work_dir) / name).unlink(missing_ok=True)


def discard(work_dir: Path) -> None:
    """Remove the final index (a job cancelled after it was written shows its batches)."""
    shutil.rmtree(final_dir(work_dir), ignore_errors=True)


def load_final(work_dir: Path) -> HspTable:
    """The final index, memory-mapped, with its hits and query counts in the table's cache."""
    directory = final_dir(work_dir)
    version = final_version(work_dir)

    def read(name: str) -> np.ndarray:
        return np.asarray(np.load(directory / f"{name}.npy", mmap_mode="r"))

    strings = {
        name: PackedStrings(read(f"str.{name}.blob"), read(f"str.{name}.offsets"))
        for name in _STRINGS
    }
    keys = read("query_keys").tolist()
    table = HspTable(
        version,
        {name: read(f"hsp.{name}") for name in _HSP_COLUMNS},
        strings["subject_ids"],
        strings["subject_titles"],
        dict(zip(keys, strings["query_ids"].all(), strict=True)),
        orders=SortOrders(directory),
    )
    hit_columns = [p.name[4:-4] for p in directory.glob("hit.*.npy")]
    table.cache["hits"] = HitTable({name: read(f"hit.{name}") for name in hit_columns}, table)
    table.cache["query_counts"] = tuple(read(f"queries.{name}") for name in _QUERY_COUNTS)
    return table


def _write_tables(table: HspTable, directory: Path) -> None:
    """Plain writes: `directory` is the draft, renamed into place whole (`save_array`'s own
    rename per file cost a small job ~5 ms for its ~40 files)."""
    for name in _HSP_COLUMNS:
        np.save(directory / f"hsp.{name}.npy", table.columns[name])
    for name, column in hit_table(table).columns.items():
        np.save(directory / f"hit.{name}.npy", column)
    for name, counts in zip(_QUERY_COUNTS, query_counts(table), strict=True):
        np.save(directory / f"queries.{name}.npy", counts)
    keys = sorted(table.query_ids)
    packed = {
        "subject_ids": table.subject_ids,
        "subject_titles": table.subject_titles,
        "query_ids": _packed([table.query_ids[k] for k in keys]),
    }
    for name, strings in packed.items():
        np.save(directory / f"str.{name}.blob.npy", strings.blob)
        np.save(directory / f"str.{name}.offsets.npy", strings.offsets)
    np.save(directory / "query_keys.npy", np.asarray(keys, dtype="i8"))


def _job_wide_subjects(table: HspTable) -> HspTable:
    """The table with one subject code per subject id (batch files number them per batch)."""
    names = table.subject_ids.all()
    titles = table.subject_titles.all()
    codes: dict[str, int] = {}
    remap = np.empty(len(names), dtype="i4")
    kept_titles: list[str] = []
    for old, name in enumerate(names):
        code = codes.get(name)
        if code is None:
            code = codes[name] = len(codes)
            kept_titles.append(titles[old])
        remap[old] = code
    columns = dict(table.columns)
    columns["subject"] = remap[columns["subject"]] if len(remap) else columns["subject"]
    return HspTable(
        table.version,
        columns,
        _packed(list(codes)),
        _packed(kept_titles),
        table.query_ids,
    )


def _packed(texts: list[str]) -> PackedStrings:
    return PackedStrings(*pack_strings(texts))
