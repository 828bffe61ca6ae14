"""Runs the steps of one job through its cluster's engine, recording every transition.

`run(job_id)` is the whole unit of work an executor schedules. It picks up wherever the stored
job is (a restart resumes from the last finished step) and returns either `FINISHED` or a
`RetryAfter` when the job must wait for its cluster's submit slot: the executor re-schedules it
without holding a worker, and without spending any retry budget.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import random
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import OperationalError

from blastdeck.blast_tools import BlastToolError
from blastdeck.clusters import ClusterRegistry
from blastdeck.config import Settings
from blastdeck.database_files import missing_files_reason
from blastdeck.databases import DatabaseCatalog, database_files_missing
from blastdeck.domain.errors import BlastDeckError, ErrorCategory, ErrorCode
from blastdeck.domain.pipeline_model import DONE_STEP_STATUSES, STEPS, Phase, Step, StepStatus
from blastdeck.domain.programs import Molecule, Program
from blastdeck.domain.wording import counted, hits_and_hsps
from blastdeck.engines.base import DatabaseRef, Engine, JobContext
from blastdeck.files import write_atomically
from blastdeck.job_metrics import JobMetrics
from blastdeck.job_taxa import taxid_list_arg
from blastdeck.lease_heartbeat import LeaseHeartbeat
from blastdeck.locks import SubmitLock, new_lock_token, submit_lock_key
from blastdeck.results import final_index, hsp_index
from blastdeck.results.batch_indexing import completion_counts, index_finished
from blastdeck.step_records import StepRecords
from blastdeck.store.disk_full import database_trouble
from blastdeck.store.job_steps import StepEnd
from blastdeck.store.jobs import JobStore
from blastdeck.store.models import Job, utcnow

log = logging.getLogger(__name__)

CANCEL_CHECK_INTERVAL_S = 0.25
# A database that drops out under a running job (a restart, a failover) is waited for in place,
# with this back-off, for up to this long: the job's BLAST processes keep running meanwhile.
DB_RETRY_FIRST_S = 0.5
DB_RETRY_MAX_S = 5.0
DB_OUTAGE_GRACE_S = 300.0
# How often a job waiting on a paused cluster looks again (so a resume is seen within ~1 s).
PAUSE_RECHECK_S = 1.0


@dataclass(frozen=True)
class Finished:
    pass


@dataclass(frozen=True)
class RetryAfter:
    seconds: float


FINISHED = Finished()
Outcome = Finished | RetryAfter


class _Cancelled(Exception):
    pass


class _LeaseLost(Exception):
    """Another process took the job over (this one stalled past its lease)."""


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        jobs: JobStore,
        databases: DatabaseCatalog,
        clusters: ClusterRegistry,
        lock: SubmitLock,
        metrics: JobMetrics | None = None,
    ) -> None:
        self._settings = settings
        self._metrics = metrics or JobMetrics(jobs, None)
        self._jobs = jobs
        self._databases = databases
        self._clusters = clusters
        self._lock = lock
        # Leases this process still holds on jobs it gave back during a database outage, so
        # their retry can take them back (a new owner would be locked out until they expire).
        self._owners: dict[str, str] = {}

    def run(self, job_id: str) -> Outcome:
        """Run the job as far as it can go now; only one process runs a job at a time."""
        owner = self._owners.pop(job_id, None)
        owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        lease_s = self._settings.lease_s
        try:
            job = self._jobs.claim_and_get(job_id, owner, lease_s, self._clusters.record_to_pin)
        except OperationalError as exc:
            log.warning("%s; job %s will be tried again", database_trouble(exc), job_id)
            return RetryAfter(self._settings.retry_backoff_s)
        if job is None:
            return FINISHED  # ended already, or another live process is running it
        heartbeat = LeaseHeartbeat(self._jobs, job_id, owner, lease_s)
        heartbeat.start()
        try:
            return self._run_through_outages(job, owner, heartbeat)
        except OperationalError as exc:
            log.warning("%s mid-job; job %s will be resumed", database_trouble(exc), job_id)
            self._owners[job_id] = owner
            return RetryAfter(self._settings.retry_backoff_s)
        finally:
            heartbeat.stop()
            with contextlib.suppress(OperationalError):
                self._jobs.release_claim(job_id, owner)

    def _run_through_outages(self, job: Job, owner: str, heartbeat: LeaseHeartbeat) -> Outcome:
        """Run the claimed job; when the database drops out mid-job, wait for it and carry on
        from the stored job with the same lease, rather than give the job up: nothing else
        would pick it up again before its lease expired (in embedded mode, before a restart)."""
        deadline = time.monotonic() + DB_OUTAGE_GRACE_S
        delay = DB_RETRY_FIRST_S
        job_id = job.id
        while True:
            try:
                return self._run_claimed(job, heartbeat)
            except OperationalError as exc:
                if time.monotonic() + delay > deadline:
                    raise
                trouble = database_trouble(exc)
                log.warning("%s mid-job %s; trying again in %g s", trouble, job_id, delay)
            while True:
                time.sleep(delay)
                delay = min(delay * 2, DB_RETRY_MAX_S)
                try:
                    claimed = self._jobs.claim_and_get(
                        job_id, owner, self._settings.lease_s, self._clusters.record_to_pin
                    )
                except OperationalError:
                    if time.monotonic() + delay > deadline:
                        raise
                    continue
                if claimed is None:
                    return FINISHED  # it ended, or another process took it over meanwhile
                job = claimed
                break

    def _run_claimed(self, job: Job, heartbeat: LeaseHeartbeat) -> Outcome:
        """Run `job` (as read when this run claimed it) from wherever it is."""
        job_id = job.id
        if job.phase in (Phase.COMPLETED, Phase.FAILED, Phase.CANCELLED):
            return FINISHED
        ctx: JobContext | None = None
        engine: Engine | None = None
        records = StepRecords(self._jobs, job_id)  # what waits is written with how it ends
        try:
            ctx = self.context(job)
            engine = self._clusters.engine_for(ctx.cluster)
            if job.cancel_requested:  # with its engine: what an earlier run started is stopped
                raise _Cancelled
            return self._walk(job, ctx, engine, heartbeat, records)
        except _LeaseLost:
            log.warning("job %s was taken over by another process", job_id)
        except _Cancelled:
            if engine is not None and ctx is not None:
                engine.cancel(ctx, self._jobs.engine_handle(job_id))
            self._jobs.finish_cancelled(job_id, records.take())
            self._metrics.job_ended(job_id, ctx, None)
        except BlastDeckError as exc:
            if exc.category is ErrorCategory.TRANSIENT:
                records.write()
                retry = self._retry_later(job_id, exc)
                if retry is not None:
                    return retry
            self._fail(records, exc.code, exc.message, engine, ctx)
        except BlastToolError as exc:
            self._fail(records, ErrorCode.BLAST_SEARCH_FAILED, str(exc), engine, ctx)
        except OperationalError:
            raise
        except OSError as exc:
            gone = _files_missing(ctx) if ctx is not None else None
            if gone is not None:  # they went while a step read them
                self._fail(records, gone.code, gone.message, engine, ctx)
                return FINISHED
            code = ErrorCode.STORAGE_FULL if exc.errno == errno.ENOSPC else ErrorCode.INTERNAL_ERROR
            self._fail(records, code, f"{type(exc).__name__}: {exc}", engine, ctx)
        except Exception as exc:
            log.exception("job %s failed unexpectedly", job_id)
            self._fail(
                records, ErrorCode.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}", engine, ctx
            )
        finally:  # nothing of this run is written later (a lost lease, a database outage)
            records.take()
        return FINISHED

    def _retry_later(self, job_id: str, exc: BlastDeckError) -> RetryAfter | None:
        """Transient failures retry with exponential back-off until the attempt budget is spent."""
        attempt = self._jobs.count_attempt(job_id)
        if attempt >= self._settings.max_attempts:
            return None
        delay = self._settings.retry_backoff_s * 2 ** (attempt - 1)
        self._jobs.note(
            job_id,
            "retry_scheduled",
            f"{exc.message} — retrying in {delay:g} s (attempt {attempt + 1} of "
            f"{self._settings.max_attempts})",
            code=exc.code,
        )
        return RetryAfter(delay)

    def context(self, job: Job) -> JobContext:
        refs = []
        for name in job.database_names:
            row = self._databases.get(name)
            refs.append(DatabaseRef(row.name, Path(row.path), Molecule(row.molecule)))
        work_dir = self._settings.jobs_dir / job.id
        return JobContext(
            job_id=job.id,
            program=Program(job.program),
            database=refs[0],
            options=dict(job.options or {}),
            cluster=self._clusters.for_job(job),
            namespace=job.namespace,
            work_dir=work_dir,
            taxid_list=taxid_list_arg(job.taxon_filter, work_dir),
            databases=tuple(refs) if len(refs) > 1 else (),
        )

    # -- the steps -------------------------------------------------------------------------------

    def _walk(
        self,
        job: Job,
        ctx: JobContext,
        engine: Engine,
        heartbeat: LeaseHeartbeat,
        records: StepRecords,
    ) -> Outcome:
        """Each step not done yet, in order. A step's end is written with the next step's start
        (the quick steps' transitions together: `step_records.py`); until then it is `ended`."""
        status = {row.key: StepStatus(row.status) for row in job.steps}
        ended: StepEnd | None = None
        for step in STEPS[:-1]:
            if status[step.value] in DONE_STEP_STATUSES:
                continue
            if heartbeat.lost:
                raise _LeaseLost
            resuming = status[step.value] is StepStatus.RUNNING
            result = self._step(step, job, ctx, engine, resuming, heartbeat, ended, records)
            if not isinstance(result, StepEnd):
                return result or FINISHED  # completed (its end written with it), or waiting
            ended = result
        return FINISHED  # not reached: the export step ends with the job's completion

    def _step(
        self,
        step: Step,
        job: Job,
        ctx: JobContext,
        engine: Engine,
        resuming: bool,
        heartbeat: LeaseHeartbeat,
        ended: StepEnd | None,
        records: StepRecords,
    ) -> StepEnd | Outcome | None:
        """Run one step: how it ended (written by whatever comes next), an outcome that stops
        the walk, or None when the job has completed."""
        if step is Step.SUBMITTING:
            return self._submit(job, ctx, engine, ended, records)
        self._start(records, step, ended)
        if step is Step.PREPARING:
            return self._prepare(job, ctx)
        if step is Step.WARMING_UP:
            states = [(db, engine.warmup_check(ctx.one(db))) for db in ctx.searched]
            if len(states) == 1:
                detail = states[0][1].detail
            else:
                detail = "; ".join(f"{db.name}: {state.detail}" for db, state in states)
            return StepEnd(step, f"{detail} on {ctx.cluster.name}")
        if step is Step.CONFIGURING:
            total = engine.configure(ctx)
            return StepEnd(step, f"{total} batch(es) written", progress=(0, total))
        if step is Step.STAGING_DB:
            return self._stage(ctx, engine)
        if step is Step.RUNNING:
            return self._run(job, ctx, engine, resuming, heartbeat, ended)
        self._export(job, ctx, engine, records)
        return None

    def _start(self, records: StepRecords, step: Step, ended: StepEnd | None = None) -> None:
        if not records.start(step, ended):
            raise _Cancelled

    def _prepare(self, job: Job, ctx: JobContext) -> StepEnd:
        gone = _files_missing(ctx)
        if gone is not None:
            raise gone
        ctx.work_dir.mkdir(parents=True, exist_ok=True)
        write_atomically(ctx.query_path, self._jobs.query_fasta(job.id) or "")
        queries, letters = counted(job.query_count, "query"), counted(job.query_letters, "letter")
        return StepEnd(Step.PREPARING, f"{queries}, {letters}")

    def _stage(self, ctx: JobContext, engine: Engine) -> StepEnd:
        """Each database staged unless its copy is current; the step is skipped when every
        one was (several databases: the message says which were staged, which reused)."""
        done = []
        staged = False
        for db in ctx.searched:
            one = ctx.one(db)
            state = engine.warmup_check(one)
            if state.warm:
                done.append(f"warm copy of {db.name} reused at {state.location}")
            else:
                staged = True
                location = engine.stage_db(one)
                done.append(f"{db.name} staged to {location}" if ctx.databases else location)
        if not staged:
            return StepEnd(Step.STAGING_DB, "; ".join(done), skipped=True)
        if ctx.databases:
            return StepEnd(Step.STAGING_DB, "; ".join(done))
        return StepEnd(Step.STAGING_DB, f"staged to {done[0]}")

    def _submit(
        self, job: Job, ctx: JobContext, engine: Engine, ended: StepEnd | None, records: StepRecords
    ) -> StepEnd | Outcome:
        # `job` was read when this run claimed it; only the lease holder changes what is read here
        if job.engine_handle:  # submitted before a restart: never submit twice
            if ended is not None:
                records.end(ended)
            return StepEnd(Step.SUBMITTING, "already submitted")
        was_waiting = job.phase in (Phase.WAITING_FOR_SUBMIT_SLOT, Phase.PAUSED)
        defer = not getattr(engine, "submit_leaves_process", True)  # a plugin's: written first
        if not was_waiting and not records.start(Step.SUBMITTING, ended, defer=defer):
            raise _Cancelled
        key = submit_lock_key(ctx.cluster.name, ctx.namespace, self._settings.lock_prefix)
        pause = self._clusters.pause_of(ctx.cluster.name, ctx.namespace)
        if pause is not None:  # waits before the lock, with no deadline: a pause is deliberate
            self._write_before_waiting(records)
            note = f"{pause.message()}; waiting to be resumed"
            if not self._jobs.set_waiting(job.id, pause.waiting_for(ctx.namespace, key), note):
                raise _Cancelled
            return RetryAfter(PAUSE_RECHECK_S * random.uniform(0.5, 1.0))
        token = new_lock_token(job.id)
        if not self._lock.acquire(key, token, self._settings.lock_ttl_s):
            self._write_before_waiting(records)
            return self._wait_for_slot(job, ctx, key)
        slot_wait = job.phase == Phase.WAITING_FOR_SUBMIT_SLOT and job.wait_started_at
        waited = utcnow() - job.wait_started_at if slot_wait else None
        self._metrics.slot_taken(ctx, waited.total_seconds() if waited else 0.0)
        try:
            if was_waiting:
                self._start(records, Step.SUBMITTING)  # back from waiting: phase submitting again
            handle = engine.submit(ctx, self._settings.submit_timeout_s)
        finally:
            self._lock.release(key, token)
        where = f"{ctx.cluster.name}/{ctx.namespace}"  # the handle is written with this end
        return StepEnd(Step.SUBMITTING, f"submitted to {where} ({handle})", engine_handle=handle)

    def _write_before_waiting(self, records: StepRecords) -> None:
        """The transitions that wait (a deferred submit's start), before the job says what it
        waits for: written after it, they would set its phase back."""
        if not records.write():
            raise _Cancelled

    def _wait_for_slot(self, job: Job, ctx: JobContext, key: str) -> Outcome:
        holder = self._lock.holder(key)
        waited_s = (utcnow() - job.wait_started_at).total_seconds() if job.wait_started_at else 0.0
        where = f"cluster {ctx.cluster.name} / namespace {ctx.namespace}"
        if waited_s > self._settings.submit_wait_deadline_s:
            raise BlastDeckError(
                ErrorCode.BLAST_SUBMIT_SLOT_WAIT_DEADLINE_EXCEEDED,
                f"Waited {waited_s:.0f} s for the submit slot of {where}; giving up.",
            )
        holder_job = holder.job_id if holder else None
        waiting_for = {
            "what": "submit_slot",
            "cluster": ctx.cluster.name,
            "namespace": ctx.namespace,
            "lock_key": key,
            "holder_job_id": holder_job,
        }
        message = f"another submit is in progress on {where}" + (
            f" (job {holder_job}); waiting for the submit slot" if holder_job else "; waiting"
        )
        if not self._jobs.set_waiting(job.id, waiting_for, message):
            raise _Cancelled
        # Back off longer the longer we wait, with jitter so waiters do not stampede.
        base = min(self._settings.submit_backoff_max_s, 0.2 + waited_s / 4)
        return RetryAfter(base * random.uniform(0.5, 1.0))

    def _run(
        self,
        job: Job,
        ctx: JobContext,
        engine: Engine,
        resuming: bool,
        heartbeat: LeaseHeartbeat,
        submitted: StepEnd | None,
    ) -> StepEnd:
        handle = submitted.engine_handle if submitted is not None else None
        handle = handle or self._jobs.engine_handle(job.id)
        if resuming and handle:
            handle = engine.resume(ctx, handle)
            self._jobs.set_engine_handle(job.id, handle)
            self._jobs.note(
                job.id, "resumed", "resumed running batches after a restart", Step.RUNNING
            )
        if handle is None:
            raise BlastDeckError(ErrorCode.WORKER_LOST, "the job was never handed to its cluster")
        last_done, next_cancel_check = -1, time.monotonic() + CANCEL_CHECK_INTERVAL_S
        while True:
            progress = engine.poll(ctx, handle)
            if progress.done != last_done:
                # Indexed first: a reader told of a finished batch finds its hits at once. The
                # last ones are counted, not indexed, before the job completes (_export).
                if not progress.finished:
                    index_finished(ctx.work_dir, engine.collect(ctx).batches)
                last_done = progress.done
                if progress.error is not None or not progress.finished:
                    self._jobs.set_progress(job.id, progress.done, progress.total)
            if progress.error is not None:
                raise progress.error
            if progress.finished:  # the last count is written with the step's end
                break
            if time.monotonic() >= next_cancel_check:
                if heartbeat.lost:
                    raise _LeaseLost
                if self._jobs.cancel_requested(job.id):
                    raise _Cancelled
                next_cancel_check = time.monotonic() + CANCEL_CHECK_INTERVAL_S
            engine.wait(ctx, handle, max(0.0, next_cancel_check - time.monotonic()))
        done = (progress.done, progress.total)
        return StepEnd(Step.RUNNING, f"{last_done} batch(es) finished", progress=done)

    def _export(self, job: Job, ctx: JobContext, engine: Engine, records: StepRecords) -> None:
        results = engine.collect(ctx)
        missing = [b for b in results.batches if not b.table.exists()]
        if missing:
            raise BlastDeckError(
                ErrorCode.EXPORT_FAILED, f"{len(missing)} batch(es) finished without results"
            )
        counts = completion_counts(ctx.work_dir, results.batches)
        if counts is None or counts.hsps >= final_index.PRECOMPUTE_MIN_HSPS:
            if not records.write():  # a long export shows at once
                raise _Cancelled
            index_finished(ctx.work_dir, results.batches)
            counts = self._finalize(job, ctx)
        # A smaller job's last batches and final index are written at the first read of its
        # results, as for a job older than final indexes (`JobService.results_index`): its
        # completion need not wait for them (batch_indexing.py).
        ended = StepEnd(Step.EXPORTING_RESULTS, hits_and_hsps(counts.hits, counts.hsps))
        if not self._jobs.finish_completed(job.id, counts.hsps, counts.hits, ended, records.take()):
            final_index.discard(ctx.work_dir)
            raise _Cancelled
        self._metrics.job_ended(job.id, ctx, results)
        final_index.drop_batch_files(ctx.work_dir)

    def _finalize(self, job: Job, ctx: JobContext) -> hsp_index.IndexCounts:
        """A big job's final index, every sort precomputed, whole before the job says completed;
        a cancel meanwhile leaves none of it (the batches stay, as for any cancelled job)."""
        stop = lambda: self._jobs.cancel_requested(job.id)  # noqa: E731
        try:
            return final_index.finalize(ctx.work_dir, stop=stop)
        except final_index.FinalizeStopped:
            raise _Cancelled from None

    def _fail(
        self,
        records: StepRecords,
        code: ErrorCode,
        message: str,
        engine: Engine | None,
        ctx: JobContext | None,
    ) -> None:
        """Fail the job, after what waited (in the failure's transaction: on a full disk it
        is the one that finds room, once the engine's cancel has cleared the batches)."""
        if engine is not None and ctx is not None:
            # no batch keeps running after a failure
            engine.cancel(ctx, self._jobs.engine_handle(records.job_id))
        self._jobs.finish_failed(records.job_id, code, message, transitions=records.take())
        self._metrics.job_ended(records.job_id, ctx, None)


def _files_missing(ctx: JobContext) -> BlastDeckError | None:
    """`database_files_missing` for the first of the job's databases whose files are gone."""
    for db in ctx.searched:
        reason = missing_files_reason(db.prefix)
        if reason is not None:
            return database_files_missing(db.name, db.prefix, reason)
    return None
