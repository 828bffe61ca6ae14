"""One query searched again, alone, for its pairwise alignments (the web page's Alignments tab).

A job's BLAST writes only its hit table, which has no aligned sequences. Rather than make the
whole job's BLAST JSON (a search of every batch again, then a document of gigabytes for a
million HSPs) to show one query, this searches that one query with the job's own command line
(`batch_plan.blast_argv`: same program, database, options) into BLAST JSON (outfmt 15): about a
second and memory bounded by one query's HSPs whatever the job's size. BLAST computes each
query's statistics on its own (its effective search space, its masking), so its HSPs are the
ones the job found for it. It runs on this host against the registered database, like the
downloads' archive runs, whatever engine ran the search.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from blastdeck.blast_tools import BlastToolError, run_tool
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.fasta import QueryRecord, to_fasta
from blastdeck.engines.base import JobContext
from blastdeck.engines.batch_plan import blast_argv

JSON_OUTFMT = "15"
TIMEOUT_S = 600.0


def search_one_query(ctx: JobContext, record: QueryRecord, scratch: Path) -> dict[str, Any]:
    """BLAST's JSON report (`BlastOutput2[0].report.results.search`) of one query."""
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".query-", dir=scratch) as tmp:
        fasta, out = Path(tmp) / "query.fa", Path(tmp) / "report.json"
        fasta.write_text(to_fasta([record]))
        argv = blast_argv(ctx, fasta, JSON_OUTFMT, out)
        try:
            run_tool(
                ctx.program.value,
                argv[1:],
                database_dir=ctx.registered_dir(),
                timeout=TIMEOUT_S,
            )
            with out.open() as handle:
                document = json.load(handle)
        except (BlastToolError, OSError, ValueError) as exc:
            raise BlastDeckError(
                ErrorCode.EXPORT_FAILED, f"BLAST could not align query {record.id!r}: {exc}"
            ) from exc
    return document["BlastOutput2"][0]["report"]["results"]["search"]
