"""A job's taxonomy report, like NCBI's BLAST taxonomy reports: the lineage tree of the hits'
organisms with the hits (query-subject pairs) and distinct subjects under each node, and the
organism table (organism, taxid, rank, hits, subjects, best bit score, best e-value, best
identity); for one query or the whole job, optionally rolled up to a standard rank.

Built from the job's `TaxonSummary` (numbers grouped by taxid with numpy), then the taxonomy
is asked about the distinct taxids only. Taxid 0 stands for subjects without a known organism
(none in the database, or unknown to the taxonomy); it has no name.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from blastdeck.results.hsp_index import HspTable
from blastdeck.results.taxon_summary import TaxonSummary
from blastdeck.taxonomy import STANDARD_RANKS, Taxonomy

_STATS = ("hits", "subjects", "best_bitscore", "best_evalue", "best_pident")
TSV_COLUMNS = (
    "taxid",
    "scientific_name",
    "common_name",
    "rank",
    "hits",
    "subjects",
    "best_bitscore",
    "best_evalue",
    "best_pident",
    "lineage",
)


MAX_CACHED_REPORTS = 32  # taxonomy reports kept per loaded index (query x rank)


def taxonomy_report(
    summary: TaxonSummary, taxonomy: Taxonomy, query_index: int | None, rank: str | None
) -> dict[str, Any]:
    stats = _per_taxid(summary, query_index)
    organisms = taxonomy.organisms(stats["staxid"])
    rows = organisms.rows_for(stats["staxid"])
    current = organisms.lineage.current[rows]
    target = current
    if rank is not None:
        # Rolled up: the ancestor at that rank; for a lineage without one (an "uncultured
        # bacterium" has no phylum) the nearest at a rank above; a taxon with none stays.
        target = np.zeros(len(rows), dtype=np.int64)
        for above in reversed(STANDARD_RANKS[: STANDARD_RANKS.index(rank) + 1]):
            target = np.where(target > 0, target, organisms.lineage.rank_taxids[above][rows])
        target = np.where(target > 0, target, current)
    rolled = _group(target, stats)
    # Organisms as found are (but for merged taxids) the taxa already looked up.
    asked = organisms.lineage.taxids
    reuse = rank is None and bool(np.isin(rolled["staxid"], asked).all())
    named = organisms if reuse else taxonomy.organisms(rolled["staxid"])
    table = _organism_rows(rolled, named)
    return {
        "query_index": query_index,
        "rank": rank,
        "hits": int(stats["hits"].sum()),
        "subjects": int(stats["subjects"].sum()),
        "tree": _tree(rolled, named, taxonomy),
        "organisms": table,
    }


def _per_taxid(summary: TaxonSummary, query_index: int | None) -> dict[str, np.ndarray]:
    """Hits, subjects and best scores per subject taxid, for one query or the whole job."""
    if query_index is not None:
        lo, hi = np.searchsorted(summary.query_index, [query_index, query_index + 1])
        part = slice(int(lo), int(hi))
        return {
            "staxid": summary.staxid[part],
            "hits": summary.hits[part],
            "subjects": summary.hits[part],  # one query: each hit is a distinct subject
            "best_bitscore": summary.best_bitscore[part],
            "best_evalue": summary.best_evalue[part],
            "best_pident": summary.best_pident[part],
        }
    grouped = _group(summary.staxid, vars(summary))
    at = np.searchsorted(summary.job_staxid, grouped["staxid"])
    grouped["subjects"] = summary.job_subjects[at] if len(at) else np.zeros(0, "i8")
    return grouped


def _group(keys: np.ndarray, stats: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rows with the same key summed (hits, subjects: a subject has one taxid, so subjects
    of different taxa never overlap) or reduced to their best."""
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    if not len(k):
        return {name: np.zeros(0, "i8" if name in ("staxid", "hits", "subjects") else "f8")
                for name in ("staxid", "hits", "subjects", "best_bitscore", "best_evalue",
                             "best_pident")}  # fmt: skip
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    out = {"staxid": k[starts].astype("i8")}
    for name, ufunc in (
        ("hits", np.add),
        ("subjects", np.add),
        ("best_bitscore", np.maximum),
        ("best_evalue", np.minimum),
        ("best_pident", np.maximum),
    ):
        if name in stats:
            out[name] = ufunc.reduceat(np.asarray(stats[name])[order], starts)
    return out


def _organism_rows(rolled: dict[str, np.ndarray], named) -> list[dict[str, Any]]:
    """The organism table, best bit score first (then more hits, then name)."""
    lineage = named.lineage
    rows = named.rows_for(rolled["staxid"]).tolist()
    columns = {name: rolled[name].tolist() for name in _STATS}
    ranked = list(zip(*(lineage.rank_names[rank] for rank in STANDARD_RANKS), strict=True))
    current = lineage.current.tolist()
    out = []
    for i, row in enumerate(rows):
        out.append(
            {
                "taxid": current[row],
                "scientific_name": lineage.names[row],
                "common_name": named.common_names[row],
                "rank": lineage.ranks[row],
                **{name: columns[name][i] for name in _STATS},
                "lineage": [name for name in ranked[row] if name],
            }
        )
    out.sort(key=lambda o: (-o["best_bitscore"], -o["hits"], o["scientific_name"] or "\uffff"))
    return out


def _tree(rolled: dict[str, np.ndarray], named, taxonomy: Taxonomy) -> list[dict[str, Any]]:
    """The lineage tree in pre-order: each organism under its ancestors at the standard ranks
    (ranks a lineage lacks are skipped), children with more hits first. Each node counts the
    hits and distinct subjects of every organism at or under it."""
    lineage = named.lineage
    rows = named.rows_for(rolled["staxid"])
    # Plain lists: indexing numpy arrays one cell at a time costs ~10x more.
    paths = np.stack([lineage.rank_taxids[r][rows] for r in STANDARD_RANKS], axis=1).tolist()
    owns = lineage.current[rows].tolist()
    parent: dict[int, int] = {}
    hits: dict[int, int] = {}
    subjects: dict[int, int] = {}
    for path, own, own_hits, own_subjects in zip(
        paths, owns, rolled["hits"].tolist(), rolled["subjects"].tolist(), strict=True
    ):
        path = [t for t in path if t]
        if not path or path[-1] != own:
            path.append(own)  # below species (a strain), or a taxon of no standard rank
        above = -1  # -1: the report's root
        for node in path:
            parent.setdefault(node, above)
            hits[node] = hits.get(node, 0) + own_hits
            subjects[node] = subjects.get(node, 0) + own_subjects
            above = node
    nodes = taxonomy.lineage_names(list(parent))
    at = dict(zip(nodes.taxids.tolist(), range(len(nodes)), strict=True))
    children: dict[int, list[int]] = {}
    for node, above in parent.items():
        children.setdefault(above, []).append(node)
    out: list[dict[str, Any]] = []
    stack = [(child, 0) for child in _by_hits(children.get(-1, []), hits, nodes, at)][::-1]
    while stack:
        node, depth = stack.pop()
        row = at[node]
        out.append(
            {
                "taxid": node,
                "name": nodes.names[row],
                "rank": nodes.ranks[row],
                "parent_taxid": parent[node] if parent[node] > 0 else None,
                "depth": depth,
                "hits": hits[node],
                "subjects": subjects[node],
            }
        )
        below = _by_hits(children.get(node, []), hits, nodes, at)
        stack.extend((child, depth + 1) for child in reversed(below))
    return out


def _by_hits(taxa: list[int], hits: dict[int, int], nodes, at: dict[int, int]) -> list[int]:
    return sorted(taxa, key=lambda t: (-hits[t], nodes.names[at[t]] or "\uffff"))


def report_tsv(report: dict[str, Any]) -> str:
    """The organism table as TSV (a header line, then one organism a line; the lineage as
    NCBI writes it, names joined by '; ')."""
    sink = io.StringIO()
    writer = csv.writer(sink, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(TSV_COLUMNS)
    for organism in report["organisms"]:
        values = {**organism, "lineage": "; ".join(organism["lineage"])}
        writer.writerow(["" if values[c] is None else values[c] for c in TSV_COLUMNS])
    return sink.getvalue()


class ReportEntry:
    """A report as kept with the loaded index, with its JSON and TSV bytes made once (a
    report of thousands of organisms is megabytes of JSON: encoding it per request would
    cost more than making it)."""

    def __init__(self, report: dict[str, Any]) -> None:
        self.report = report
        self._encoded: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def encoded(self, fmt: Literal["json", "tsv"]) -> bytes:
        with self._lock:
            data = self._encoded.get(fmt)
            if data is None:
                text = report_tsv(self.report) if fmt == "tsv" else json.dumps(self.report)
                data = self._encoded[fmt] = text.encode()
            return data


def kept_report(
    table: HspTable,
    summary: Callable[[], TaxonSummary],
    taxonomy: Taxonomy,
    job_id: str,
    query_index: int | None,
    rank: str | None,
    partial: bool,
) -> ReportEntry:
    """The report, kept with the loaded index with its encodings (a repeat costs nothing; at
    most MAX_CACHED_REPORTS per index, the oldest dropped first)."""
    key = f"taxonomy_report:{query_index}:{rank}:{partial}"
    entry = table.cache.get(key)
    if entry is None:
        report = {
            "job_id": job_id,
            "query_id": table.query_ids.get(query_index) if query_index is not None else None,
            "partial": partial,
            **taxonomy_report(summary(), taxonomy, query_index, rank),
        }
        reports = [k for k in table.cache if k.startswith("taxonomy_report:")]
        for old in reports[: max(0, len(reports) - MAX_CACHED_REPORTS + 1)]:
            del table.cache[old]
        entry = table.cache[key] = ReportEntry(report)
    return entry
