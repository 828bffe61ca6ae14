"""The `slurm` engine: BLAST batches as one SLURM job array on an HPC cluster.

BlastDeck runs where SLURM's client commands work (a login node) and shares a work dir with the
compute nodes. The batches and their exact BLAST command lines are the shared batch plan
(`batch_plan.py`), so every engine searches identically and collects results with the same code
(`batch_results.py`; `slots` equal batches here: each SLURM task pays a scheduler pass); only
where the processes run differs:

- each batch's argv is written NUL-separated to a file, and one generated sbatch script runs
  task N's argv with `mapfile`, so no user string is ever read by a shell;
- the database is copied to each node's scratch dir (a staging job, and again by any task that
  lands on a node without a current copy), identified by the shared staging fingerprint;
- a task writes its hit table to `.part` and renames it on success, then its exit status to a
  file beside it; SLURM's own records (`squeue --json`, the jobcomp log) tell what happened to
  tasks that were killed before they could write one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from blastdeck.blast_tools import DatabaseDir
from blastdeck.database_files import database_files
from blastdeck.databases import storage_name
from blastdeck.domain.clusters import Cluster
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.names import DEFAULT_NAMESPACE
from blastdeck.domain.search_split import one_thread_search
from blastdeck.engines import slurm_cluster as sc
from blastdeck.engines import slurm_failures as failures
from blastdeck.engines.base import (
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
    PlanCache,
    plan_preview,
    read_batch_plan,
    write_batch_plan,
)
from blastdeck.engines.batch_results import ArchiveRuns, collect_results
from blastdeck.engines.blast_process import BlastProcesses
from blastdeck.engines.slots import HostSlots
from blastdeck.engines.slurm_client import COMMAND_TIMEOUT_S, SlurmClient
from blastdeck.engines.slurm_health import check_health, probe
from blastdeck.engines.slurm_scripts import (
    SlurmTask,
    argv_file_bytes,
    array_script,
    stage_function,
    stage_script,
)
from blastdeck.engines.slurm_settings import (
    SETTING_HELP,
    SETTINGS,
    check_settings,
    parse_settings,
)
from blastdeck.engines.staging import database_fingerprint, remove_staged
from blastdeck.files import write_atomically

log = logging.getLogger(__name__)

UNAVAILABLE_GRACE_S = 60.0  # a controller that stays silent this long fails the poll (retried)
CANCEL_WAIT_S = 30.0
STAGE_QUEUE_WAIT_S = 120.0  # a staging job queued longer is dropped: tasks copy it themselves


class SlurmEngine:
    poll_interval_s = 0.25  # SLURM tells nothing when a task ends: its state files are polled
    submit_leaves_process = True  # sbatch

    def __init__(self, cluster: Cluster, scratch_root: Path) -> None:
        self.cluster = cluster
        self.conf = parse_settings(cluster.name, cluster.settings)
        # Where staging records live: shared with the nodes (the work dir) when there is one.
        self.state_dir = self.conf.work_dir or scratch_root / cluster.name
        # Archives for downloads are made on this host, in slots of their own.
        self._archives = ArchiveRuns(
            BlastProcesses(HostSlots(scratch_root / cluster.name / "archive-slots", cluster.slots))
        )
        self._plans = PlanCache()
        self._slurm = SlurmClient(cluster.name, self.conf.slurm_conf, self.conf.slurm_bin_dir)
        self._unreachable_since: dict[str, float] = {}
        self._no_status_since: dict[tuple[str, int], float] = {}

    # -- where things are ------------------------------------------------------------------------

    def _job_dir(self, ctx: JobContext) -> Path:
        """The job's dir on the shared filesystem: the batches, script, tables and logs."""
        return self.conf.work_dir / ctx.job_id if self.conf.work_dir else ctx.work_dir

    def _shared_ctx(self, ctx: JobContext) -> JobContext:
        """The job as the nodes see it: its work dir on the shared filesystem."""
        return replace(ctx, work_dir=self._job_dir(ctx))

    def _slurm_dir(self, ctx: JobContext) -> Path:
        return self._job_dir(ctx) / "slurm"

    def _node_db_dir(self, ctx: JobContext) -> Path:
        return self.conf.scratch_dir / "dbs" / storage_name(ctx.database.name)

    def _staged_record(self, ctx: JobContext) -> Path:
        return self.state_dir / "staged" / f"{storage_name(ctx.database.name)}.json"

    def _tasks(self, ctx: JobContext) -> list[SlurmTask]:
        logs = self._slurm_dir(ctx) / "logs"
        return [
            SlurmTask(
                index=batch.index,
                table=batch.table,
                status=batch.fasta.with_suffix(".status"),
                stderr=batch.fasta.with_suffix(".task.stderr"),
                log=logs / f"task_{batch.index}.log",
                cpu=batch.cpu_file,
            )
            for batch in self._plans.get(ctx.job_id, self._job_dir(ctx), keep=False)
        ]

    def _common_options(self, ctx: JobContext) -> list[str]:
        """Where and as whom the job runs: partition (the namespace's, unless configured),
        account, QOS. The job's environment is sbatch's, which holds only PATH (and where
        SLURM's configuration is), never BlastDeck's own settings (`SlurmClient.submit_env`)."""
        options = ["--export=ALL", f"--chdir={self._job_dir(ctx)}"]
        partition = self.conf.partition
        if partition is None and ctx.namespace != DEFAULT_NAMESPACE:
            partition = ctx.namespace
        if partition:
            options.append(f"--partition={partition}")
        if self.conf.account:
            options.append(f"--account={self.conf.account}")
        if self.conf.qos:
            options.append(f"--qos={self.conf.qos}")
        return options

    # -- warm database copies ----------------------------------------------------------------

    def warmup_check(self, ctx: JobContext) -> WarmState:
        return warm_state(self.staged_copy, f"{self._node_db_dir(ctx)} (node scratch)", ctx)

    def staged_copy(self, database: str, fingerprint: Fingerprint) -> StagedCopy | None:
        """The node-scratch copy the staging records tell of (None: never staged)."""
        node_dir = self.conf.scratch_dir / "dbs" / storage_name(database)
        try:
            record = self.state_dir / "staged" / f"{storage_name(database)}.json"
            staged = json.loads(record.read_text())["fingerprint"]
        except (OSError, ValueError, TypeError, KeyError):
            return None
        return StagedCopy(f"{node_dir} (node scratch)", staged == fingerprint())

    def drop_staged(self, database: str) -> list[str]:
        """Forget a deleted database's staged copy: its record, and the copy itself where node
        scratch is reachable from this host (a shared or local scratch dir); a copy on a
        node-local disk is left for the node's own cleanup."""
        removed = []
        record = self.state_dir / "staged" / f"{storage_name(database)}.json"
        if record.exists():
            record.unlink(missing_ok=True)
            removed.append(str(record))
        node_dir = self.conf.scratch_dir / "dbs" / storage_name(database)
        if remove_staged(node_dir):
            removed.append(str(node_dir))
        return removed

    def stage_db(self, ctx: JobContext) -> str:
        """Copy the database to node scratch as a SLURM job and wait for it to finish."""
        slurm_dir = self._slurm_dir(ctx)
        slurm_dir.mkdir(parents=True, exist_ok=True)
        status = slurm_dir / "stage.status"
        status.unlink(missing_ok=True)
        record = self._staged_record(ctx)
        record.parent.mkdir(parents=True, exist_ok=True)
        script = slurm_dir / "stage.sbatch"
        fingerprint = database_fingerprint(ctx.database.prefix)
        stage_fn = self._stage_function(ctx)
        text = stage_script(ctx.database.name, stage_fn, fingerprint, status, record)
        write_atomically(script, text)
        options = [
            *self._common_options(ctx),
            f"--job-name=blastdeck-stage-{ctx.job_id[:8]}",
            f"--output={slurm_dir / 'stage.log'}",
            "--ntasks=1",  # a copy needs little memory: the partition's default
        ]
        job_id = self._slurm.sbatch(options, script, COMMAND_TIMEOUT_S)
        write_atomically(slurm_dir / "stage.jobid", str(job_id))
        first_unknown: float | None = None
        queued_since = time.monotonic()
        while True:  # the pipeline holds this step until the copy is there
            if status.exists():
                rc = status.read_text().strip()
                if rc == "0":
                    return str(self._node_db_dir(ctx))
                raise self._staging_failed(ctx, f"the copy exited with {rc}")
            try:
                found = sc.single_job(self._slurm.squeue_doc(), job_id)
            except BlastDeckError:
                found = sc.TaskRecord("UNKNOWN")  # the controller is busy: the file still tells
            if found is None:
                found = sc.jobcomp_job(self._slurm.jobcomp_text(), job_id)
            if found is not None and found.state == "PENDING":
                if time.monotonic() - queued_since > STAGE_QUEUE_WAIT_S:
                    # Each task makes its node's copy current anyway: do not queue twice.
                    self._slurm.command(["scancel", str(job_id)])
                    return f"{self._node_db_dir(ctx)} (copied by the first task on each node)"
            elif found is None or not found.active:
                first_unknown = first_unknown or time.monotonic()
                if time.monotonic() - first_unknown > failures.MISSING_STATUS_GRACE_S:
                    # its status file may lag behind SLURM on a shared filesystem; not this long
                    state = found.state if found else "nothing (not in squeue or jobcomp)"
                    raise self._staging_failed(ctx, f"SLURM says {state}")
            time.sleep(self.poll_interval_s)

    def _staging_failed(self, ctx: JobContext, why: str) -> BlastDeckError:
        log_tail = failures.read_tail(self._slurm_dir(ctx) / "stage.log")
        return BlastDeckError(
            ErrorCode.STAGING_FAILED,
            f"Could not stage {ctx.database.name} to {self._node_db_dir(ctx)} on cluster "
            f"{self.cluster.name}: {why}. {log_tail}".strip(),
        )

    def _stage_function(self, ctx: JobContext, name: str = "stage_db") -> str:
        files = database_files(ctx.database.prefix)
        fingerprint = database_fingerprint(ctx.database.prefix)
        return stage_function(self._node_db_dir(ctx), files, fingerprint, name)

    def _node_search_dir(self, ctx: JobContext) -> DatabaseDir:
        """Where a task runs BLAST: the node's copy of the database; for several, the job's
        search dir on the shared filesystem, linking each database's copy on the node."""
        dirs = [self._node_db_dir(ctx.one(d)) for d in ctx.searched]
        return self._shared_ctx(ctx).search_dir("node", dirs)

    # -- batches ---------------------------------------------------------------------------------

    def configure(self, ctx: JobContext) -> int:
        job_dir = self._job_dir(ctx)
        job_dir.mkdir(parents=True, exist_ok=True)
        if job_dir != ctx.work_dir:
            shutil.copyfile(ctx.query_path, job_dir / "query.fa")
        total = self._write_batches(self._shared_ctx(ctx))
        slurm_dir = self._slurm_dir(ctx)
        shutil.rmtree(slurm_dir, ignore_errors=True)
        (slurm_dir / "logs").mkdir(parents=True)
        for batch in read_batch_plan(job_dir):
            argv = self._node_argv(ctx, list(batch.argv))
            (slurm_dir / f"task_{batch.index}.argv").write_bytes(argv_file_bytes(argv))
        stage_fns = [
            self._stage_function(ctx.one(d), f"stage_db_{i}") for i, d in enumerate(ctx.searched)
        ]
        script = array_script(
            ctx.job_id, self._tasks(ctx), slurm_dir, stage_fns, self._node_search_dir(ctx)
        )
        write_atomically(slurm_dir / "blast.sbatch", script)
        return total

    def config_preview(self, ctx: JobContext) -> str:
        """The sbatch options and array script, then each batch's BLAST command line."""
        slurm_dir = self._slurm_dir(ctx)
        script = (slurm_dir / "blast.sbatch").read_text()
        commands = plan_preview(self._job_dir(ctx), lambda argv: self._node_argv(ctx, argv))
        return f"# {slurm_dir / 'blast.sbatch'}\n{script}\n{commands}"

    def _write_batches(self, ctx: JobContext) -> int:
        """The shared batch plan (`domain.search_split`): one task for a job within one BLAST
        query batch, else one task per BLAST query batch; each task runs BLAST with the
        cluster's `cpus_per_task` threads."""
        return write_batch_plan(ctx, self.cluster.slots)

    def _node_argv(self, ctx: JobContext, argv: list[str]) -> list[str]:
        """The plan's argv with the nodes' BLAST and the task's CPUs (as threads, unless the
        search runs one thread: `one_thread_search`)."""
        program = ctx.program.value
        tool = str(self.conf.blast_bin_dir / program) if self.conf.blast_bin_dir else program
        node = [tool, *argv[1:]]
        if "-num_threads" in node and not one_thread_search(ctx.options):
            node[node.index("-num_threads") + 1] = str(self.conf.cpus_per_task)
        return node

    # -- running ---------------------------------------------------------------------------------

    def submit(self, ctx: JobContext, timeout_s: float) -> str:
        # A process that died between sbatch and storing the handle, or an sbatch that timed
        # out after reaching the controller, left a live array: adopt it rather than run every
        # batch twice.
        deadline = time.monotonic() + timeout_s
        doc = self._slurm.squeue_doc(fresh=True, timeout_s=min(COMMAND_TIMEOUT_S, timeout_s))
        earlier = self._recorded_arrays(ctx)
        if earlier and any(r.active for r in self._records(ctx, earlier, doc).values()):
            return "slurm:" + "+".join(str(i) for i in earlier)
        named = [i for i in sc.arrays_named(doc, self._array_name(ctx)) if i not in earlier]
        if named:
            self._record_array(ctx, named[-1])
            return "slurm:" + "+".join(str(i) for i in [*earlier, *named])
        pending = [t for t in self._tasks(ctx) if not t.table.exists()]
        if not pending:  # every batch already ran (its array has left squeue)
            return "slurm:" + "+".join(str(i) for i in earlier)
        left = max(0.1, deadline - time.monotonic())
        return f"slurm:{self._submit_tasks(ctx, pending, left)}"

    @staticmethod
    def _array_name(ctx: JobContext) -> str:
        return f"blastdeck-{ctx.job_id[:8]}"

    def _record_array(self, ctx: JobContext, job_id: int) -> None:
        # Also on disk: a cancel must find the array even if the handle was never stored.
        with (self._slurm_dir(ctx) / "array.jobids").open("a") as fh:
            fh.write(f"{job_id}\n")

    def _recorded_arrays(self, ctx: JobContext) -> list[int]:
        try:
            text = (self._slurm_dir(ctx) / "array.jobids").read_text()
        except OSError:
            return []
        return [int(x) for x in text.split() if x.isdigit()]

    def _submit_tasks(
        self, ctx: JobContext, tasks: list[SlurmTask], timeout_s: float = COMMAND_TIMEOUT_S
    ) -> int:
        for task in tasks:
            task.status.unlink(missing_ok=True)
            self._no_status_since.pop((ctx.job_id, task.index), None)
        indices = ",".join(str(t.index) for t in tasks) or "0"
        if self.conf.array_throttle:
            indices += f"%{self.conf.array_throttle}"
        slurm_dir = self._slurm_dir(ctx)
        options = [
            *self._common_options(ctx),
            f"--job-name={self._array_name(ctx)}",
            f"--array={indices}",
            f"--output={slurm_dir / 'logs' / 'task_%a.log'}",
            "--ntasks=1",
            f"--cpus-per-task={self.conf.cpus_per_task}",
        ]
        if self.conf.mem_per_task:
            options.append(f"--mem={self.conf.mem_per_task}")
        if self.conf.time_limit:
            options.append(f"--time={self.conf.time_limit}")
        job_id = self._slurm.sbatch(options, slurm_dir / "blast.sbatch", timeout_s)
        self._record_array(ctx, job_id)
        write_atomically(slurm_dir / "submit.json", json.dumps({"argv": options, "id": job_id}))
        return job_id

    def resume(self, ctx: JobContext, handle: str) -> str:
        """Re-attach by the stored SLURM job id(s). Tasks SLURM has no record of (or lost with
        a node) are submitted again as a new array; running ones are left alone."""
        ids = _array_ids(handle)
        records = self._records(ctx, ids, self._slurm.squeue_doc(fresh=True))
        if any(r.active for r in records.values()):
            return handle
        lost = [
            t
            for t in self._tasks(ctx)
            if not t.table.exists()
            and not t.status.exists()
            and (t.index not in records or records[t.index].state in sc.RERUNNABLE_STATES)
        ]
        if not lost:
            return handle
        return f"{handle}+{self._submit_tasks(ctx, lost)}"

    def _records(
        self, ctx: JobContext, ids: list[int], doc: dict[str, Any] | None
    ) -> dict[int, sc.TaskRecord]:
        """What SLURM knows of each task: squeue, else the jobcomp log; later arrays win."""
        records: dict[int, sc.TaskRecord] = {}
        jobcomp: str | None = None
        for job_id in ids:
            found = sc.array_tasks(doc, job_id) if doc is not None else {}
            if not found:
                jobcomp = self._slurm.jobcomp_text() if jobcomp is None else jobcomp
                found = sc.jobcomp_array_tasks(jobcomp, job_id)
            records.update(found)
        return records

    def wait(self, ctx: JobContext, handle: str, timeout_s: float) -> None:
        time.sleep(min(self.poll_interval_s, timeout_s))

    def poll(self, ctx: JobContext, handle: str) -> Progress:
        ids = _array_ids(handle)
        tasks = self._tasks(ctx)
        if all(t.table.exists() for t in tasks):
            return Progress(len(tasks), len(tasks), True)
        try:
            doc: dict[str, Any] | None = self._slurm.squeue_doc()
            self._unreachable_since.pop(ctx.job_id, None)
        except BlastDeckError as exc:
            # Tasks still report through their files; only fail after a long silence.
            since = self._unreachable_since.setdefault(ctx.job_id, time.monotonic())
            if time.monotonic() - since > UNAVAILABLE_GRACE_S:
                self._unreachable_since.pop(ctx.job_id, None)
                return Progress(_done(tasks), len(tasks), True, exc)
            doc = None
        # SLURM's view first, files second: a task that ended between the two reads is then
        # seen through its files rather than mistaken for one that ended without them.
        records = self._records(ctx, ids, doc) if doc is not None else {}
        done = _done(tasks)
        for task in tasks:
            if task.table.exists():
                continue
            error = self._task_error(ctx, task, records.get(task.index), doc is not None, ids)
            if error is not None:
                return Progress(done, len(tasks), True, error)
        return Progress(done, len(tasks), done == len(tasks))

    def _task_error(
        self,
        ctx: JobContext,
        task: SlurmTask,
        record: sc.TaskRecord | None,
        have_view: bool,
        ids: list[int],
    ) -> BlastDeckError | None:
        where = f"batch {task.index} (SLURM job {ids[-1]}_{task.index})"
        key = (ctx.job_id, task.index)
        waits = self._no_status_since
        return failures.task_error(
            self.cluster.name, self.conf, task, where, record, have_view, waits, key
        )

    # -- results ---------------------------------------------------------------------------------

    def collect(self, ctx: JobContext) -> JobResults:
        plan = self._plans.get(ctx.job_id, self._job_dir(ctx), keep=False)
        return collect_results(plan, ctx.registered_dir())

    def make_archives(self, ctx: JobContext) -> JobResults:
        """Archives are made on this host from the registered database (`batch_results.py`):
        a download should not wait in the cluster's queue."""
        plan = self._plans.get(ctx.job_id, self._job_dir(ctx), keep=False)
        return self._archives.make(plan, self._job_dir(ctx), ctx.registered_dir())

    def shutdown(self) -> None:
        self._archives.stop_all()

    # -- cancel ----------------------------------------------------------------------------------

    def cancel(self, ctx: JobContext, handle: str | None) -> None:
        ids = {*_array_ids(handle), *self._recorded_arrays(ctx)}
        with contextlib.suppress(OSError, ValueError):
            ids.add(int((self._slurm_dir(ctx) / "stage.jobid").read_text()))
        if not ids:
            return
        try:
            self._slurm.command(["scancel", *(str(i) for i in sorted(ids))])
            # Wait until SLURM has stopped them: "cancelled" must mean nothing runs any more.
            deadline = time.monotonic() + CANCEL_WAIT_S
            while time.monotonic() < deadline:
                doc = self._slurm.squeue_doc(fresh=True)
                alive = [
                    r
                    for i in ids
                    for r in [*sc.array_tasks(doc, i).values(), sc.single_job(doc, i)]
                    if r is not None and r.active
                ]
                if not alive:
                    return
                time.sleep(0.2)
            log.warning("SLURM jobs %s of job %s still alive after scancel", ids, ctx.job_id)
        except BlastDeckError as exc:
            log.warning("could not cancel SLURM jobs %s of job %s: %s", ids, ctx.job_id, exc)


def _array_ids(handle: str | None) -> list[int]:
    """The SLURM array ids in a handle 'slurm:ID[+ID...]', oldest first."""
    if not handle or not handle.startswith("slurm:"):
        return []
    return [int(x) for x in handle.removeprefix("slurm:").split("+") if x.isdigit()]


def _done(tasks: list[SlurmTask]) -> int:
    return sum(1 for t in tasks if t.table.exists())


KIND = EngineKind(
    name="slurm",
    factory=SlurmEngine,
    settings=SETTINGS,
    setting_help=SETTING_HELP,
    check_settings=check_settings,
    probe=probe,
    health=check_health,
)
