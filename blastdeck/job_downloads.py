"""A finished job's whole-file downloads: each made once, the first time it is asked for, in
the job's `exports/` directory, and read while it is made (`results/export_renders.py`).

Rules, and why:
- One export of a job at a time, across threads and processes (`export_locks.py`): renders
  share the job's archives and scratch space.
- Under that lock nobody else writes the job's exports, so drafts and scratch dirs found there
  are a killed render's leftovers and are removed.
- A job deleted before its download's first byte: that download answers 404 `job_not_found`.
  Deleted while a download already streams from its render: the render ends whole for it, and
  the job's files go when it ends (as a finished file stays readable until its last reader
  closes it).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.engines.base import JobResults
from blastdeck.results.export_locks import ExportLocks
from blastdeck.results.export_renders import ExportFile, ExportRenders, Rendering, open_finished
from blastdeck.results.exports import render_export
from blastdeck.results.formats import ExportFormat, needs_archives
from blastdeck.results.per_query import PerQueryZip, render_per_query_zip
from blastdeck.store.jobs import JobStore
from blastdeck.store.models import Job

# What a job's results are made from: its batches' files, with archives made when asked.
ResultsOf = Callable[[Job, bool], JobResults]


class JobDownloads:
    def __init__(
        self, jobs_dir: Path, jobs: JobStore, results_of: ResultsOf, max_renders: int
    ) -> None:
        self._jobs_dir, self._jobs, self._results_of = jobs_dir, jobs, results_of
        self.locks = ExportLocks()
        self._renders = ExportRenders(max_renders)

    def export(self, job: Job, fmt: ExportFormat | PerQueryZip) -> Path:
        """The finished export's path; made first if it is not there (the caller waits)."""
        out = self._out(job, fmt)
        return out if out.exists() else self._made(job, fmt).wait()

    def open(self, job: Job, fmt: ExportFormat | PerQueryZip) -> ExportFile:
        """The export open for reading: whole when it was made before, else followed while it
        is made (a zip is read whole: its writer goes back to fill in its headers)."""
        try:
            if (out := self._out(job, fmt)).exists():  # made before: renamed there whole
                return open_finished(out)
            rendering = self._made(job, fmt)
            if isinstance(fmt, PerQueryZip):
                return open_finished(rendering.wait())
            return rendering.follow()
        except FileNotFoundError:
            self.deleted_meanwhile(job.id)
            raise

    def job_deleted(self, job_id: str) -> bool:
        """Called when the job is deleted: True when a download streams from one of its
        renders, which then removes the job's files when it ends."""
        return self._renders.job_deleted(job_id)

    def deleted_meanwhile(self, job_id: str) -> None:
        """When the job was deleted while its export was made: remove whatever the render
        still wrote after the delete, and say what happened."""
        if self._jobs.get(job_id) is None:
            shutil.rmtree(self._jobs_dir / job_id, ignore_errors=True)
            raise BlastDeckError(
                ErrorCode.JOB_NOT_FOUND,
                f"Job {job_id} was deleted while its download was being prepared.",
            )

    def _out(self, job: Job, fmt: ExportFormat | PerQueryZip) -> Path:
        return self._jobs_dir / job.id / "exports" / f"results.{fmt.extension}"

    def _made(self, job: Job, fmt: ExportFormat | PerQueryZip) -> Rendering:
        """The export's render under way, or a new one."""
        make = lambda rendering: self._make(job, fmt, rendering)  # noqa: E731
        return self._renders.start(job.id, self._out(job, fmt), make)

    def _make(self, job: Job, fmt: ExportFormat | PerQueryZip, rendering: Rendering) -> None:
        out = rendering.out
        try:
            with self.locks.held(job.id, self._jobs_dir / job.id) as exports:
                if out.exists():
                    return  # made meanwhile, by another process
                _remove_leftovers(exports)
                archives = isinstance(fmt, PerQueryZip) or needs_archives(fmt)
                results = self._results_of(job, archives)
                paths = [b.archive for b in results.batches], results.database_dir, out
                query_loc = job.options.get("query_loc")
                if isinstance(fmt, PerQueryZip):
                    render_per_query_zip(fmt, job.id, *paths, query_loc=query_loc)
                else:
                    tables = [b.table for b in results.batches]
                    render_export(
                        fmt, tables, *paths, on_draft=rendering.drafting, query_loc=query_loc
                    )
        except BaseException:
            rendering.finish()
            self.deleted_meanwhile(job.id)
            raise
        if rendering.finish():  # deleted while a reader streamed: its files were left to us
            shutil.rmtree(self._jobs_dir / job.id, ignore_errors=True)
        elif not rendering.streaming:
            self.deleted_meanwhile(job.id)


def _remove_leftovers(exports: Path) -> None:
    for leftover in exports.glob(".*"):
        if leftover.name.endswith(".part"):
            leftover.unlink(missing_ok=True)
        elif leftover.name.startswith(".export-"):
            shutil.rmtree(leftover, ignore_errors=True)
