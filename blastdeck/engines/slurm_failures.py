"""What a failed SLURM array task means: BLAST failed, ran out of memory or time, or SLURM
lost it; each with the cluster setting to change named."""

from __future__ import annotations

import time
from pathlib import Path

from blastdeck.blast_tools import tail
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.engines import slurm_cluster as sc
from blastdeck.engines.blast_process import said_out_of_memory
from blastdeck.engines.slurm_scripts import SlurmTask
from blastdeck.engines.slurm_settings import SlurmSettings

MISSING_STATUS_GRACE_S = 15.0  # a task SLURM calls ended whose status file has not appeared


def read_tail(path: Path, limit: int = 1500) -> str:
    try:
        return tail(path.read_bytes(), limit)
    except OSError:
        return ""


def blast_error(
    cluster: str, conf: SlurmSettings, task: SlurmTask, where: str, rc: int
) -> BlastDeckError:
    """A task whose BLAST exited non-zero (its status file says so)."""
    stderr = read_tail(task.stderr)
    if said_out_of_memory(rc, stderr):
        return oom_error(cluster, conf, where, stderr)
    how = f"was killed by signal {rc - 128}" if rc > 128 else f"exited with code {rc}"
    return BlastDeckError(
        ErrorCode.BLAST_SEARCH_FAILED,
        f"BLAST {how} in {where}: {stderr or 'no message'}",
    )


def task_error(
    cluster: str,
    conf: SlurmSettings,
    task: SlurmTask,
    where: str,
    record: sc.TaskRecord | None,
    have_view: bool,
    waits: dict[tuple[str, int], float],
    key: tuple[str, int],
) -> BlastDeckError | None:
    """Why an unfinished task failed, from its status file and SLURM's record (`have_view`:
    squeue answered); None while it runs or its verdict may still come. `waits[key]`: since
    when this task's verdict has been awaited (the engine's, across polls)."""
    if task.status.exists():
        rc_text = task.status.read_text().strip()
        rc = int(rc_text) if rc_text.lstrip("-").isdigit() else -1
        if rc == 0:
            return None  # its table is being renamed into place
        # A signal SLURM may have sent (time limit, memory): wait for it to say, with grace
        first = waits.setdefault(key, time.monotonic())
        unsaid = rc > 128 and (record is None or record.active)
        if unsaid and time.monotonic() - first < MISSING_STATUS_GRACE_S:
            return None
        waits.pop(key, None)
        return status_error(cluster, conf, task, where, rc, record)
    if record is not None and record.active:
        waits.pop(key, None)
        return None
    if record is None and not have_view:
        return None  # the controller is silent: nothing to conclude yet
    first = waits.setdefault(key, time.monotonic())
    if record is not None and record.state != "COMPLETED":
        waits.pop(key, None)
        return slurm_error(cluster, conf, task, where, record)
    if time.monotonic() - first < MISSING_STATUS_GRACE_S:
        return None  # its files may not have reached this host yet
    waits.pop(key, None)
    said = "ended" if record is not None else "is unknown to SLURM (not in squeue or jobcomp)"
    return BlastDeckError(
        ErrorCode.WORKER_LOST,
        f"{where} {said} without leaving a result. {read_tail(task.log)}".strip(),
    )


def status_error(
    cluster: str,
    conf: SlurmSettings,
    task: SlurmTask,
    where: str,
    rc: int,
    record: sc.TaskRecord | None,
) -> BlastDeckError:
    """A task whose status file says BLAST exited `rc` != 0. When a signal ended it and SLURM
    says the task ended for a reason of its own (TIMEOUT, OUT_OF_MEMORY, CANCELLED...), that
    reason is the cause: the script outlived BLAST long enough to write the signal's status."""
    ended_by_slurm = record is not None and not record.active
    if rc > 128 and ended_by_slurm and record.state not in ("COMPLETED", "FAILED"):
        return slurm_error(cluster, conf, task, where, record)
    return blast_error(cluster, conf, task, where, rc)


def oom_error(cluster: str, conf: SlurmSettings, where: str, said: str) -> BlastDeckError:
    memory = conf.mem_per_task or "the partition's default"
    return BlastDeckError(
        ErrorCode.BLAST_OUT_OF_MEMORY,
        f"BLAST ran out of memory in {where}: cluster {cluster} gives each task "
        f"{memory} (cluster setting mem_per_task). Raise mem_per_task, or search fewer or "
        f"shorter queries per job. ({said[-300:] or 'SLURM killed the task'})",
    )


def slurm_error(
    cluster: str, conf: SlurmSettings, task: SlurmTask, where: str, record: sc.TaskRecord
) -> BlastDeckError:
    """A task SLURM says ended badly before it could write its status."""
    slurm_log = read_tail(task.log)
    if record.state == "OUT_OF_MEMORY" or sc.killed_for_memory(slurm_log):
        return oom_error(cluster, conf, where, slurm_log)
    if record.state in ("TIMEOUT", "DEADLINE"):
        limit = conf.time_limit or "the partition's limit"
        return BlastDeckError(
            ErrorCode.BLAST_TIMEOUT,
            f"BLAST reached the time limit in {where}: cluster {cluster} gives "
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
    stderr = read_tail(task.stderr)
    return BlastDeckError(
        ErrorCode.BLAST_SEARCH_FAILED,
        f"BLAST {how} in {where}: {stderr or slurm_log or 'no message'}",
    )
