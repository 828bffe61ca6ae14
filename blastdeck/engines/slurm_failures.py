"""What a failed SLURM array task means: BLAST failed, ran out of memory or time, or SLURM
lost it; each with the cluster setting to change named."""

from __future__ import annotations

from pathlib import Path

from blastdeck.blast_tools import tail
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.engines import slurm_cluster as sc
from blastdeck.engines.blast_process import said_out_of_memory
from blastdeck.engines.slurm_scripts import SlurmTask
from blastdeck.engines.slurm_settings import SlurmSettings


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
