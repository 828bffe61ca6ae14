"""Hits: a job's results one row per (query, subject), as NCBI's descriptions table shows them.

A hit gathers every HSP of one query against one subject. Its columns are NCBI's: Max score
(the best HSP's bit score), Total score (the sum of all its HSPs' bit scores), Query cover
(`qcovs`: the query share covered by all its HSPs), E value (the best), Per. ident (the highest
of its HSPs), Acc. len (the subject's length), and its HSP count. `rank` is the hit's place in
BLAST's own order for its query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from blastdeck.results.hsp_index import HspTable

HIT_FIELDS: tuple[str, ...] = (
    "query_index",
    "query_id",
    "subject_id",
    "subject_title",
    "max_score",
    "total_score",
    "qcovs",
    "evalue",
    "pident",
    "slen",
    "staxid",
    "hsps",
)


@dataclass
class HitTable:
    """Column arrays, one element per hit, in BLAST's order (queries in input order)."""

    columns: dict[str, np.ndarray]  # query_index, subject, rank and the numeric HIT_FIELDS
    hsps: HspTable

    def __len__(self) -> int:
        return len(self.columns["query_index"])

    def row(self, i: int) -> dict[str, Any]:
        c = self.columns
        code = int(c["subject"][i])
        query_index = int(c["query_index"][i])
        return {
            "query_index": query_index,
            "query_id": self.hsps.query_ids.get(query_index, ""),
            "subject_id": self.hsps.subject_ids[code],
            "subject_title": self.hsps.subject_titles[code],
            "max_score": float(c["max_score"][i]),
            "total_score": float(c["total_score"][i]),
            "qcovs": int(c["qcovs"][i]),
            "evalue": float(c["evalue"][i]),
            "pident": float(c["pident"][i]),
            "slen": int(c["slen"][i]),
            "staxid": int(c["staxid"][i]),
            "hsps": int(c["hsps"][i]),
        }


def hit_table(hsps: HspTable) -> HitTable:
    """The hits of an HSP table (cached on it: the table is immutable once loaded)."""
    cached = hsps.cache.get("hits")
    if cached is None:
        cached = hsps.cache["hits"] = _group(hsps)
    return cached


def _group(hsps: HspTable) -> HitTable:
    c = hsps.columns
    n = len(hsps)
    if n == 0:
        empty = {
            name: np.zeros(0, "f8") for name in ("max_score", "total_score", "evalue", "pident")
        }
        ints = ("query_index", "subject", "rank", "qcovs", "slen", "staxid", "hsps")
        return HitTable({**empty, **{name: np.zeros(0, "i8") for name in ints}}, hsps)
    subjects = int(c["subject"].max()) + 1
    # A query lives in one batch and subject codes are per batch, so this key is one hit.
    key = c["query_index"].astype("i8") * subjects + c["subject"]
    order = np.argsort(key, kind="stable")  # HSPs of a hit together, in BLAST's order
    sorted_key = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    first = order[starts]  # each hit's first HSP in the table: its place in BLAST's order
    counts = np.diff(np.r_[starts, n])
    by_blast_order = np.argsort(first, kind="stable")

    def reduce(ufunc: np.ufunc, column: str) -> np.ndarray:
        return ufunc.reduceat(c[column][order], starts)[by_blast_order]

    columns = {
        "query_index": c["query_index"][first][by_blast_order].astype("i8"),
        "subject": c["subject"][first][by_blast_order].astype("i8"),
        "rank": np.arange(len(starts), dtype="i8"),
        "max_score": reduce(np.maximum, "bitscore"),
        # BLAST writes bit scores with at most one decimal: a sum of them has one too (float
        # addition left 477.00000000000006 in the API's JSON)
        "total_score": np.round(reduce(np.add, "bitscore"), 1),
        "qcovs": reduce(np.maximum, "qcovs").astype("i8"),
        "evalue": reduce(np.minimum, "evalue"),
        "pident": reduce(np.maximum, "pident"),
        "slen": c["slen"][first][by_blast_order].astype("i8"),
        "staxid": c["staxid"][first][by_blast_order].astype("i8"),
        "hsps": counts[by_blast_order].astype("i8"),
    }
    return HitTable(columns, hsps)
