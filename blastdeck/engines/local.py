"""The `local` engine: BLAST+ as subprocesses on this host.

The query set is split into batches of whole sequences that run in parallel over the cluster's
slots (one single-threaded BLAST process per slot), each writing an ASN.1 archive; results are
merged in query order later. Everything the run needs is in the job's work dir (`plan.json`,
batch FASTA files, one `.pid`/`.asn`/`.failed` file per batch), so a restarted process can tell
what finished and re-run only the rest.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from pathlib import Path

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
_UNLIMITED = QueryLimits(10**12, 10**12, 10**9, 10**9)
_OOM_SIGNS = ("bad_alloc", "out of memory", "cannot allocate memory")


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


class LocalEngine:
    poll_interval_s = 0.05

    def __init__(self, cluster: ClusterSpec, scratch_root: Path) -> None:
        self.cluster = cluster
        self.scratch = Path(cluster.settings.get("scratch_dir") or scratch_root / cluster.name)
        self._slots = HostSlots(self.scratch / "slots", cluster.slots)
        self._runs: dict[str, _Run] = {}
        self._plans: dict[str, tuple[int, list[_Batch]]] = {}

    # -- warm database copies ----------------------------------------------------------------

    def _warm_dir(self, ctx: JobContext) -> Path:
        return self.scratch / "dbs" / ctx.database.name

    def warmup_check(self, ctx: JobContext) -> WarmState:
        warm_dir = self._warm_dir(ctx)
        marker = warm_dir / STAGE_MARKER
        wanted = _fingerprint(ctx.database.prefix)
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
                    marker = {"fingerprint": _fingerprint(ctx.database.prefix)}
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
        records = parse_query(ctx.query_path.read_text(), shape_of(ctx.program).query, _UNLIMITED)
        batches_dir = ctx.work_dir / "batches"
        shutil.rmtree(batches_dir, ignore_errors=True)
        batches_dir.mkdir(parents=True)
        plan, offset = [], 0
        for i, batch in enumerate(split_batches(records, self.cluster.slots)):
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
                    "argv": _blast_argv(ctx, fasta, HIT_TABLE_OUTFMT, _partial(table)),
                    "archive_argv": _blast_argv(ctx, fasta, "11", _partial(archive)),
                }
            )
            offset += len(batch)
        write_atomically(ctx.work_dir / "plan.json", json.dumps({"batches": plan}, indent=1))
        return len(plan)

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
            outcome = self._run_blast(run, batch, batch.argv, env, batch.table)
        except OSError as exc:  # no slot dir, no disk space...: a failure, never a hang
            outcome = (None, f"could not run BLAST: {type(exc).__name__}: {exc}")
        if outcome is not None:
            returncode, stderr = outcome
            failure = {"rc": returncode, "stderr": stderr}
            # poll() may read it at any moment: never let it see half a file
            write_atomically(batch.failed_file, json.dumps(failure))

    def _run_blast(
        self, run: _Run, batch: _Batch, argv: tuple[str, ...], env: dict[str, str], output: Path
    ) -> tuple[int | None, str] | None:
        """Run one BLAST process in a free slot; its output appears at `output` only if it
        succeeded. Returns (exit status, stderr tail) on failure, None otherwise."""
        with self._slots.hold(give_up=lambda: run.cancelled) as held:
            if not held:
                return None
            with run.mutex:
                if run.cancelled:
                    return None
                with batch.stderr_file.open("wb") as err:
                    proc = subprocess.Popen(
                        argv,
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
                return returncode, tail(batch.stderr_file.read_bytes())
            os.replace(_partial(output), output)
            return None

    def make_archives(self, ctx: JobContext) -> JobResults:
        """Run the batches again with -outfmt 11 for the downloads that need an archive.

        Done on request, not in the job: the archive costs BLAST as much again to write and to
        format, and many users only want the table.
        """
        pending = [b for b in self._plan(ctx) if not b.archive.exists()]
        run = _Run()
        env = blast_env(ctx.database.prefix.parent)  # the registered copy is always there
        failures: list[tuple[_Batch, tuple[int | None, str]]] = []

        def one(batch: _Batch) -> None:
            outcome = self._run_blast(run, batch, batch.archive_argv, env, batch.archive)
            if outcome is not None:
                failures.append((batch, outcome))

        threads = [threading.Thread(target=one, args=(b,), daemon=True) for b in pending]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            batch, (rc, stderr) = failures[0]
            raise BlastDeckError(
                ErrorCode.EXPORT_FAILED,
                f"BLAST could not write the archive of batch {batch.index} (exit {rc}): {stderr}",
            )
        return self.collect(ctx)

    def resume(self, ctx: JobContext, handle: str) -> str:
        self._kill_recorded(ctx)
        return self.submit(ctx)

    def poll(self, ctx: JobContext, handle: str) -> Progress:
        plan = self._plan(ctx)
        done = sum(1 for b in plan if b.table.exists())
        for batch in plan:
            if batch.failed_file.exists():
                return Progress(done, len(plan), True, _batch_error(batch))
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


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def _blast_argv(ctx: JobContext, fasta: Path, outfmt: str, out: Path) -> list[str]:
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


def _batch_error(batch: _Batch) -> BlastDeckError:
    data = json.loads(batch.failed_file.read_text())
    rc, stderr = data["rc"], data["stderr"]
    if any(sign in stderr.lower() for sign in _OOM_SIGNS):
        return BlastDeckError(
            ErrorCode.BLAST_OUT_OF_MEMORY,
            f"BLAST ran out of memory in batch {batch.index}: {stderr[-500:]}",
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


def _fingerprint(prefix: Path) -> str:
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
