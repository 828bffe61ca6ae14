"""What a job's batches produced, for every engine: their hit tables in query order, and their
ASN.1 archives made on request.

The archives (for the XML, JSON, text and ASN.1 downloads) are made on this host from the
registered database, whatever engine ran the search: a download should not wait in a cluster's
queue, and the table-only run keeps the job itself as fast as BLAST. A local cluster with
`archive_with_search` wrote them in the search itself: there is nothing left to run.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from blastdeck.blast_tools import DatabaseDir
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.engines.base import BatchResult, JobResults
from blastdeck.engines.batch_plan import Batch
from blastdeck.engines.blast_process import BlastProcesses, BlastRun, kill_recorded, storage_full


def collect_results(plan: list[Batch], where: DatabaseDir) -> JobResults:
    """The batches' outputs in query order (tables of those finished so far included)."""
    batches = tuple(
        BatchResult(
            index=b.index,
            table=b.table,
            archive=b.archive,
            query_ids=b.query_ids,
            query_offset=b.query_offset,
            cpu_file=b.cpu_file,
        )
        for b in plan
    )
    return JobResults(batches, where.path, where.blastdb)


class ArchiveRuns:
    """Archive runs for downloads, made on this host in the given processes' slots, and
    tracked: when this process stops they end with it (no BLAST outlives its server), and the
    leftovers of a process that died mid-export are killed before a new run starts."""

    def __init__(self, processes: BlastProcesses) -> None:
        self._processes = processes
        self._runs: set[BlastRun] = set()
        self._mutex = threading.Lock()
        self._stopping = False

    def make(self, plan: list[Batch], work_dir: Path, where: DatabaseDir) -> JobResults:
        """Run each batch without an archive again with `-outfmt 11`. Only for a job that has
        ended: the pid files it clears would otherwise be its running search's."""
        run = BlastRun()
        with self._mutex:
            if self._stopping:
                raise _stopping()
            self._runs.add(run)
        try:
            kill_recorded(work_dir)  # an earlier process's archive run, cut off by its death
            _run_archives(plan, self._processes, run, where)
        finally:
            with self._mutex:
                self._runs.discard(run)
        if run.cancelled:
            raise _stopping()
        return collect_results(plan, where)

    def stop_all(self) -> None:
        with self._mutex:
            self._stopping = True
            runs = list(self._runs)
        for run in runs:
            run.cancel()


def _stopping() -> BlastDeckError:
    return BlastDeckError(
        ErrorCode.SERVER_STOPPING, "The server is stopping; ask again once it is back."
    )


def _run_archives(
    plan: list[Batch], processes: BlastProcesses, run: BlastRun, where: DatabaseDir
) -> None:
    """`where`: the registered databases (`JobContext.registered_dir`), always there."""
    pending = [b for b in plan if not b.archive.exists()]
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
