"""A job's finished batches into its HSP index, and the counts its completion records.

A batch is indexed once (`hsp_index.index_batch_table`): its columnar file, written whole and
then renamed, is the record that it is done, so nothing indexes a batch twice. The batches
that finish while others still run are indexed then, so their hits can be browsed at once.
The last ones are not indexed before the job completes: indexing a table costs ~12 ms at 2,500
HSPs, all of it between BLAST's end and the job's, while counting its HSPs and hits costs
~1.5 ms (`hsps.count_table`, the same checks of its rows). They are indexed by the first read
of the job's results (`JobService.results_index`), which builds the job's final index anyway.
A job big enough to have its final index precomputed (`final_index.PRECOMPUTE_MIN_HSPS`) has
every batch indexed before it completes, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from blastdeck.results import hsp_index
from blastdeck.results.hsps import count_table


class FinishedBatch(Protocol):
    """A batch whose hit table BLAST has written (`engines.base.BatchResult`)."""

    @property
    def index(self) -> int: ...
    @property
    def table(self) -> Path: ...
    @property
    def query_ids(self) -> Sequence[str]: ...
    @property
    def query_offset(self) -> int: ...


def index_finished(work_dir: Path, batches: Sequence[FinishedBatch]) -> None:
    """Index each batch whose table is there and whose index file is not."""
    for batch in batches:
        indexed = hsp_index.batch_index_file(work_dir, batch.index)
        if not batch.table.exists() or indexed.exists():
            continue
        hsp_index.index_batch_table(
            work_dir, batch.index, batch.table, batch.query_ids, batch.query_offset
        )


def completion_counts(
    work_dir: Path, batches: Sequence[FinishedBatch]
) -> hsp_index.IndexCounts | None:
    """The job's HSPs and hits: the indexed batches' from their files, the others' counted
    from their tables. None when a count needs the batches indexed (an index file or a table
    from before the current layout)."""
    indexed = hsp_index.batch_counts(work_dir)
    if indexed is None:
        return None
    hsps, hits = indexed.hsps, indexed.hits
    for batch in batches:
        if hsp_index.batch_index_file(work_dir, batch.index).exists():
            continue
        counted = count_table(batch.table, batch.query_ids)
        if counted is None:
            return None
        hsps, hits = hsps + counted[0], hits + counted[1]
    return hsp_index.IndexCounts(hsps, hits)
