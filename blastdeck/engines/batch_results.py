"""What a job's batches produced, for every engine: their hit tables in query order, and their
ASN.1 archives made on request.

The archives (for the XML, JSON, text and ASN.1 downloads) are made on this host from the
registered database, whatever engine ran the search: a download should not wait in a cluster's
queue, and the table-only run keeps the job itself as fast as BLAST.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from blastdeck.blast_tools import DatabaseDir
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.engines.base import BatchResult, JobResults
from blastdeck.engines.batch_plan import Batch
from blastdeck.engines.blast_process import BlastProcesses, BlastRun, storage_full


def collect_results(plan: list[Batch], database_prefix: Path) -> JobResults:
    """The batches' outputs in query order (tables of those finished so far included)."""
    batches = tuple(
        BatchResult(
            index=b.index,
            table=b.table,
            archive=b.archive,
            query_ids=b.query_ids,
            query_offset=b.query_offset,
        )
        for b in plan
    )
    return JobResults(batches, database_prefix.parent)


def make_archives(
    plan: list[Batch], processes: BlastProcesses, database_prefix: Path
) -> JobResults:
    """Run each batch without an archive again with `-outfmt 11`, in the processes' slots."""
    pending = [b for b in plan if not b.archive.exists()]
    run = BlastRun()
    where = DatabaseDir(database_prefix.parent)  # the registered copy is always there
    failures: list[tuple[Batch, dict[str, Any]]] = []

    def one(batch: Batch) -> None:
        failure = processes.run(run, batch, batch.archive_argv, where, batch.archive)
        if failure is not None:
            failures.append((batch, failure))

    threads = [threading.Thread(target=one, args=(b,), daemon=True) for b in pending]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        batch, failure = failures[0]
        if failure["storage_full"]:
            raise storage_full(batch.index, batch.archive.parent)
        raise BlastDeckError(
            ErrorCode.EXPORT_FAILED,
            f"BLAST could not write the archive of batch {batch.index} "
            f"(exit {failure['rc']}): {failure['stderr']}",
        )
    return collect_results(plan, database_prefix)
