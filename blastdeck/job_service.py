"""Job operations shared by the REST API and the CLI: submit, cancel, delete, export."""

from __future__ import annotations

import contextlib
import functools
import math
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from blastdeck.auth import EVERYONE, Viewer
from blastdeck.clusters import DEFAULT_CLUSTER, ClusterRegistry
from blastdeck.config import Settings
from blastdeck.databases import DatabaseCatalog
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.fasta import parse_query, to_fasta
from blastdeck.domain.job_titles import clean_title, default_title
from blastdeck.domain.option_rules import check_query_loc_reaches_queries
from blastdeck.domain.options import validate_options
from blastdeck.domain.pipeline_model import JobSource, Phase, Step, StepStatus, is_terminal
from blastdeck.domain.programs import (
    Program,
    parse_program,
    shape_of,
)
from blastdeck.domain.rate_limit import RateLimiter
from blastdeck.domain.submission import SubmitRequest
from blastdeck.engines.base import JobResults
from blastdeck.engines.batch_plan import UNLIMITED_QUERY
from blastdeck.engines.query_runs import search_one_query
from blastdeck.executors.base import Executor
from blastdeck.job_databases import job_hit_fasta, searched_databases
from blastdeck.job_downloads import JobDownloads
from blastdeck.job_import import imported_results
from blastdeck.job_taxa import JobTaxa, resolve_job_taxa, split_taxon_options, write_job_taxid_list
from blastdeck.notifications import Notifications
from blastdeck.pipeline import Pipeline
from blastdeck.query_lookup import query_from_ids
from blastdeck.results import alignments, final_index
from blastdeck.results.batch_indexing import index_finished
from blastdeck.results.columns import (
    Source,
    TaxonCells,
    check_program,
    column_rows,
    needs,
    stream_columns,
)
from blastdeck.results.export_renders import ExportFile
from blastdeck.results.formats import ExportFormat
from blastdeck.results.formatted_columns import formatted_rows
from blastdeck.results.hsp_index import (
    HspTable,
    index_version,
    write_batch_index,
)
from blastdeck.results.hsps import with_query_cover
from blastdeck.results.job_indexes import JobIndexes
from blastdeck.results.per_query import PerQueryZip
from blastdeck.results.taxon_summary import summary_of
from blastdeck.results.taxonomy_report import ReportEntry, kept_report
from blastdeck.store.jobs import JobStore
from blastdeck.store.legacy_hsps import LegacyHspStore
from blastdeck.store.models import BlastDatabase, Job
from blastdeck.store.new_job import NewJob
from blastdeck.taxonomy import Taxonomy

BLAST_DEFAULT_MAX_TARGET_SEQS = 500


class JobService:
    def __init__(
        self,
        settings: Settings,
        jobs: JobStore,
        legacy_hsps: LegacyHspStore,
        databases: DatabaseCatalog,
        clusters: ClusterRegistry,
        pipeline: Pipeline,
        executor: Executor,
        notifications: Notifications,
        taxonomy: Taxonomy | None = None,
    ) -> None:
        self._settings, self._notifications = settings, notifications
        self._taxonomy = taxonomy
        self._jobs = jobs
        self._legacy_hsps = legacy_hsps
        self._indexes = JobIndexes()
        self._databases = databases
        self._clusters = clusters
        self._pipeline = pipeline
        self._executor = executor
        self._downloads = JobDownloads(
            settings.jobs_dir, jobs, self._results, settings.max_export_renders
        )
        # In this process: the API is one process in both modes (workers never take submits).
        self._submit_rate = RateLimiter(settings.submit_rate_per_minute, settings.submit_burst)

    def submit(self, request: SubmitRequest, viewer: Viewer = EVERYONE) -> Job:
        """Validate everything a job needs, store it (owned by the viewer), and schedule it."""
        self._check_rate(viewer)
        program = parse_program(_text(request.program, "program"))
        databases = searched_databases(self._databases, program, request, viewer)
        database = databases[0]
        molecule, limits = shape_of(program).query, self._settings.query_limits
        query, read_by_id = query_from_ids(
            request.query,
            molecule,
            databases,
            lambda: self._databases.list(viewer),
            limits.max_sequences,
        )
        records = parse_query(query, molecule, limits)
        letters = sum(len(r.sequence) for r in records)
        if letters > self._settings.max_query_letters:
            raise BlastDeckError(
                ErrorCode.QUERY_TOO_LARGE,
                f"The query has {letters:,} letters in all; a job may have at most "
                f"{self._settings.max_query_letters:,}. Split it into several jobs.",
                field="query",
            )
        blast_options, taxa = split_taxon_options(request.options)
        options = self._cap_hits(validate_options(program, blast_options))
        check_query_loc_reaches_queries(options, [(r.id, len(r.sequence)) for r in records])
        entrez = request.entrez_query
        job_taxa = self._job_taxa(taxa, entrez, databases) if taxa or entrez else None
        self._check_quota(viewer)
        cluster = self._clusters.get(_text(request.cluster or DEFAULT_CLUSTER, "cluster"))
        namespace = self._clusters.resolve_namespace(cluster, request.namespace)
        title = clean_title(request.title) or default_title(records)
        job = self._jobs.create(
            NewJob(
                title=title,
                program=program.value,
                database=database.name,
                databases=[d.name for d in databases] if len(databases) > 1 else None,
                cluster=cluster.name,
                namespace=namespace,
                options=options,
                query_fasta=to_fasta(records),
                query_count=len(records),
                query_letters=letters,
                owner_id=viewer.user_id,
                taxon_filter=job_taxa.record if job_taxa else None,
                notify=self._notifications.targets_for_submit(request.notify, viewer),
            )
        )
        if read_by_id:
            self._jobs.note(job.id, "query_read_by_id", read_by_id)
        if job_taxa is not None and job_taxa.taxids is not None:
            try:
                write_job_taxid_list(self._settings.jobs_dir / job.id, job_taxa.taxids)
            except BaseException:
                self._jobs.delete(job.id)  # a job without its list would search everything
                raise
        try:
            self._executor.enqueue(job.id)
        except BlastDeckError as exc:  # kept as queued: the reconcile enqueues it later
            self._jobs.note(job.id, "enqueue_failed", exc.message, code=exc.code)
            raise
        return job

    def _job_taxa(
        self, taxa: dict[str, object], entrez_query: str | None, databases: list[BlastDatabase]
    ) -> JobTaxa | None:
        """The job's taxon filter resolved and expanded for its databases (job_taxa.py)."""
        if self._taxonomy is None:
            raise BlastDeckError(
                ErrorCode.TAXONOMY_UNAVAILABLE, "This server has no taxonomy to filter by."
            )
        taxids = [self._databases.taxid_counts(database) for database in databases]
        return resolve_job_taxa(taxa, entrez_query, databases, taxids, self._taxonomy)

    def _check_rate(self, viewer: Viewer) -> None:
        """Submits per signed-in user (all their tokens together). With auth off there is one
        local user and no limit."""
        if viewer.user_id is None:
            return
        wait_s = self._submit_rate.take(viewer.user_id, time.monotonic())
        if wait_s is not None:
            seconds = max(1, math.ceil(wait_s))
            raise BlastDeckError(
                ErrorCode.RATE_LIMITED,
                f"Too many submits: at most {self._settings.submit_burst} at once and "
                f"{self._settings.submit_rate_per_minute:g} a minute; try again in {seconds} s.",
                detail={"retry_after_s": str(seconds)},
            )

    def _cap_hits(self, options: dict[str, Any]) -> dict[str, Any]:
        """Keep at most `max_hits_per_query` subjects per query: refuse more, and ask BLAST for
        no more than that when its own default (500) would exceed it."""
        cap = self._settings.max_hits_per_query
        asked = options.get("max_target_seqs")
        if asked is not None and asked > cap:
            raise BlastDeckError(
                ErrorCode.INVALID_OPTION_VALUE,
                f"max_target_seqs {asked} is above this server's limit of {cap} hits per query.",
                field="options.max_target_seqs",
            )
        if asked is None and cap < BLAST_DEFAULT_MAX_TARGET_SEQS:
            return {**options, "max_target_seqs": cap}
        return options

    def _check_quota(self, viewer: Viewer) -> None:
        """Per-user caps on unfinished jobs (all jobs count as one user's when auth is off)."""
        queued, started = self._jobs.count_unfinished(viewer.user_id)
        limits = (
            (queued, self._settings.max_queued_jobs_per_user, "queued"),
            (started, self._settings.max_active_jobs_per_user, "running"),
        )
        for count, limit, what in limits:
            if count >= limit:
                raise BlastDeckError(
                    ErrorCode.QUOTA_EXCEEDED,
                    f"You have {count} {what} jobs, the most allowed is {limit}; submit again "
                    "when some have finished.",
                )

    def get(self, job_id: str, viewer: Viewer = EVERYONE) -> Job:
        """The job, if it exists and the viewer may see it; another user's job is 'not found'
        (so ids are never confirmed to exist)."""
        job = self._jobs.get(job_id) if isinstance(job_id, str) and len(job_id) <= 64 else None
        if job is None or not viewer.can_see(job.owner_id):
            raise BlastDeckError(ErrorCode.JOB_NOT_FOUND, f"No job with id {str(job_id)[:64]!r}.")
        return job

    def query_fasta(self, job_id: str, viewer: Viewer = EVERYONE) -> str:
        """The job's queries as submitted (normalized FASTA)."""
        job = self.get(job_id, viewer)
        return self._jobs.query_fasta(job.id) or ""

    def cancel(self, job_id: str, viewer: Viewer = EVERYONE) -> Job:
        job = self.get(job_id, viewer)
        if self._jobs.request_cancel(job.id) is None:
            raise BlastDeckError(
                ErrorCode.JOB_ALREADY_FINISHED,
                f"Job {job.id} already ended ({job.phase}); there is nothing to cancel.",
            )
        return self.get(job.id)

    def delete(self, job_id: str, viewer: Viewer = EVERYONE) -> None:
        job = self.get(job_id, viewer)
        if not is_terminal(Phase(job.phase)):
            raise BlastDeckError(
                ErrorCode.JOB_STILL_ACTIVE,
                f"Job {job.id} is still {job.phase}; cancel it before deleting it.",
            )
        job_dir = self._settings.jobs_dir / job.id
        self._jobs.delete(job.id, make_room=lambda: shutil.rmtree(job_dir, ignore_errors=True))
        # A download streaming from a render of the job: that render removes its files.
        if not self._downloads.job_deleted(job.id):
            # its archive runs end now, not when BLAST is done (an imported job has no engine)
            if self._downloads.locks.exporting(job.id):
                with contextlib.suppress(Exception):
                    ctx = self._pipeline.context(job)
                    self._clusters.engine_for(ctx.cluster).cancel(ctx, job.engine_handle)
            shutil.rmtree(job_dir, ignore_errors=True)
        self._indexes.forget(job.id)
        self._downloads.locks.forget(job.id)

    def completed(self, job_id: str, viewer: Viewer = EVERYONE) -> Job:
        job = self.get(job_id, viewer)
        if job.phase == Phase.COMPLETED:
            self._check_results_there(job)
            return job
        if job.phase == Phase.CANCELLED:
            why = f"Job {job.id} was cancelled; a cancelled job has no results."
        elif job.phase == Phase.FAILED:
            why = f"Job {job.id} failed ({job.error_code}); a failed job has no results."
        else:
            why = f"Job {job.id} is {job.phase}; its results are ready once it has completed."
        raise BlastDeckError(ErrorCode.RESULTS_NOT_READY, why)

    def config_preview(self, job_id: str, viewer: Viewer = EVERYONE) -> str:
        """The exact commands (and, e.g., SLURM scripts) the job's Configure step wrote."""
        job = self.get(job_id, viewer)
        configured = any(
            row.key == Step.CONFIGURING and row.status == StepStatus.COMPLETED for row in job.steps
        )
        if not configured:
            raise BlastDeckError(
                ErrorCode.RESULTS_NOT_READY,
                f"Job {job.id} is {job.phase}; its configuration exists once Configure is done.",
            )
        ctx = self._pipeline.context(job)
        return self._clusters.engine_for(ctx.cluster).config_preview(ctx)

    def hit_tables(self, job_id: str, viewer: Viewer = EVERYONE) -> list[Path]:
        """The batch hit tables of a completed job, in query order."""
        return [b.table for b in self._results(self.completed(job_id, viewer), False).batches]

    def export(
        self, job_id: str, fmt: ExportFormat | PerQueryZip, viewer: Viewer = EVERYONE
    ) -> Path:
        """The job's results as one document (or, `PerQueryZip`, a zip of one report per
        query named after the job id); rendered on first request (once, however many ask at
        the same time: the others wait for it), then cached (`job_downloads.py`)."""
        return self._downloads.export(self.completed(job_id, viewer), fmt)

    def export_columns(
        self,
        job_id: str,
        columns: tuple[str, ...],
        as_csv: bool,
        taxonomy: Taxonomy | None,
        viewer: Viewer = EVERYONE,
    ) -> Iterator[bytes]:
        """The tsv or csv download with the chosen columns (`results/columns.py`), streamed; the
        job and its program are checked before any byte, archives made if missing."""
        job = self.completed(job_id, viewer)
        check_program(columns, job.program)
        taxa = TaxonCells(taxonomy, lambda: self.results_index(job.id, viewer).columns["staxid"])
        if not needs(columns, Source.FORMATTER):
            rows = column_rows(self.hit_tables(job_id, viewer), columns, taxa)
            return stream_columns(rows, columns, as_csv)
        try:
            with self._downloads.locks.held(job.id, self._settings.jobs_dir / job.id):
                done = self._results(job, archives=True)
        except BaseException:
            self._downloads.deleted_meanwhile(job.id)
            raise
        rows = formatted_rows([b.archive for b in done.batches], done.database_dir, columns, taxa)
        return stream_columns(rows, columns, as_csv)

    def _results(self, job: Job, archives: bool) -> JobResults:
        if job.source == JobSource.IMPORTED:  # no engine ran it: its files (job_import.py)
            return imported_results(self._settings.jobs_dir, self._databases, job, archives)
        ctx = self._pipeline.context(job)
        engine = self._clusters.engine_for(ctx.cluster)
        return engine.make_archives(ctx) if archives else engine.collect(ctx)

    def open_export(
        self, job_id: str, fmt: ExportFormat | PerQueryZip, viewer: Viewer = EVERYONE
    ) -> ExportFile:
        """The export, open: once opened it reads whole even if the job is deleted meanwhile.
        On first request it is read while it is made (its `size` is then None)."""
        return self._downloads.open(self.completed(job_id, viewer), fmt)

    def hit_sequences(
        self,
        job_id: str,
        region: str,
        subjects: str | None,
        query_index: int | None,
        viewer: Viewer = EVERYONE,
    ) -> Iterator[bytes]:
        """The `format=fasta` download (`job_databases.job_hit_fasta`), checked whole first: a
        query the job does not have is not found, as for its taxonomy report."""
        job = self.get(job_id, viewer)
        table = self.results_index(job.id, viewer)
        if query_index is not None and query_index not in table.query_ids:
            raise _no_query(job, f"at index {query_index}", "query_index")
        jobs_dir = self._settings.jobs_dir
        return job_hit_fasta(self._databases, jobs_dir, job, table, region, subjects, query_index)

    def results_index(self, job_id: str, viewer: Viewer = EVERYONE) -> HspTable:
        """The job's HSP index as it is now: the batches finished so far while it runs, all of
        them once it has completed (empty before its first batch)."""
        job = self.get(job_id, viewer)
        work_dir = self._settings.jobs_dir / job.id
        build = None
        if job.phase == Phase.COMPLETED:
            self._check_results_there(job)
            build = lambda: self._build_index(job)  # noqa: E731
        return self._indexes.table(job.id, work_dir, build)

    def _check_results_there(self, job: Job) -> None:
        """A completed job's directory is its results: gone (removed outside BlastDeck, or by
        a delete on a full disk that could not be written), every read says so."""
        if not (self._settings.jobs_dir / job.id).is_dir():
            raise BlastDeckError(
                ErrorCode.RESULTS_MISSING,
                f"The results of job {job.id} are gone: its directory in the data dir "
                f"(jobs/{job.id}) was removed. Delete the job, or submit its search again.",
            )

    def _build_index(self, job: Job) -> None:
        """The final index of a completed job that has none yet (a small job's is made here, at
        the first read): from its batch index files, its batch tables for the batches it
        completed without indexing (`batch_indexing.py`), else (a job completed before HSPs
        were indexed in columns, its tables gone) its stored rows."""
        work_dir = self._settings.jobs_dir / job.id
        self._index_batches(job, work_dir)
        final_index.finalize(work_dir)
        final_index.drop_batch_files(work_dir)

    def _index_batches(self, job: Job, work_dir: Path) -> None:
        """Index the batches not indexed yet, from their tables or, for a job completed
        before HSPs were indexed in columns whose tables are gone, its stored rows."""
        try:
            ctx = self._pipeline.context(job)
            results = self._clusters.engine_for(ctx.cluster).collect(ctx)
        except BlastDeckError:  # e.g. its cluster is gone: its index files are all there is
            if index_version(work_dir):
                return
            raise
        if results.batches and all(b.table.exists() for b in results.batches):
            index_finished(work_dir, results.batches)
            return
        if index_version(work_dir):
            return  # indexed while it ran; the tables went later
        molecule = shape_of(Program(job.program)).query
        records = parse_query(self._jobs.query_fasta(job.id) or "", molecule, UNLIMITED_QUERY)
        query_ids = [r.id for r in records]
        rows = with_query_cover(self._legacy_hsps.rows(job.id))
        write_batch_index(ctx.work_dir, 0, 0, query_ids, rows)

    def alignments(
        self, job_id: str, query_index: int, viewer: Viewer = EVERYONE
    ) -> list[dict[str, Any]]:
        """Every HSP of one query (by its place in the job) with its aligned sequences. Split
        from the job's JSON download when that exists; else that query is searched again alone
        (`engines/query_runs.py`: about a second, whatever the job's size). Kept per query; a
        query without HSPs has none."""
        job = self.completed(job_id, viewer)
        table = self.results_index(job.id, viewer)
        if not (table.columns["query_index"] == query_index).any():
            return []
        out_dir = self._settings.jobs_dir / job.id / "exports" / "alignments"
        if alignments.has_query(out_dir, query_index):
            return alignments.read_query_alignments(out_dir, query_index)
        json_export = self._settings.jobs_dir / job.id / "exports" / "results.json"
        if job.source == JobSource.IMPORTED:  # split from its JSON download (from its archive)
            json_export = self.export(job.id, ExportFormat.JSON, viewer)
        try:
            if json_export.exists():
                with self._downloads.locks.held(job.id, self._settings.jobs_dir / job.id):
                    if not alignments.is_split(out_dir):
                        alignments.split_by_query(json_export, out_dir, table.query_ids)
            else:
                self._align_one(job, query_index, table.query_ids[query_index], out_dir)
        except BaseException:
            self._downloads.deleted_meanwhile(job.id)
            raise
        return alignments.read_query_alignments(out_dir, query_index)

    def taxonomy_report(
        self,
        job_id: str,
        taxonomy: Taxonomy,
        *,
        query_index: int | None = None,
        query_id: str | None = None,
        rank: str | None = None,
        viewer: Viewer = EVERYONE,
    ) -> ReportEntry:
        """The job's hits by organism (`results/taxonomy_report.py`), for one query (by its
        place, or the first with `query_id`) or the whole job; made from the summary kept
        beside the index, and kept with the loaded index with its encodings (a repeat costs
        nothing)."""
        job = self.get(job_id, viewer)
        table = self.results_index(job.id, viewer)
        if query_index is None and query_id is not None:
            found = [i for i, qid in sorted(table.query_ids.items()) if qid == query_id]
            if not found:
                raise _no_query(job, f"with the id {query_id[:80]!r}", "query_id")
            query_index = found[0]
        if query_index is not None and query_index not in table.query_ids:
            raise _no_query(job, f"at index {query_index}", "query_index")
        partial = job.phase != Phase.COMPLETED
        summary = functools.partial(summary_of, table, self._settings.jobs_dir / job.id)
        return kept_report(table, summary, taxonomy, job.id, query_index, rank, partial)

    def _align_one(self, job: Job, query_index: int, query_id: str, out_dir: Path) -> None:
        molecule = shape_of(Program(job.program)).query
        record = parse_query(self._jobs.query_fasta(job.id) or "", molecule, UNLIMITED_QUERY)[
            query_index
        ]
        search = search_one_query(self._pipeline.context(job), record, out_dir)
        alignments.write_query_alignments(
            out_dir, query_index, alignments.alignments_of(search, query_id)
        )


def _no_query(job: Job, which: str, field: str) -> BlastDeckError:
    why = "" if job.phase == Phase.COMPLETED else " (yet: the job has not completed)"
    return BlastDeckError(
        ErrorCode.NOT_FOUND, f"Job {job.id} has no query {which}{why}.", field=field
    )


def _text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BlastDeckError(
            ErrorCode.INVALID_REQUEST, f"{field} must be a non-empty string.", field=field
        )
    return value.strip()
