"""The `local` engine: BLAST+ as subprocesses on this host.

The query set is split into batches of whole sequences that run in parallel over the cluster's
slots (one single-threaded BLAST process per slot), each writing an ASN.1 archive; results are
merged in query order later. Everything the run needs is in the job's work dir (`plan.json`,
batch FASTA files, one `.pid`/`.asn`/`.failed` file per batch), so a restarted process can tell
what finished and re-run only the rest.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blastdeck.blast_tools import blast_env, tail, tool_path
from blastdeck.databases import database_files
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.fasta import QueryLimits, parse_query, split_batches, to_fasta
from blastdeck.domain.options import blast_arguments
from blastdeck.domain.programs import shape_of
from blastdeck.engines.base import (
    BatchResult,
    ClusterSpec,
    JobContext,
    JobResults,
    Progress,
    WarmState,
)
from blastdeck.engines.slots import HostSlots, host_lock
from blastdeck.files import write_atomically
from blastdeck.results.hits import HIT_TABLE_OUTFMT

STAGE_MARKER = ".blastdeck-staged.json"
# The query was validated on submit; re-reading it must not re-apply per-user limits.
UNLIMITED_QUERY = QueryLimits(10**12, 10**12, 10**9, 10**9)
# How BLAST+ (2.12, checked by hand under RLIMIT_DATA) says an allocation failed: its C++
# bad_alloc handler ("BLAST ran out of memory: ... Failed to allocate N bytes"), glibc, the loader.
_OOM_SIGNS = ("bad_alloc", "out of memory", "cannot allocate memory", "failed to allocate")
_BLAST_EXIT_OUT_OF_MEMORY = 4  # BLAST+'s documented exit code for "out of memory"
# Under a memory limit BLAST's C engine also fails allocations without saying so: it reports
# error -1, or uses the NULL pointer and dies of SIGSEGV/SIGABRT (glibc heap check) or SIGBUS,
# or the loader cannot map a shared library. Read as out-of-memory only when a limit is set.
_LIMITED_OOM_SIGNS = ("unknown error code -1", "failed to map segment", "cannot map zero-fill")
_LIMITED_OOM_SIGNALS = frozenset({signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS})
# BLAST+ does not say "no space left": when a write fails it aborts (uncaught std::ios_failure,
# SIGABRT), and its message is lost when its stderr file is on the same full disk. So a failed
# run whose output filesystem has less than this free is taken as a full disk.
_DISK_FULL_MARGIN_BYTES = 1 << 20
MEMORY_LIMIT_SETTING = "memory_limit_mb"
MAX_MEMORY_LIMIT_MB = 2**40  # in bytes, 2**60: within setrlimit's signed 64 bits
# Runs in the child: set the limit, then become BLAST (same pid, same process group). A
# preexec_fn would do it too, but is not safe with the runner threads of this process.
_LIMIT_THEN_EXEC = (
    "import os, resource, sys; n = int(sys.argv[1]); "
    "resource.setrlimit(resource.RLIMIT_DATA, (n, n)); os.execv(sys.argv[2], sys.argv[2:])"
)


@dataclass(frozen=True)
class _Batch:
    index: int
    fasta: Path
    table: Path  # the hit table BLAST writes in the run (results.hits.HIT_TABLE_OUTFMT)
    archive: Path  # the ASN.1 archive, made only when a download needs it
    query_ids: tuple[str, ...]
    query_offset: int
    argv: tuple[str, ...]
    archive_argv: tuple[str, ...]

    def _beside(self, suffix: str) -> Path:
        return self.fasta.with_suffix(suffix)

    @property
    def pid_file(self) -> Path:
        return self._beside(".pid")

    @property
    def failed_file(self) -> Path:
        return self._beside(".failed")

    @property
    def stderr_file(self) -> Path:
        return self._beside(".stderr")


class _Run:
    """The processes of one job in this process: started by submit, stopped by cancel."""

    def __init__(self) -> None:
        self.cancelled = False
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.mutex = threading.Lock()
        # Failed batches, also kept here: on a full disk the .failed file may not be writable.
        self.failures: dict[int, dict[str, Any]] = {}
        self.runners: list[threading.Thread] = []


class LocalEngine:
    poll_interval_s = 0.05

    def __init__(self, cluster: ClusterSpec, scratch_root: Path) -> None:
        self.cluster = cluster
        self.scratch = Path(cluster.settings.get("scratch_dir") or scratch_root / cluster.name)
        self._slots = HostSlots(self.scratch / "slots", cluster.slots)
        self.memory_limit_mb = _memory_limit_mb(cluster.name, cluster.settings)
        self._runs: dict[str, _Run] = {}
        self._plans: dict[str, tuple[int, list[_Batch]]] = {}

    # -- warm database copies ----------------------------------------------------------------

    def _warm_dir(self, ctx: JobContext) -> Path:
        return self.scratch / "dbs" / ctx.database.name

    def warmup_check(self, ctx: JobContext) -> WarmState:
        warm_dir = self._warm_dir(ctx)
        marker = warm_dir / STAGE_MARKER
        wanted = database_fingerprint(ctx.database.prefix)
        try:
            staged = json.loads(marker.read_text()).get("fingerprint")
        except (OSError, ValueError):
            return WarmState(False, str(warm_dir), f"no staged copy of {ctx.database.name} yet")
        if staged != wanted:
            return WarmState(False, str(warm_dir), "staged copy is out of date")
        return WarmState(True, str(warm_dir), "current staged copy found")

    def stage_db(self, ctx: JobContext) -> str:
        warm_dir = self._warm_dir(ctx)
        try:
            # Jobs on one database, in any thread or worker process, stage it once.
            with host_lock(warm_dir.parent / f".{warm_dir.name}.lock"):
                if self.warmup_check(ctx).warm:
                    return str(warm_dir)
                staging = warm_dir.parent / f".{warm_dir.name}.{uuid.uuid4().hex}"
                staging.mkdir()
                try:
                    for source in database_files(ctx.database.prefix):
                        shutil.copy2(source, staging / source.name)
                    marker = {"fingerprint": database_fingerprint(ctx.database.prefix)}
                    write_atomically(staging / STAGE_MARKER, json.dumps(marker))
                    _swap_dir(staging, warm_dir)
                finally:
                    shutil.rmtree(staging, ignore_errors=True)
        except OSError as exc:
            raise BlastDeckError(
                ErrorCode.STAGING_FAILED, f"Could not stage {ctx.database.name}: {exc}"
            ) from exc
        return str(warm_dir)

    # -- batches ---------------------------------------------------------------------------------

    def configure(self, ctx: JobContext) -> int:
        return write_batch_plan(ctx, self.cluster.slots)

    def config_preview(self, ctx: JobContext) -> str:
        return plan_preview(ctx)

    def _plan(self, ctx: JobContext) -> list[_Batch]:
        """The job's batches from plan.json; while the job runs, parsed once per version of the
        file, since the running step polls it many times a second."""
        path = ctx.work_dir / "plan.json"
        version = path.stat().st_mtime_ns
        cached = self._plans.get(ctx.job_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        batches = [
            _Batch(
                index=b["index"],
                fasta=Path(b["fasta"]),
                table=Path(b["table"]),
                archive=Path(b["archive"]),
                query_ids=tuple(b["query_ids"]),
                query_offset=b["query_offset"],
                argv=tuple(b["argv"]),
                archive_argv=tuple(b["archive_argv"]),
            )
            for b in json.loads(path.read_text())["batches"]
        ]
        if ctx.job_id in self._runs:  # only while the run is live; dropped when it ends
            self._plans[ctx.job_id] = (version, batches)
        return batches

    # -- running ---------------------------------------------------------------------------------

    def submit(self, ctx: JobContext) -> str:
        run = _Run()
        self._runs[ctx.job_id] = run
        env = blast_env(self._warm_dir(ctx))
        pending = deque(b for b in self._plan(ctx) if not b.table.exists())
        for batch in pending:
            batch.failed_file.unlink(missing_ok=True)
        # One runner per slot takes the batches in order: the largest go first.
        for n in range(min(self.cluster.slots, len(pending))):
            runner = threading.Thread(
                target=self._runner,
                args=(run, pending, env),
                daemon=True,
                name=f"blast-{ctx.job_id[:8]}-{n}",
            )
            run.runners.append(runner)
            runner.start()
        return f"local:{os.getpid()}:{ctx.job_id}"

    def _runner(self, run: _Run, pending: deque[_Batch], env: dict[str, str]) -> None:
        while not run.cancelled:
            try:
                batch = pending.popleft()
            except IndexError:
                return
            self._run_batch(run, batch, env)

    def _run_batch(self, run: _Run, batch: _Batch, env: dict[str, str]) -> None:
        try:
            failure = self._run_blast(run, batch, batch.argv, env, batch.table)
        except OSError as exc:  # no slot dir, no disk space...: a failure, never a hang
            failure = {
                "rc": None,
                "stderr": f"could not run BLAST: {type(exc).__name__}: {exc}",
                "storage_full": exc.errno == errno.ENOSPC,
            }
        if failure is not None:
            run.failures[batch.index] = failure
            try:
                # poll() may read it at any moment: never let it see half a file
                write_atomically(batch.failed_file, json.dumps(failure))
            except OSError:  # a full disk: poll() has it from run.failures
                partial_path(batch.failed_file).unlink(missing_ok=True)

    def _run_blast(
        self, run: _Run, batch: _Batch, argv: tuple[str, ...], env: dict[str, str], output: Path
    ) -> dict[str, Any] | None:
        """Run one BLAST process in a free slot; its output appears at `output` only if it
        succeeded. Returns the failure (exit status, stderr tail, full disk?), else None."""
        with self._slots.hold(give_up=lambda: run.cancelled) as held:
            if not held:
                return None
            with run.mutex:
                if run.cancelled:
                    return None
                with batch.stderr_file.open("wb") as err:
                    proc = subprocess.Popen(
                        self._limited(argv),
                        stdout=subprocess.DEVNULL,
                        stderr=err,
                        env=env,
                        cwd=batch.fasta.parent,
                        start_new_session=True,
                    )
                run.procs[batch.index] = proc
                write_atomically(batch.pid_file, str(proc.pid))
            returncode = proc.wait()
            with run.mutex:
                run.procs.pop(batch.index, None)
                batch.pid_file.unlink(missing_ok=True)
                if run.cancelled:
                    return None
            if returncode != 0:
                stderr = tail(batch.stderr_file.read_bytes())
                full = "no space left" in stderr.lower() or _disk_full(output.parent)
                # What BLAST wrote is incomplete; removing it also gives back the space it took.
                partial_path(output).unlink(missing_ok=True)
                return {"rc": returncode, "stderr": stderr, "storage_full": full}
            os.replace(partial_path(output), output)
            return None

    def _limited(self, argv: tuple[str, ...]) -> list[str]:
        """The command line that runs `argv` under the cluster's memory limit, if it has one.

        RLIMIT_DATA caps the private memory BLAST allocates (heap, anonymous maps, stacks) but
        not the database files it maps read-only, so the limit means the same for any database.
        """
        if self.memory_limit_mb is None:
            return list(argv)
        limit = str(self.memory_limit_mb * 1024 * 1024)
        return [sys.executable, "-S", "-c", _LIMIT_THEN_EXEC, limit, *argv]

    def make_archives(self, ctx: JobContext) -> JobResults:
        """Run the batches again with -outfmt 11 for the downloads that need an archive.

        Done on request, not in the job: the archive costs BLAST as much again to write and to
        format, and many users only want the table.
        """
        pending = [b for b in self._plan(ctx) if not b.archive.exists()]
        run = _Run()
        env = blast_env(ctx.database.prefix.parent)  # the registered copy is always there
        failures: list[tuple[_Batch, dict[str, Any]]] = []

        def one(batch: _Batch) -> None:
            failure = self._run_blast(run, batch, batch.archive_argv, env, batch.archive)
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
                raise _storage_full(batch, output=batch.archive)
            raise BlastDeckError(
                ErrorCode.EXPORT_FAILED,
                f"BLAST could not write the archive of batch {batch.index} "
                f"(exit {failure['rc']}): {failure['stderr']}",
            )
        return self.collect(ctx)

    def resume(self, ctx: JobContext, handle: str) -> str:
        run = self._runs.get(ctx.job_id)
        if run is not None and not run.cancelled and any(t.is_alive() for t in run.runners):
            # This process still runs the batches (the pipeline only lost its database for a
            # while): keep them. Killing them would waste their work, and their runners would
            # record the kills as failures of the new run.
            return handle
        self._kill_recorded(ctx)
        return self.submit(ctx)

    def poll(self, ctx: JobContext, handle: str) -> Progress:
        plan = self._plan(ctx)
        done = sum(1 for b in plan if b.table.exists())
        run = self._runs.get(ctx.job_id)
        for batch in plan:
            failure = run.failures.get(batch.index) if run is not None else None
            if failure is None and batch.failed_file.exists():
                failure = json.loads(batch.failed_file.read_text())
            if failure is not None:
                error = _batch_error(batch, failure, self.cluster.name, self.memory_limit_mb)
                return Progress(done, len(plan), True, error)
        if done == len(plan):
            self._runs.pop(ctx.job_id, None)
            self._plans.pop(ctx.job_id, None)
            return Progress(done, len(plan), True)
        if ctx.job_id not in self._runs:
            lost = BlastDeckError(ErrorCode.WORKER_LOST, "the BLAST processes of this job are gone")
            return Progress(done, len(plan), True, lost)
        return Progress(done, len(plan))

    def collect(self, ctx: JobContext) -> JobResults:
        batches = tuple(
            BatchResult(
                table=b.table,
                archive=b.archive,
                query_ids=b.query_ids,
                query_offset=b.query_offset,
            )
            for b in self._plan(ctx)
        )
        return JobResults(batches, ctx.database.prefix.parent)

    def cancel(self, ctx: JobContext, handle: str | None) -> None:
        run = self._runs.pop(ctx.job_id, None)
        self._plans.pop(ctx.job_id, None)
        if run is not None:
            with run.mutex:
                run.cancelled = True
                for proc in run.procs.values():
                    _kill_group(proc.pid)
        self._kill_recorded(ctx)

    def _kill_recorded(self, ctx: JobContext) -> None:
        """Kill BLAST processes a previous server process left behind (their pid files)."""
        batches_dir = ctx.work_dir / "batches"
        if not batches_dir.is_dir():
            return
        for pid_file in batches_dir.glob("*.pid"):
            try:
                pid = int(pid_file.read_text())
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except (OSError, ValueError):
                pid_file.unlink(missing_ok=True)
                continue
            if str(batches_dir).encode() in cmdline:  # still ours, not a reused pid
                _kill_group(pid)
            pid_file.unlink(missing_ok=True)
        for partial in batches_dir.glob("*.part"):
            partial.unlink(missing_ok=True)


def write_batch_plan(ctx: JobContext, slots: int, **split: float) -> int:
    """Split the job's queries into batch FASTA files and write plan.json (each batch's files
    and BLAST argv), which `collect` and `make_archives` read; `split` tunes split_batches.
    Returns the number of batches."""
    records = parse_query(ctx.query_path.read_text(), shape_of(ctx.program).query, UNLIMITED_QUERY)
    batches_dir = ctx.work_dir / "batches"
    shutil.rmtree(batches_dir, ignore_errors=True)
    batches_dir.mkdir(parents=True)
    plan, offset = [], 0
    for i, batch in enumerate(split_batches(records, slots, **split)):
        fasta = batches_dir / f"batch_{i:03d}.fa"
        fasta.write_text(to_fasta(batch))
        table, archive = fasta.with_suffix(".hits.tsv"), fasta.with_suffix(".asn")
        plan.append(
            {
                "index": i,
                "fasta": str(fasta),
                "table": str(table),
                "archive": str(archive),
                "query_ids": [r.id for r in batch],
                "query_offset": offset,
                "argv": blast_argv(ctx, fasta, HIT_TABLE_OUTFMT, partial_path(table)),
                "archive_argv": blast_argv(ctx, fasta, "11", partial_path(archive)),
            }
        )
        offset += len(batch)
    write_atomically(ctx.work_dir / "plan.json", json.dumps({"batches": plan}, indent=1))
    return len(plan)


def plan_preview(
    ctx: JobContext, argv_for: Callable[[list[str]], list[str]] = lambda argv: argv
) -> str:
    """Each batch's queries and the exact BLAST command line it runs (no shell: shown quoted);
    `argv_for` turns the plan's argv into the one the engine really runs."""
    plan = json.loads((ctx.work_dir / "plan.json").read_text())["batches"]
    lines = [f"# {len(plan)} batch(es); each runs one BLAST+ process"]
    for batch in plan:
        ids = batch["query_ids"]
        lines.append(f"\n# batch {batch['index']}: {len(ids)} queries ({ids[0]} ... {ids[-1]})")
        lines.append(shlex.join(argv_for(batch["argv"])))
    return "\n".join(lines) + "\n"


def partial_path(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def blast_argv(ctx: JobContext, fasta: Path, outfmt: str, out: Path) -> list[str]:
    """The exact BLAST command line; user options come only through the allow-list."""
    return [
        tool_path(ctx.program.value),
        "-query",
        str(fasta),
        "-db",
        ctx.database.prefix.name,
        "-outfmt",
        outfmt,
        "-out",
        str(out),
        "-num_threads",
        "1",
        *blast_arguments(ctx.program, ctx.options),
    ]


def check_settings(cluster: str, settings: dict[str, str]) -> None:
    """Refuse bad values when the cluster is added, not when its first job runs."""
    _memory_limit_mb(cluster, settings)


def _memory_limit_mb(cluster: str, settings: dict[str, str]) -> int | None:
    value = settings.get(MEMORY_LIMIT_SETTING, "").strip()
    if not value:
        return None
    # isdigit() also says yes to "²" and to 5000 digits, which int() refuses: ASCII digits,
    # and few enough that the limit in bytes fits setrlimit's 64 bits.
    digits = value.isascii() and value.isdigit() and len(value) <= len(str(MAX_MEMORY_LIMIT_MB))
    if not digits or not 1 <= int(value) <= MAX_MEMORY_LIMIT_MB:
        raise BlastDeckError(
            ErrorCode.INVALID_CLUSTER_SETTING,
            f"Cluster {cluster}: {MEMORY_LIMIT_SETTING} must be a whole number of "
            f"megabytes from 1 to {MAX_MEMORY_LIMIT_MB}, not {value[:40]!r}.",
            field=f"settings.{MEMORY_LIMIT_SETTING}",
        )
    return int(value)


def _disk_full(directory: Path) -> bool:
    """Whether the filesystem holding `directory` has (next to) no room left for this user."""
    try:
        stat = os.statvfs(directory)
    except OSError:
        return False
    blocks = stat.f_bfree if os.geteuid() == 0 else stat.f_bavail  # root may use reserved ones
    return blocks * stat.f_frsize < _DISK_FULL_MARGIN_BYTES


def _storage_full(batch: _Batch, output: Path) -> BlastDeckError:
    return BlastDeckError(
        ErrorCode.STORAGE_FULL,
        f"No space left on the disk holding {output.parent} to write the results of batch "
        f"{batch.index}; free some space (or delete old jobs) and submit the job again.",
    )


def _batch_error(
    batch: _Batch, failure: dict[str, Any], cluster: str, memory_limit_mb: int | None
) -> BlastDeckError:
    rc, stderr = failure["rc"], failure["stderr"]
    if failure.get("storage_full"):
        return _storage_full(batch, output=batch.table)
    said = stderr.lower()
    out_of_memory = rc == _BLAST_EXIT_OUT_OF_MEMORY or any(s in said for s in _OOM_SIGNS)
    if memory_limit_mb is not None and not out_of_memory and rc is not None:
        crashed = rc < 0 and -rc in _LIMITED_OOM_SIGNALS
        out_of_memory = crashed or any(s in said for s in _LIMITED_OOM_SIGNS)
    if out_of_memory:
        if memory_limit_mb is None:
            limit = f"the host did not have the memory this search needs on cluster {cluster}"
        else:
            limit = (
                f"cluster {cluster} allows each BLAST process {memory_limit_mb} MB of memory "
                f"(cluster setting {MEMORY_LIMIT_SETTING}={memory_limit_mb})"
            )
        detail = stderr[-300:] or "nothing"
        if rc is not None and rc < 0 and -rc in _LIMITED_OOM_SIGNALS:
            detail += f"; it died of {signal.Signals(-rc).name}, as it does when memory runs out"
        return BlastDeckError(
            ErrorCode.BLAST_OUT_OF_MEMORY,
            f"BLAST ran out of memory in batch {batch.index}: {limit}. Search fewer or shorter "
            f"queries per job, or use a cluster with more memory. (BLAST said: {detail})",
        )
    if rc is None:
        how = "did not run"
    else:
        how = f"was killed by signal {-rc}" if rc < 0 else f"exited with code {rc}"
    return BlastDeckError(
        ErrorCode.BLAST_SEARCH_FAILED,
        f"BLAST {how} in batch {batch.index}: {stderr or 'no message'}",
    )


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def database_fingerprint(prefix: Path) -> str:
    """Identity of a database's current files: names, sizes, mtimes and index-file contents."""
    digest = hashlib.sha256()
    for path in database_files(prefix):
        stat = path.stat()
        digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        if path.suffix in (".nin", ".pin"):
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _swap_dir(new: Path, target: Path) -> None:
    """Put `new` in place of `target` with renames, so no reader sees a half-copied database."""
    old = target.parent / f".{target.name}.old-{uuid.uuid4().hex}"
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)
