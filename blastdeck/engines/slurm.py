"""The `slurm` engine: BLAST batches as one SLURM job array on an HPC cluster.

BlastDeck runs where SLURM's client commands work (a login node) and shares a work dir with the
compute nodes. The batches and their exact BLAST command lines are built with the local engine's
functions in its plan layout, so both engines search identically and merge results with the same
code (`slots` equal batches here: each SLURM task pays a scheduler pass); only where the
processes run differs:

- each batch's argv is written NUL-separated to a file, and one generated sbatch script runs
  task N's argv with `mapfile`, so no user string is ever read by a shell;
- the database is copied to each node's scratch dir (a staging job, and again by any task that
  lands on a node without a current copy), identified by the local engine's fingerprint;
- a task writes its hit table to `.part` and renames it on success, then its exit status to a
  file beside it; SLURM's own records (`squeue --json`, the jobcomp log) tell what happened to
  tasks that were killed before they could write one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from blastdeck.blast_tools import tail
from blastdeck.databases import database_files
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.names import DEFAULT_NAMESPACE
from blastdeck.engines import slurm_cluster as sc
from blastdeck.engines.base import ClusterSpec, JobContext, JobResults, Progress, WarmState
from blastdeck.engines.local import (
    LocalEngine,
    database_fingerprint,
    plan_preview,
    write_batch_plan,
)
from blastdeck.files import write_atomically

log = logging.getLogger(__name__)

SETTINGS = frozenset(
    {
        "slurm_conf",
        "partition",
        "account",
        "qos",
        "cpus_per_task",
        "mem_per_task",
        "time_limit",
        "work_dir",
        "scratch_dir",
        "blast_bin_dir",
        "array_throttle",
        "namespaces",
    }
)
NODE_MARKER = ".blastdeck-fingerprint"  # in a node's copy: the fingerprint it was copied at
COMMAND_TIMEOUT_S = 60.0
SQUEUE_MIN_INTERVAL_S = 1.0  # squeue costs the controller an RPC: at most this often per job
UNAVAILABLE_GRACE_S = 60.0  # a controller that stays silent this long fails the poll (retried)
MISSING_STATUS_GRACE_S = 15.0  # a task SLURM calls ended whose status file has not appeared
CANCEL_WAIT_S = 30.0
STAGE_QUEUE_WAIT_S = 120.0  # a staging job queued longer is dropped: tasks copy it themselves
_BLAST_EXIT_OUT_OF_MEMORY = 4
_BLAST_OOM_SIGNS = ("bad_alloc", "out of memory", "cannot allocate memory", "failed to allocate")

_SLURM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_MEMORY = re.compile(r"[1-9][0-9]{0,8}[KMGT]?")
_TIME = re.compile(r"(?:[0-9]{1,4}-)?[0-9]{1,6}(?::[0-9]{1,2}){0,2}|infinite|unlimited", re.I)


@dataclass(frozen=True)
class SlurmSettings:
    slurm_conf: str | None
    partition: str | None
    account: str | None
    qos: str | None
    cpus_per_task: int
    mem_per_task: str | None
    time_limit: str | None
    work_dir: Path | None
    scratch_dir: Path
    blast_bin_dir: Path | None
    array_throttle: int | None


def _invalid(cluster: str, key: str, why: str, value: str) -> BlastDeckError:
    return BlastDeckError(
        ErrorCode.INVALID_CLUSTER_SETTING,
        f"Cluster {cluster}: {key} {why}, not {value[:60]!r}.",
        field=f"settings.{key}",
    )


def parse_settings(name: str, settings: dict[str, str]) -> SlurmSettings:
    """The cluster's SLURM settings, each checked: they end up on sbatch's command line."""

    def text(key: str) -> str | None:
        value = str(settings.get(key, "")).strip()
        return value or None

    def path(key: str) -> Path | None:
        value = text(key)
        if value is None:
            return None
        if not value.startswith("/") or any(c in value for c in "\0\n\r"):
            raise _invalid(name, key, "must be an absolute path", value)
        return Path(value)

    def slurm_name(key: str) -> str | None:
        value = text(key)
        if value is not None and not _SLURM_NAME.fullmatch(value):
            raise _invalid(name, key, "must be a SLURM name (letters, digits, . _ -)", value)
        return value

    def count(key: str, default: int | None) -> int | None:
        value = text(key)
        if value is None:
            return default
        # ASCII digits only: isdigit() also says yes to "²" or "७", which int() refuses or
        # sbatch would not read; and a length check first, as int() refuses 4300+ digits.
        digits = value.isascii() and value.isdigit() and len(value) <= 6
        if not digits or not 1 <= int(value) <= 100_000:
            raise _invalid(name, key, "must be a whole number from 1", value)
        return int(value)

    memory, limit = text("mem_per_task"), text("time_limit")
    if memory is not None and not _MEMORY.fullmatch(memory.upper()):
        raise _invalid(name, "mem_per_task", "must be a size like 2G or 500M", memory)
    if limit is not None and not _TIME.fullmatch(limit):
        raise _invalid(name, "time_limit", "must be SLURM time like 30, 2:00:00 or 1-00", limit)
    scratch = path("scratch_dir")
    return SlurmSettings(
        slurm_conf=str(path("slurm_conf")) if text("slurm_conf") else None,
        partition=slurm_name("partition"),
        account=slurm_name("account"),
        qos=slurm_name("qos"),
        cpus_per_task=count("cpus_per_task", 1) or 1,
        mem_per_task=memory.upper() if memory else None,
        time_limit=limit,
        work_dir=path("work_dir"),
        scratch_dir=scratch or Path("/tmp/blastdeck-scratch"),
        blast_bin_dir=path("blast_bin_dir"),
        array_throttle=count("array_throttle", None),
    )


def check_settings(cluster: str, settings: dict[str, str]) -> None:
    """Refuse bad values when the cluster is added, not when its first job runs."""
    parse_settings(cluster, settings)


@dataclass(frozen=True)
class _Task:
    index: int
    table: Path
    status: Path  # the exit status of BLAST, written by the task script
    stderr: Path  # BLAST's stderr
    log: Path  # SLURM's output file for the task (slurmstepd writes its kill notices here)


class SlurmEngine:
    poll_interval_s = 0.25

    def __init__(self, cluster: ClusterSpec, scratch_root: Path) -> None:
        self.cluster = cluster
        self.conf = parse_settings(cluster.name, cluster.settings)
        # Where staging records live: shared with the nodes (the work dir) when there is one.
        self.state_dir = self.conf.work_dir or scratch_root / cluster.name
        # The local engine collects results and makes archives
        # (on this host, from the registered database), so both engines merge identically.
        local_spec = ClusterSpec(
            name=cluster.name,
            engine="local",
            namespace=cluster.namespace,
            slots=cluster.slots,
        )
        self._local = LocalEngine(local_spec, scratch_root / f"{cluster.name}-local")
        self._squeue: tuple[float, dict[str, Any]] | None = None
        self._unreachable_since: dict[str, float] = {}
        self._no_status_since: dict[tuple[str, int], float] = {}
        self._jobcomp_loc: str | None = None
        self._jobcomp_looked_up = False

    # -- where things are ------------------------------------------------------------------------

    def _job_dir(self, ctx: JobContext) -> Path:
        """The job's dir on the shared filesystem: the batches, script, tables and logs."""
        return self.conf.work_dir / ctx.job_id if self.conf.work_dir else ctx.work_dir

    def _local_ctx(self, ctx: JobContext) -> JobContext:
        return replace(ctx, work_dir=self._job_dir(ctx))

    def _slurm_dir(self, ctx: JobContext) -> Path:
        return self._job_dir(ctx) / "slurm"

    def _node_db_dir(self, ctx: JobContext) -> Path:
        return self.conf.scratch_dir / "dbs" / ctx.database.name

    def _staged_record(self, ctx: JobContext) -> Path:
        return self.state_dir / "staged" / f"{ctx.database.name}.json"

    def _tasks(self, ctx: JobContext) -> list[_Task]:
        plan = json.loads((self._job_dir(ctx) / "plan.json").read_text())["batches"]
        logs = self._slurm_dir(ctx) / "logs"
        tasks = []
        for batch in plan:
            table = Path(batch["table"])
            stem = table.name.removesuffix(".hits.tsv")
            tasks.append(
                _Task(
                    index=batch["index"],
                    table=table,
                    status=table.with_name(f"{stem}.status"),
                    stderr=table.with_name(f"{stem}.task.stderr"),
                    log=logs / f"task_{batch['index']}.log",
                )
            )
        return tasks

    # -- SLURM commands --------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.conf.slurm_conf:
            env["SLURM_CONF"] = self.conf.slurm_conf
        return env

    def _command(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        """Run a SLURM client command; the controller not answering is `slurm_unavailable`."""
        try:
            return subprocess.run(
                argv,
                capture_output=True,
                text=True,
                env=self._env(),
                timeout=COMMAND_TIMEOUT_S,
                check=False,
            )
        except FileNotFoundError as exc:
            raise BlastDeckError(
                ErrorCode.SLURM_UNAVAILABLE,
                f"SLURM's {argv[0]} is not installed on this host (cluster {self.cluster.name}); "
                "BlastDeck must run where SLURM's client commands work.",
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise BlastDeckError(
                ErrorCode.SLURM_UNAVAILABLE,
                f"{argv[0]} got no answer from the SLURM controller of cluster "
                f"{self.cluster.name} in {COMMAND_TIMEOUT_S:g} s.",
            ) from exc

    def _sbatch(self, options: list[str], script: Path) -> int:
        proc = self._command(["sbatch", "--parsable", *options, str(script)])
        said = tail(proc.stderr + proc.stdout, 800)
        if proc.returncode != 0:
            if sc.looks_unavailable(said):
                raise BlastDeckError(
                    ErrorCode.SLURM_UNAVAILABLE,
                    f"The SLURM controller of cluster {self.cluster.name} did not answer: {said}",
                )
            raise BlastDeckError(
                ErrorCode.SLURM_SUBMIT_REJECTED,
                f"SLURM refused the job on cluster {self.cluster.name}: {said or 'no message'}",
            )
        try:
            return sc.sbatch_job_id(proc.stdout)
        except ValueError as exc:
            raise BlastDeckError(ErrorCode.SLURM_SUBMIT_REJECTED, str(exc)) from exc

    def _common_options(self, ctx: JobContext) -> list[str]:
        """Where and as whom the job runs: partition (the namespace's, unless configured),
        account, QOS; only PATH from this environment (never BlastDeck's own settings)."""
        options = ["--export=PATH", f"--chdir={self._job_dir(ctx)}"]
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

    def _squeue_doc(self, fresh: bool = False) -> dict[str, Any]:
        """`squeue --json` (22.05 ignores -j with --json: callers filter), shared by every job
        of this cluster in this process for a second."""
        now = time.monotonic()
        if not fresh and self._squeue and now - self._squeue[0] < SQUEUE_MIN_INTERVAL_S:
            return self._squeue[1]
        proc = self._command(["squeue", "--json"])
        if proc.returncode != 0:
            raise BlastDeckError(
                ErrorCode.SLURM_UNAVAILABLE,
                f"squeue failed on cluster {self.cluster.name}: {tail(proc.stderr, 500)}",
            )
        try:
            doc = json.loads(proc.stdout)
        except ValueError as exc:
            raise BlastDeckError(
                ErrorCode.SLURM_UNAVAILABLE, f"squeue printed no JSON: {proc.stdout[:200]!r}"
            ) from exc
        self._squeue = (time.monotonic(), doc)
        return doc

    def _jobcomp_text(self) -> str:
        """The tail of the controller's job-completion log, when this host can read it."""
        if not self._jobcomp_looked_up:
            self._jobcomp_looked_up = True
            with contextlib.suppress(BlastDeckError):
                proc = self._command(["scontrol", "show", "config"])
                if proc.returncode == 0 and "jobcomp/filetxt" in proc.stdout:
                    self._jobcomp_loc = sc.config_value(proc.stdout, "JobCompLoc")
        if not self._jobcomp_loc:
            return ""
        try:
            with open(self._jobcomp_loc, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - (8 << 20)))
                return fh.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # -- warm database copies ----------------------------------------------------------------

    def warmup_check(self, ctx: JobContext) -> WarmState:
        where = f"{self._node_db_dir(ctx)} (node scratch)"
        try:
            staged = json.loads(self._staged_record(ctx).read_text())
        except (OSError, ValueError):
            return WarmState(False, where, f"no staged copy of {ctx.database.name} yet")
        if staged.get("fingerprint") != database_fingerprint(ctx.database.prefix):
            return WarmState(False, where, "staged copy is out of date")
        return WarmState(True, where, "current staged copy found")

    def stage_db(self, ctx: JobContext) -> str:
        """Copy the database to node scratch as a SLURM job and wait for it to finish."""
        slurm_dir = self._slurm_dir(ctx)
        slurm_dir.mkdir(parents=True, exist_ok=True)
        status = slurm_dir / "stage.status"
        status.unlink(missing_ok=True)
        record = self._staged_record(ctx)
        record.parent.mkdir(parents=True, exist_ok=True)
        script = slurm_dir / "stage.sbatch"
        write_atomically(script, self._stage_script(ctx, status, record))
        options = [
            *self._common_options(ctx),
            f"--job-name=blastdeck-stage-{ctx.job_id[:8]}",
            f"--output={slurm_dir / 'stage.log'}",
            "--ntasks=1",  # a copy needs little memory: the partition's default
        ]
        job_id = self._sbatch(options, script)
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
                found = sc.single_job(self._squeue_doc(), job_id)
            except BlastDeckError:
                found = sc.TaskRecord("UNKNOWN")  # the controller is busy: the file still tells
            if found is None:
                found = sc.jobcomp_job(self._jobcomp_text(), job_id)
            if found is not None and found.state == "PENDING":
                if time.monotonic() - queued_since > STAGE_QUEUE_WAIT_S:
                    # Each task makes its node's copy current anyway: do not queue twice.
                    self._command(["scancel", str(job_id)])
                    return f"{self._node_db_dir(ctx)} (copied by the first task on each node)"
            elif found is None or not found.active:
                first_unknown = first_unknown or time.monotonic()
                if time.monotonic() - first_unknown > MISSING_STATUS_GRACE_S:
                    # its status file may lag behind SLURM on a shared filesystem; not this long
                    state = found.state if found else "nothing (not in squeue or jobcomp)"
                    raise self._staging_failed(ctx, f"SLURM says {state}")
            time.sleep(self.poll_interval_s)

    def _staging_failed(self, ctx: JobContext, why: str) -> BlastDeckError:
        log_tail = _read_tail(self._slurm_dir(ctx) / "stage.log")
        return BlastDeckError(
            ErrorCode.STAGING_FAILED,
            f"Could not stage {ctx.database.name} to {self._node_db_dir(ctx)} on cluster "
            f"{self.cluster.name}: {why}. {log_tail}".strip(),
        )

    def _stage_function(self, ctx: JobContext) -> str:
        """Bash that makes the node's copy of the database current: under a node-local lock,
        copied beside the target and swapped in by rename, so no task sees half a database."""
        dest = self._node_db_dir(ctx)
        files = " ".join(shlex.quote(str(p)) for p in database_files(ctx.database.prefix))
        q = shlex.quote
        return f"""stage_db() {{
  local dest={q(str(dest))} fp={q(database_fingerprint(ctx.database.prefix))}
  local marker="$dest/{NODE_MARKER}"
  [ "$(cat "$marker" 2>/dev/null)" = "$fp" ] && return 0
  mkdir -p {q(str(dest.parent))} || return 1
  (
    flock 9 || exit 1
    [ "$(cat "$marker" 2>/dev/null)" = "$fp" ] && exit 0
    tmp=$(mktemp -d {q(str(dest.parent / f".{dest.name}.XXXXXX"))}) || exit 1
    cp -p -- {files} "$tmp"/ || {{ rm -rf "$tmp"; exit 1; }}
    printf '%s\\n' "$fp" > "$tmp/{NODE_MARKER}"
    old={q(str(dest.parent / f".{dest.name}.old"))}.$$
    if [ -e "$dest" ]; then mv "$dest" "$old"; fi
    mv "$tmp" "$dest" && rm -rf "$old"
  ) 9>{q(str(dest.parent / f".{dest.name}.lock"))}
}}
"""

    def _stage_script(self, ctx: JobContext, status: Path, record: Path) -> str:
        q = shlex.quote
        payload = json.dumps({"fingerprint": database_fingerprint(ctx.database.prefix)})
        return f"""#!/bin/bash
# BlastDeck: copy database {ctx.database.name} to this node's scratch dir.
{self._stage_function(ctx)}
stage_db
rc=$?
if [ "$rc" -eq 0 ]; then
  printf '%s\\n' {q(payload)} > {q(str(record))}.$$ && mv -f {q(str(record))}.$$ {q(str(record))}
fi
printf '%s\\n' "$rc" > {q(str(status))}.part && mv -f {q(str(status))}.part {q(str(status))}
exit "$rc"
"""

    # -- batches ---------------------------------------------------------------------------------

    def configure(self, ctx: JobContext) -> int:
        job_dir = self._job_dir(ctx)
        job_dir.mkdir(parents=True, exist_ok=True)
        if job_dir != ctx.work_dir:
            shutil.copyfile(ctx.query_path, job_dir / "query.fa")
        total = self._write_batches(self._local_ctx(ctx))
        slurm_dir = self._slurm_dir(ctx)
        shutil.rmtree(slurm_dir, ignore_errors=True)
        (slurm_dir / "logs").mkdir(parents=True)
        plan = json.loads((job_dir / "plan.json").read_text())["batches"]
        for batch in plan:
            argv = self._node_argv(ctx, batch["argv"])
            # NUL-separated: the script reads it with mapfile, never as shell words.
            (slurm_dir / f"task_{batch['index']}.argv").write_bytes(
                b"".join(a.encode() + b"\0" for a in argv)
            )
        write_atomically(slurm_dir / "blast.sbatch", self._array_script(ctx))
        return total

    def config_preview(self, ctx: JobContext) -> str:
        """The sbatch options and array script, then each batch's BLAST command line."""
        slurm_dir = self._slurm_dir(ctx)
        script = (slurm_dir / "blast.sbatch").read_text()
        commands = plan_preview(self._local_ctx(ctx), lambda argv: self._node_argv(ctx, argv))
        return f"# {slurm_dir / 'blast.sbatch'}\n{script}\n{commands}"

    def _write_batches(self, ctx: JobContext) -> int:
        """The batches and plan.json exactly as the local engine writes them (its functions,
        its layout, so its collect and make_archives read them), but `slots` equal batches
        rather than many shrinking ones: on SLURM every task waits for a scheduler pass
        (about a second here), so one round of tasks beats fine-grained balancing."""
        slots = self.cluster.slots
        return write_batch_plan(ctx, slots, smallest_share=1 / slots)

    def _node_argv(self, ctx: JobContext, argv: list[str]) -> list[str]:
        """The local engine's argv with the nodes' BLAST and the task's CPUs."""
        program = ctx.program.value
        tool = str(self.conf.blast_bin_dir / program) if self.conf.blast_bin_dir else program
        node = [tool, *argv[1:]]
        if "-num_threads" in node:
            node[node.index("-num_threads") + 1] = str(self.conf.cpus_per_task)
        return node

    def _array_script(self, ctx: JobContext) -> str:
        """The job array's script: only paths and numbers BlastDeck generated, quoted."""
        q = shlex.quote
        slurm_dir = self._slurm_dir(ctx)
        cases = "\n".join(
            f"  {t.index}) table={q(str(t.table))}; status={q(str(t.status))};"
            f" stderr={q(str(t.stderr))} ;;"
            for t in self._tasks(ctx)
        )
        return f"""#!/bin/bash
# BlastDeck job {ctx.job_id}: one BLAST batch per array task.
# Each task's command line is in task_<N>.argv (NUL-separated), read without a shell.
set -u
case "${{SLURM_ARRAY_TASK_ID:?not an array task}}" in
{cases}
  *) echo "BlastDeck: no batch $SLURM_ARRAY_TASK_ID" >&2; exit 2 ;;
esac
write_status() {{ printf '%s\\n' "$1" > "$status.part" && mv -f "$status.part" "$status"; }}
{self._stage_function(ctx)}
if ! stage_db; then
  echo "BlastDeck: could not copy the database to this node's scratch dir" > "$stderr"
  write_status 70; exit 70
fi
export BLASTDB={q(str(self._node_db_dir(ctx)))}
mapfile -d '' -t argv < {q(str(slurm_dir))}/task_"$SLURM_ARRAY_TASK_ID".argv
rm -f -- "$table.part" "$status"
"${{argv[@]}}" 2> "$stderr"
rc=$?
if [ "$rc" -eq 0 ]; then mv -f -- "$table.part" "$table" || rc=74; fi
write_status "$rc"
exit "$rc"
"""

    # -- running ---------------------------------------------------------------------------------

    def submit(self, ctx: JobContext) -> str:
        # A process that died between sbatch and storing the handle left a live array: adopt
        # it rather than run every batch twice.
        earlier = self._recorded_arrays(ctx)
        if earlier:
            records = self._records(ctx, earlier, self._squeue_doc(fresh=True))
            if any(r.active for r in records.values()):
                return "slurm:" + "+".join(str(i) for i in earlier)
        pending = [t for t in self._tasks(ctx) if not t.table.exists()]
        return f"slurm:{self._submit_tasks(ctx, pending)}"

    def _recorded_arrays(self, ctx: JobContext) -> list[int]:
        try:
            text = (self._slurm_dir(ctx) / "array.jobids").read_text()
        except OSError:
            return []
        return [int(x) for x in text.split() if x.isdigit()]

    def _submit_tasks(self, ctx: JobContext, tasks: list[_Task]) -> int:
        for task in tasks:
            task.status.unlink(missing_ok=True)
            self._no_status_since.pop((ctx.job_id, task.index), None)
        indices = ",".join(str(t.index) for t in tasks) or "0"
        if self.conf.array_throttle:
            indices += f"%{self.conf.array_throttle}"
        slurm_dir = self._slurm_dir(ctx)
        options = [
            *self._common_options(ctx),
            f"--job-name=blastdeck-{ctx.job_id[:8]}",
            f"--array={indices}",
            f"--output={slurm_dir / 'logs' / 'task_%a.log'}",
            "--ntasks=1",
            f"--cpus-per-task={self.conf.cpus_per_task}",
        ]
        if self.conf.mem_per_task:
            options.append(f"--mem={self.conf.mem_per_task}")
        if self.conf.time_limit:
            options.append(f"--time={self.conf.time_limit}")
        job_id = self._sbatch(options, slurm_dir / "blast.sbatch")
        # Also on disk: a cancel must find the array even if the handle was never stored.
        with (slurm_dir / "array.jobids").open("a") as fh:
            fh.write(f"{job_id}\n")
        write_atomically(slurm_dir / "submit.json", json.dumps({"argv": options, "id": job_id}))
        return job_id

    def resume(self, ctx: JobContext, handle: str) -> str:
        """Re-attach by the stored SLURM job id(s). Tasks SLURM has no record of (or lost with
        a node) are submitted again as a new array; running ones are left alone."""
        ids = _array_ids(handle)
        records = self._records(ctx, ids, self._squeue_doc(fresh=True))
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
                jobcomp = self._jobcomp_text() if jobcomp is None else jobcomp
                found = sc.jobcomp_array_tasks(jobcomp, job_id)
            records.update(found)
        return records

    def poll(self, ctx: JobContext, handle: str) -> Progress:
        ids = _array_ids(handle)
        tasks = self._tasks(ctx)
        if all(t.table.exists() for t in tasks):
            return Progress(len(tasks), len(tasks), True)
        try:
            doc: dict[str, Any] | None = self._squeue_doc()
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
        task: _Task,
        record: sc.TaskRecord | None,
        have_view: bool,
        ids: list[int],
    ) -> BlastDeckError | None:
        where = f"batch {task.index} (SLURM job {ids[-1]}_{task.index})"
        if task.status.exists():
            rc_text = task.status.read_text().strip()
            rc = int(rc_text) if rc_text.lstrip("-").isdigit() else -1
            if rc == 0:
                return None  # its table is being renamed into place
            return self._blast_error(task, where, rc)
        if record is not None and record.active:
            self._no_status_since.pop((ctx.job_id, task.index), None)
            return None
        if record is None and not have_view:
            return None  # the controller is silent: nothing to conclude yet
        key = (ctx.job_id, task.index)
        first = self._no_status_since.setdefault(key, time.monotonic())
        if record is not None and record.state != "COMPLETED":
            self._no_status_since.pop(key, None)
            return self._slurm_error(task, where, record)
        if time.monotonic() - first < MISSING_STATUS_GRACE_S:
            return None  # its files may not have reached this host yet
        self._no_status_since.pop(key, None)
        said = "ended" if record is not None else "is unknown to SLURM (not in squeue or jobcomp)"
        return BlastDeckError(
            ErrorCode.WORKER_LOST,
            f"{where} {said} without leaving a result. {_read_tail(task.log)}".strip(),
        )

    def _blast_error(self, task: _Task, where: str, rc: int) -> BlastDeckError:
        stderr = _read_tail(task.stderr)
        said = stderr.lower()
        if rc == _BLAST_EXIT_OUT_OF_MEMORY or any(s in said for s in _BLAST_OOM_SIGNS):
            return self._oom_error(where, stderr)
        how = f"was killed by signal {rc - 128}" if rc > 128 else f"exited with code {rc}"
        return BlastDeckError(
            ErrorCode.BLAST_SEARCH_FAILED,
            f"BLAST {how} in {where}: {stderr or 'no message'}",
        )

    def _oom_error(self, where: str, said: str) -> BlastDeckError:
        memory = self.conf.mem_per_task or "the partition's default"
        return BlastDeckError(
            ErrorCode.BLAST_OUT_OF_MEMORY,
            f"BLAST ran out of memory in {where}: cluster {self.cluster.name} gives each task "
            f"{memory} (cluster setting mem_per_task). Raise mem_per_task, or search fewer or "
            f"shorter queries per job. ({said[-300:] or 'SLURM killed the task'})",
        )

    def _slurm_error(self, task: _Task, where: str, record: sc.TaskRecord) -> BlastDeckError:
        slurm_log = _read_tail(task.log)
        if record.state == "OUT_OF_MEMORY" or sc.killed_for_memory(slurm_log):
            return self._oom_error(where, slurm_log)
        if record.state in ("TIMEOUT", "DEADLINE"):
            limit = self.conf.time_limit or "the partition's limit"
            return BlastDeckError(
                ErrorCode.BLAST_TIMEOUT,
                f"BLAST reached the time limit in {where}: cluster {self.cluster.name} gives "
                f"each task {limit} (cluster setting time_limit). Raise time_limit, or search "
                "fewer queries per job.",
            )
        if record.state in sc.RERUNNABLE_STATES:
            return BlastDeckError(
                ErrorCode.WORKER_LOST, f"{where} ended {record.state}: {slurm_log}".strip()
            )
        how = {"CANCELLED": "was cancelled outside BlastDeck (scancel or an administrator)"}.get(
            record.state, f"ended {record.state}"
        )
        if record.signal:
            how += f", killed by signal {record.signal}"
        elif record.rc:
            how += f", exit code {record.rc}"
        stderr = _read_tail(task.stderr)
        return BlastDeckError(
            ErrorCode.BLAST_SEARCH_FAILED,
            f"BLAST {how} in {where}: {stderr or slurm_log or 'no message'}",
        )

    # -- results ---------------------------------------------------------------------------------

    def collect(self, ctx: JobContext) -> JobResults:
        return self._local.collect(self._local_ctx(ctx))

    def make_archives(self, ctx: JobContext) -> JobResults:
        """Archives are made on this host from the registered database, as the local engine
        does: a download should not wait in the cluster's queue."""
        return self._local.make_archives(self._local_ctx(ctx))

    # -- cancel ----------------------------------------------------------------------------------

    def cancel(self, ctx: JobContext, handle: str | None) -> None:
        ids = {*_array_ids(handle), *self._recorded_arrays(ctx)}
        with contextlib.suppress(OSError, ValueError):
            ids.add(int((self._slurm_dir(ctx) / "stage.jobid").read_text()))
        if not ids:
            return
        try:
            self._command(["scancel", *(str(i) for i in sorted(ids))])
            # Wait until SLURM has stopped them: "cancelled" must mean nothing runs any more.
            deadline = time.monotonic() + CANCEL_WAIT_S
            while time.monotonic() < deadline:
                doc = self._squeue_doc(fresh=True)
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


def _done(tasks: list[_Task]) -> int:
    return sum(1 for t in tasks if t.table.exists())


def _read_tail(path: Path, limit: int = 1500) -> str:
    try:
        return tail(path.read_bytes(), limit)
    except OSError:
        return ""
