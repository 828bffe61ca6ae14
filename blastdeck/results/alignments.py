"""Pairwise alignments (query / midline / subject per HSP) for the web page's Alignments tab.

The hit table the job indexes has no sequences, so alignments come from BLAST JSON (outfmt 15):
the job's JSON download when it exists (its reports are one per query in input order; split
once into one small file per query), else one query searched again alone
(`engines/query_runs.py`). Either way one query's HSPs are kept in `q<index>.json`, so a page of
alignments reads only its query's file.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from blastdeck.files import write_atomically

DONE_MARKER = "split.done"

# BLAST JSON HSP keys -> our names; keys BLAST omits for a program (frames for blastn,
# strands for protein searches, positives for nucleotides) are left out.
_HSP_FIELDS = {
    "num": "hsp_num",
    "bit_score": "bitscore",
    "score": "score",
    "evalue": "evalue",
    "identity": "identity",
    "positive": "positive",
    "gaps": "gaps",
    "align_len": "align_len",
    "query_from": "qstart",
    "query_to": "qend",
    "hit_from": "sstart",
    "hit_to": "send",
    "query_strand": "query_strand",
    "hit_strand": "hit_strand",
    "query_frame": "query_frame",
    "hit_frame": "hit_frame",
    "qseq": "qseq",
    "midline": "midline",
    "hseq": "hseq",
}


def query_reports(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The `search` object of each query's report, in input order."""
    for entry in document.get("BlastOutput2", []):
        yield entry["report"]["results"]["search"]


def alignments_of(search: dict[str, Any], query_id: str) -> list[dict[str, Any]]:
    """Every HSP of one query's report, best subject first (BLAST's own order)."""
    rows: list[dict[str, Any]] = []
    for hit in search.get("hits", []):
        description = (hit.get("description") or [{}])[0]
        subject = {
            "query_id": query_id,
            "subject_id": description.get("accession") or description.get("id", ""),
            "subject_title": description.get("title", ""),
            "slen": hit.get("len"),
        }
        for hsp in hit.get("hsps", []):
            fields = {ours: hsp[theirs] for theirs, ours in _HSP_FIELDS.items() if theirs in hsp}
            rows.append(subject | fields)
    return rows


def split_by_query(json_export: Path, out_dir: Path, query_ids: dict[int, str]) -> None:
    """Write `q<index>.json` for every query that has hits (ids as the hit index names them),
    then the marker that says the split is whole."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with json_export.open() as handle:
        document = json.load(handle)
    for index, search in enumerate(query_reports(document)):
        if index in query_ids:
            rows = alignments_of(search, query_ids[index])
            write_atomically(out_dir / f"q{index}.json", json.dumps(rows))
    write_atomically(out_dir / DONE_MARKER, "")


def is_split(out_dir: Path) -> bool:
    return (out_dir / DONE_MARKER).exists()


def write_query_alignments(out_dir: Path, query_index: int, rows: list[dict[str, Any]]) -> None:
    """One query's file, written whole (two requests for the same query may both write it)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"q{query_index}.json"
    draft = out_dir / f".{target.name}.{uuid.uuid4().hex}.part"
    try:
        draft.write_text(json.dumps(rows))
        os.replace(draft, target)
    finally:
        draft.unlink(missing_ok=True)


def has_query(out_dir: Path, query_index: int) -> bool:
    return (out_dir / f"q{query_index}.json").exists()


def read_query_alignments(out_dir: Path, query_index: int) -> list[dict[str, Any]]:
    path = out_dir / f"q{query_index}.json"
    return json.loads(path.read_text()) if path.exists() else []
