"""The `local` engine: BLAST+ as subprocesses on this host.

The query set is split into batches of whole sequences (`batch_plan.py`) that run over the
cluster's slots (one BLAST process per slot, `blast_process.py`), each writing its hit table;
results are read in query order (`batch_results.py`). Everything the run needs is in the job's
work dir (`plan.json`, batch FASTA files, one `.pid`/`.failed` file per batch), so a restarted
process can tell what finished and re-run only the rest.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from collections import deque
from pathlib import Path

from blastdeck.blast_tools import BlastToolError, DatabaseDir, tool_path
from blastdeck.database_files import missing_files_reason
from blastdeck.databases import database_files_missing, storage_name
from blastdeck.domain.clusters import Cluster
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.search_split import BATCH_LETTERS_SETTING, parse_batch_letters
from blastdeck.engines.base import (
    NAMESPACES_SETTING_HELP,
    EngineHealth,
    EngineKind,
    Fingerprint,
    JobContext,
    JobResults,
    Progress,
    StagedCopy,
    WarmState,
    warm_state,
)
from blastdeck.engines.batch_plan import (
    ARCHIVE_WITH_SEARCH_SETTING,
    Batch,
    PlanCache,
    parse_archive_with_search,
    plan_preview,
    write_batch_plan,
)
from blastdeck.engines.batch_results import ArchiveRuns, collect_results
from blastdeck.engines.blast_process import (
    MEMORY_LIMIT_SETTING,
    BlastProcesses,
    BlastRun,
    failure_error,
    kill_recorded,
    memory_limit_mb,
)
from blastdeck.engines.slots import HostSlots
from blastdeck.engines.staging import (
    STAGE_MARKER,
    remove_staged,
    stage_on_host,
    staged_fingerprint,
)

# How long a submit waits for its runners' first BLAST processes to start (a start takes ~1 ms
# when the runner gets a slot at once; one waiting for a slot another job holds is not waited for).
PROCESS_START_WAIT_S = 0.02
# How long a cancel waits for its killed BLAST processes to be gone (they go in milliseconds;
# the bound is for a runner that is somehow stuck: the cancel still ends).
CANCEL_WAIT_S = 5.0


class LocalEngine:
    submit_leaves_process = False  # its BLAST processes: killed by a cancel or the next submit

    def __init__(self, cluster: Cluster, scratch_root: Path) -> None:
        self.cluster = cluster
        self.scratch = _scratch_dir(cluster, scratch_root)
        self.memory_limit_mb = memory_limit_mb(cluster.name, cluster.settings)
        self._processes = BlastProcesses(
            HostSlots(self.scratch / "slots", cluster.slots), self.memory_limit_mb
        )
        self._runs: dict[str, BlastRun] = {}
        self._archives = ArchiveRuns(self._processes)
        self._plans = PlanCache()

    # -- warm database copies ----------------------------------------------------------------

    def _warm_dir(self, ctx: JobContext) -> Path:
        return self.scratch / "dbs" / storage_name(ctx.database.name)

    def warmup_check(self, ctx: JobContext) -> WarmState:
        return warm_state(self.staged_copy, str(self._warm_dir(ctx)), ctx)

    def staged_copy(self, database: str, fingerprint: Fingerprint) -> StagedCopy | None:
        """This host's copy of the database (None: none staged), current when it was made at
        the database's `fingerprint` (asked only when there is a copy)."""
        warm_dir = self.scratch / "dbs" / storage_name(database)
        staged = staged_fingerprint(warm_dir / STAGE_MARKER)
        if staged is None:
            return None
        return StagedCopy(str(warm_dir), staged == fingerprint())

    def drop_staged(self, database: str) -> list[str]:
        """Remove the staged copy of a deleted database; where it was (none: [])."""
        warm_dir = self.scratch / "dbs" / storage_name(database)
        return [str(warm_dir)] if remove_staged(warm_dir) else []

    def stage_db(self, ctx: JobContext) -> str:
        try:
            return stage_on_host(ctx.database.prefix, self._warm_dir(ctx)).describe()
        except OSError as exc:
            db = ctx.database
            reason = missing_files_reason(db.prefix)
            if reason is not None:  # not worth a retry: the source is gone
                raise database_files_missing(db.name, db.prefix, reason) from exc
            raise BlastDeckError(
                ErrorCode.STAGING_FAILED, f"Could not stage {ctx.database.name}: {exc}"
            ) from exc

    # -- batches ---------------------------------------------------------------------------------

    def configure(self, ctx: JobContext) -> int:
        keep = parse_archive_with_search(self.cluster.name, self.cluster.settings)
        return write_batch_plan(ctx, self.cluster.slots, archive_with_search=keep)

    def config_preview(self, ctx: JobContext) -> str:
        return plan_preview(ctx.work_dir)

    def _plan(self, ctx: JobContext) -> list[Batch]:
        # cached only while the run is live; dropped when it ends
        return self._plans.get(ctx.job_id, ctx.work_dir, keep=ctx.job_id in self._runs)

    # -- running ---------------------------------------------------------------------------------

    def submit(self, ctx: JobContext, timeout_s: float) -> str:
        """Hand the batches to runner threads: nothing here can block for long, but the
        hand-over still checks its deadline (the submit must not outlive its lock)."""
        deadline = time.monotonic() + timeout_s
        # BLAST processes an earlier process of this server started for the job and left
        # running when it died before it recorded the submit (nothing when there are none).
        kill_recorded(ctx.work_dir)
        run = BlastRun()
        self._runs[ctx.job_id] = run
        where = ctx.search_dir("staged", [self._warm_dir(ctx.one(d)) for d in ctx.searched])
        pending = deque(b for b in self._plan(ctx) if not b.table.exists())
        for batch in pending:
            batch.failed_file.unlink(missing_ok=True)
        # One runner per slot takes the batches in order: the largest go first.
        for n in range(min(self.cluster.slots, len(pending))):
            if time.monotonic() > deadline:
                run.cancel()
                self._runs.pop(ctx.job_id, None)
                raise BlastDeckError(
                    ErrorCode.SUBMIT_TIMEOUT,
                    f"Handing job {ctx.job_id} to cluster {self.cluster.name} took longer than "
                    f"the submit timeout ({timeout_s:g} s).",
                )
            runner = threading.Thread(
                target=self._runner,
                args=(run, pending, where),
                daemon=True,
                name=f"blast-{ctx.job_id[:8]}-{n}",
            )
            run.runners.append(runner)
            runner.start()
        # The runners start their first processes before this thread (the pipeline's) goes on
        # to record the job's steps: both want the GIL, and a runner that waits for it starts
        # BLAST later (measured: both processes started 4-6 ms sooner). Bounded, for runners
        # that wait for slots other jobs hold.
        run.wait_started(len(run.runners), min(PROCESS_START_WAIT_S, deadline - time.monotonic()))
        return f"local:{os.getpid()}:{ctx.job_id}"

    def _runner(self, run: BlastRun, pending: deque[Batch], where: DatabaseDir) -> None:
        while not run.cancelled:
            try:
                batch = pending.popleft()
            except IndexError:
                return
            self._processes.run_batch(run, batch, where)

    def resume(self, ctx: JobContext, handle: str) -> str:
        run = self._runs.get(ctx.job_id)
        if run is not None and not run.cancelled and any(t.is_alive() for t in run.runners):
            # This process still runs the batches (the pipeline only lost its database for a
            # while): keep them. Killing them would waste their work, and their runners would
            # record the kills as failures of the new run.
            return handle
        kill_recorded(ctx.work_dir)
        return self.submit(ctx, timeout_s=float("inf"))

    def wait(self, ctx: JobContext, handle: str, timeout_s: float) -> None:
        """Woken by the runner thread the moment a batch's BLAST process ends: the job moves on
        when BLAST does, not at the next tick of a poll."""
        run = self._runs.get(ctx.job_id)
        if run is None:
            return  # nothing runs here: poll() says why at once
        # Cleared after the wait: a batch ending now still finds its file when poll() reads.
        run.changed.wait(timeout_s)
        run.changed.clear()

    def poll(self, ctx: JobContext, handle: str) -> Progress:
        plan = self._plan(ctx)
        done = sum(1 for b in plan if b.table.exists())
        run = self._runs.get(ctx.job_id)
        for batch in plan:
            failure = run.failures.get(batch.index) if run is not None else None
            if failure is None and batch.failed_file.exists():
                failure = json.loads(batch.failed_file.read_text())
            if failure is not None:
                error = failure_error(batch, failure, self.cluster.name, self.memory_limit_mb)
                return Progress(done, len(plan), True, error)
        if done == len(plan):
            self._runs.pop(ctx.job_id, None)
            self._plans.forget(ctx.job_id)
            return Progress(done, len(plan), True)
        if ctx.job_id not in self._runs:
            lost = BlastDeckError(ErrorCode.WORKER_LOST, "the BLAST processes of this job are gone")
            return Progress(done, len(plan), True, lost)
        return Progress(done, len(plan))

    def collect(self, ctx: JobContext) -> JobResults:
        return collect_results(self._plan(ctx), ctx.registered_dir())

    def make_archives(self, ctx: JobContext) -> JobResults:
        """Run the batches again with -outfmt 11 for the downloads that need an archive (none
        when the cluster's `archive_with_search` made them with the search).

        Done on request, not in the job, unless the cluster says so: formatting the table from
        the archive costs blast_formatter's time in every job, and many users only want the
        table.
        """
        return self._archives.make(self._plan(ctx), ctx.work_dir, ctx.registered_dir())

    def shutdown(self) -> None:
        self._archives.stop_all()

    def cancel(self, ctx: JobContext, handle: str | None) -> None:
        run = self._runs.pop(ctx.job_id, None)
        self._plans.forget(ctx.job_id)
        if run is not None:
            run.cancel()
            run.wait_ended(CANCEL_WAIT_S)
        kill_recorded(ctx.work_dir)


def check_settings(cluster: str, settings: dict[str, str]) -> None:
    """Refuse bad values when the cluster is added, not when its first job runs."""
    memory_limit_mb(cluster, settings)
    parse_batch_letters(cluster, settings)
    parse_archive_with_search(cluster, settings)
    scratch = settings.get("scratch_dir", "").strip()
    if scratch and not Path(scratch).is_absolute():
        # A relative dir would resolve against whatever directory the server was started in.
        raise BlastDeckError(
            ErrorCode.INVALID_CLUSTER_SETTING,
            f"Cluster {cluster}: scratch_dir must be an absolute path, not {scratch[:80]!r}.",
            field="settings.scratch_dir",
        )


def _scratch_dir(cluster: Cluster, scratch_root: Path) -> Path:
    return Path(cluster.settings.get("scratch_dir") or scratch_root / cluster.name)


def probe(cluster: Cluster, scratch_root: Path) -> None:
    """The cluster can run BLAST: BLAST+ is installed and its scratch dir is writable."""
    health = check_health(cluster, scratch_root)
    if not health.ok:
        field = "settings.scratch_dir" if "scratch" in health.detail else "engine"
        raise BlastDeckError(
            ErrorCode.INVALID_CLUSTER_SETTING,
            f"Cluster {cluster.name}: {health.detail}",
            field=field,
        )


def check_health(cluster: Cluster, scratch_root: Path) -> EngineHealth:
    scratch = _scratch_dir(cluster, scratch_root)
    checks: dict[str, object] = {"scratch_dir": str(scratch)}
    try:
        checks["blast"] = tool_path("blastn")
    except BlastToolError as exc:
        return EngineHealth(False, str(exc), checks)
    try:
        scratch.mkdir(parents=True, exist_ok=True)
        probe_file = scratch / f".probe-{uuid.uuid4().hex}"
        probe_file.write_bytes(b"")
        probe_file.unlink()
        usage = shutil.disk_usage(scratch)
    except OSError as exc:
        return EngineHealth(False, f"scratch dir {scratch} is not writable: {exc}", checks)
    checks["scratch_free_bytes"] = usage.free
    return EngineHealth(True, f"BLAST+ found; scratch {scratch} writable", checks)


# What each setting takes and its default, for the operator (the cluster form, the README).
SETTING_HELP = {
    "scratch_dir": (
        "an absolute dir for the cluster's database copies (default: the data dir's "
        "scratch/<cluster>)"
    ),
    **NAMESPACES_SETTING_HELP,
    MEMORY_LIMIT_SETTING: (
        "caps each BLAST process's own memory, in MB; the database's mapped files do not count "
        "(default: no limit)"
    ),
    BATCH_LETTERS_SETTING: (
        "split jobs into batches of at most this many query letters: finer progress, a "
        "database scan per batch (default: BLAST's own query batches)"
    ),
    ARCHIVE_WITH_SEARCH_SETTING: (
        "true: each search writes BLAST's archive too, so XML, JSON, text and ASN.1 downloads "
        "never search again; the hit table costs a blast_formatter run (default: false)"
    ),
}

KIND = EngineKind(
    name="local",
    factory=LocalEngine,
    settings=frozenset(SETTING_HELP),
    setting_help=SETTING_HELP,
    check_settings=check_settings,
    probe=probe,
    health=check_health,
)
