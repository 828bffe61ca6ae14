"""BLAST+ processes on this host: one per slot, under an optional memory limit, and why one failed.

A `BlastProcesses` runs a batch's BLAST in one of its cluster's host slots (`slots.py`), in a
process group of its own with a pid file beside the batch, so a cancel (or a later process after
a restart) can kill exactly it. Its output appears at the target path only when BLAST succeeded
(written to `.part`, then renamed). A failure is returned as a record (exit status, stderr tail,
full disk?) that `failure_error` turns into the error the job reports.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blastdeck.blast_tools import DatabaseDir, tail
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.engines.batch_plan import BATCHES_DIR, Batch, Steps, partial_path
from blastdeck.engines.slots import HostSlots
from blastdeck.files import write_atomically

# How BLAST+ (2.12, checked by hand under RLIMIT_DATA) says an allocation failed: its C++
# bad_alloc handler ("BLAST ran out of memory: ... Failed to allocate N bytes"), glibc, the loader.
BLAST_OOM_SIGNS = ("bad_alloc", "out of memory", "cannot allocate memory", "failed to allocate")
BLAST_EXIT_OUT_OF_MEMORY = 4  # BLAST+'s documented exit code for "out of memory"
# Under a memory limit BLAST's C engine also fails allocations without saying so: it reports
# error -1, or uses the NULL pointer and dies of SIGSEGV/SIGABRT (glibc heap check) or SIGBUS,
# or the loader cannot map a shared library. Read as out-of-memory only when a limit is set.
_LIMITED_OOM_SIGNS = ("unknown error code -1", "failed to map segment", "cannot map zero-fill")
_LIMITED_OOM_SIGNALS = frozenset({signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS})
# BLAST+ does not say "no space left": when a write fails it aborts (uncaught std::ios_failure,
# SIGABRT), and its message is lost when its stderr file is on the same full disk. So a failed
# run whose output filesystem has less than this free is taken as a full disk.
_DISK_FULL_MARGIN_BYTES = 1 << 20
# BLAST runs below the server's CPU priority: on a busy host the API, the job streams and the
# pipeline's own steps answer first and BLAST, hours of CPU, loses milliseconds; on an idle
# host it changes nothing. It stays in the server's session (a process group of its own, for
# killing): Linux's autogroup scheduler gives each session one share of the CPU, so the server
# and its BLAST get one share together beside other sessions, and the nice orders them within.
BLAST_NICE = 10
MEMORY_LIMIT_SETTING = "memory_limit_mb"
MAX_MEMORY_LIMIT_MB = 2**40  # in bytes, 2**60: within setrlimit's signed 64 bits
# Runs in the child: set the limit, then become BLAST (same pid, same process group). A
# preexec_fn would do it too, but is not safe with the runner threads of this process.
_LIMIT_THEN_EXEC = (
    "import os, resource, sys; n = int(sys.argv[1]); "
    "resource.setrlimit(resource.RLIMIT_DATA, (n, n)); os.execv(sys.argv[2], sys.argv[2:])"
)


@dataclass(eq=False)  # a run is itself, not its contents: runs are kept in sets
class BlastRun:
    """The BLAST processes of one job in this process: started by submit, stopped by cancel."""

    cancelled: bool = False
    procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    mutex: threading.Lock = field(default_factory=threading.Lock)
    # Failed batches, also kept here: on a full disk the .failed file may not be writable.
    failures: dict[int, dict[str, Any]] = field(default_factory=dict)
    runners: list[threading.Thread] = field(default_factory=list)
    # Set when a batch's process has ended (its output or failure recorded): the engine's wait
    changed: threading.Event = field(default_factory=threading.Event)
    # Processes started so far (the engine's submit waits for its first ones).
    started: int = 0
    _started_changed: threading.Condition = field(default_factory=threading.Condition)

    def note_started(self) -> None:
        with self._started_changed:
            self.started += 1
            self._started_changed.notify_all()

    def wait_started(self, count: int, timeout_s: float) -> bool:
        """Wait until `count` processes have started (or the run was cancelled), at most
        `timeout_s`; whether they have."""
        with self._started_changed:
            return self._started_changed.wait_for(
                lambda: self.started >= count or self.cancelled, max(0.0, timeout_s)
            )

    def cancel(self) -> None:
        with self.mutex:
            self.cancelled = True
            for proc in self.procs.values():
                kill_group(proc.pid)
        with self._started_changed:  # a submit waiting for its processes stops waiting
            self._started_changed.notify_all()

    def wait_ended(self, timeout_s: float) -> bool:
        """After cancel(): wait (at most `timeout_s`) for the runners to see their killed
        processes end, so that a job said to be cancelled has no BLAST process left (SIGKILL
        is delivered at once, but a process with a big database mapped takes a moment to go,
        longer on a loaded host). Whether they all ended."""
        deadline = time.monotonic() + timeout_s
        for runner in self.runners:
            if runner is not threading.current_thread():
                runner.join(max(0.0, deadline - time.monotonic()))
        return not any(r.is_alive() for r in self.runners)


class BlastProcesses:
    """Runs BLAST processes in a cluster's host slots, under its memory limit if it has one."""

    def __init__(self, slots: HostSlots, memory_limit_mb: int | None = None) -> None:
        self._slots = slots
        self.memory_limit_mb = memory_limit_mb

    def run(
        self, run: BlastRun, batch: Batch, argv: Sequence[str], where: DatabaseDir, output: Path
    ) -> dict[str, Any] | None:
        """Run `argv` for `batch` in a free slot, in the database's directory (`where`: BLAST
        finds it by bare name); its output appears at `output` only if BLAST succeeded.
        Returns the failure (exit status, stderr tail, full disk?), else None (also when the
        run was cancelled)."""
        return self._guarded(run, batch, ((tuple(argv), output),), where)

    def run_batch(self, run: BlastRun, batch: Batch, where: DatabaseDir) -> None:
        """Run the batch's search (its hit table: written by BLAST, or formatted from the
        archive its search wrote, `Batch.steps`); a failure is recorded beside the batch
        (`.failed`) and in `run.failures`, where the engine's poll finds it."""
        failure = self._guarded(run, batch, batch.steps(), where)
        if failure is not None:
            run.failures[batch.index] = failure
            try:
                # poll() may read it at any moment: never let it see half a file
                write_atomically(batch.failed_file, json.dumps(failure))
            except OSError:  # a full disk: poll() has it from run.failures
                partial_path(batch.failed_file).unlink(missing_ok=True)
        run.changed.set()  # after the output (or failure) is in place: poll() will see it

    def _guarded(
        self, run: BlastRun, batch: Batch, steps: Steps, where: DatabaseDir
    ) -> dict[str, Any] | None:
        try:
            return self._run(run, batch, steps, where)
        except OSError as exc:  # no slot dir, no disk space...: a failure, never a hang
            return {
                "rc": None,
                "stderr": f"could not run BLAST: {type(exc).__name__}: {exc}",
                "storage_full": exc.errno == errno.ENOSPC,
            }

    def _run(
        self, run: BlastRun, batch: Batch, steps: Steps, where: DatabaseDir
    ) -> dict[str, Any] | None:
        """The steps one after the other within one hold of the batch's slots (a step's file
        is in place before the next reads it); the CPU of all of them is the table's."""
        cpu_total = 0.0
        with self._slots.hold(give_up=lambda: run.cancelled, count=batch.slots) as held:
            if not held:
                return None
            for i, (argv, output) in enumerate(steps):
                ended = self._one(run, batch, argv, where, "ab" if i else "wb")
                if ended is None:
                    return None  # cancelled
                returncode, cpu_s = ended
                if returncode != 0:
                    stderr = tail(batch.stderr_file.read_bytes())
                    full = "no space left" in stderr.lower() or _disk_full(output.parent)
                    # What BLAST wrote is incomplete; removing it also gives back its space.
                    partial_path(output).unlink(missing_ok=True)
                    return {"rc": returncode, "stderr": stderr, "storage_full": full}
                os.replace(partial_path(output), output)
                cpu_total += cpu_s
            if steps[-1][1] == batch.table:
                with contextlib.suppress(OSError):  # a metric only: never the batch's failure
                    batch.cpu_file.write_text(f"{cpu_total:.3f}\n")
            return None

    def _one(
        self, run: BlastRun, batch: Batch, argv: Sequence[str], where: DatabaseDir, mode: str
    ) -> tuple[int, float] | None:
        """Start one process of the batch and wait for it: (exit status, CPU seconds), or None
        when the run was cancelled before or while it ran. Its stderr goes to the batch's
        (`mode` "ab": after the earlier steps')."""
        if run.cancelled:
            return None
        # Started outside the run's mutex, so the runners of a job start their processes side
        # by side (a start takes a few ms); a cancel that came meanwhile is seen just after.
        with batch.stderr_file.open(mode) as err:
            proc = subprocess.Popen(
                self._limited(argv),
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=where.env(),
                cwd=where.path,
                process_group=0,
            )
        lower_priority(proc.pid)
        with run.mutex:
            run.procs[batch.index] = proc
            if run.cancelled:  # cancel() killed those it knew of: this one is ours to kill
                kill_group(proc.pid)
        run.note_started()
        write_atomically(batch.pid_file, str(proc.pid))
        ended = _wait_with_cpu(proc)
        with run.mutex:
            run.procs.pop(batch.index, None)
            batch.pid_file.unlink(missing_ok=True)
            if run.cancelled:
                return None
        return ended

    def _limited(self, argv: Sequence[str]) -> list[str]:
        """The command line that runs `argv` under the cluster's memory limit, if it has one.

        RLIMIT_DATA caps the private memory BLAST allocates (heap, anonymous maps, stacks) but
        not the database files it maps read-only, so the limit means the same for any database.
        """
        if self.memory_limit_mb is None:
            return list(argv)
        limit = str(self.memory_limit_mb * 1024 * 1024)
        return [sys.executable, "-S", "-c", _LIMIT_THEN_EXEC, limit, *argv]


def _wait_with_cpu(proc: subprocess.Popen[bytes]) -> tuple[int, float]:
    """Wait for the process; its exit code and CPU seconds (user + system, from wait4's
    rusage: the process and the children it waited for). Only this thread waits for it."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime


def lower_priority(pid: int) -> None:
    """Give a just-started BLAST process `BLAST_NICE` (the threads it starts later inherit it)."""
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, pid, BLAST_NICE)


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def kill_recorded(work_dir: Path) -> None:
    """Kill BLAST processes an earlier process left behind (their pid files), and drop the
    partial outputs they were writing."""
    batches_dir = work_dir / BATCHES_DIR
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
            kill_group(pid)
        pid_file.unlink(missing_ok=True)
    for partial in batches_dir.glob("*.part"):
        partial.unlink(missing_ok=True)


def memory_limit_mb(cluster: str, settings: dict[str, str]) -> int | None:
    """The cluster's `memory_limit_mb` setting, checked."""
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


def said_out_of_memory(rc: int | None, stderr: str) -> bool:
    """Whether BLAST's exit status or words say it ran out of memory (with or without a limit)."""
    return rc == BLAST_EXIT_OUT_OF_MEMORY or any(s in stderr.lower() for s in BLAST_OOM_SIGNS)


def failure_error(
    batch: Batch, failure: dict[str, Any], cluster: str, memory_limit_mb: int | None
) -> BlastDeckError:
    """The error a failed batch's record means: out of memory, a full disk, or BLAST failed."""
    rc, stderr = failure["rc"], failure["stderr"]
    if failure.get("storage_full"):
        return storage_full(batch.index, batch.table.parent)
    said = stderr.lower()
    out_of_memory = said_out_of_memory(rc, stderr)
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


def storage_full(batch_index: int, where: Path | str) -> BlastDeckError:
    return BlastDeckError(
        ErrorCode.STORAGE_FULL,
        f"No space left on the disk holding {where} to write the results of batch "
        f"{batch_index}; free some space (or delete old jobs) and submit the job again.",
    )


def _disk_full(directory: Path) -> bool:
    """Whether the filesystem holding `directory` has (next to) no room left for this user."""
    try:
        stat = os.statvfs(directory)
    except OSError:
        return False
    blocks = stat.f_bfree if os.geteuid() == 0 else stat.f_bavail  # root may use reserved ones
    return blocks * stat.f_frsize < _DISK_FULL_MARGIN_BYTES
