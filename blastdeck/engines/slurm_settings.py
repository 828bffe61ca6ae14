"""A SLURM cluster's settings: the names it understands and each value checked, since they end
up on sbatch's command line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.search_split import BATCH_LETTERS_SETTING, parse_batch_letters
from blastdeck.engines.base import NAMESPACES_SETTING_HELP

# What each setting takes and its default, for the operator (the cluster form; docs/slurm.md's
# table says the same at more length).
SETTING_HELP = {
    "slurm_conf": "SLURM_CONF for every SLURM command BlastDeck runs (default: SLURM's own)",
    "partition": (
        "--partition (default: the job's namespace; none for default: SLURM's default partition)"
    ),
    "account": "--account (default: none)",
    "qos": "--qos (default: none)",
    "cpus_per_task": "--cpus-per-task, and BLAST's -num_threads (default: 1)",
    "mem_per_task": "--mem, e.g. 2G or 500M (default: the partition's)",
    "time_limit": "--time, e.g. 30, 2:00:00 or 1-00 (default: the partition's)",
    "work_dir": (
        "an absolute dir the nodes and this host share, for the jobs' files (default: the "
        "job's dir in the data dir)"
    ),
    "scratch_dir": (
        "an absolute node-local dir for database copies (default: /tmp/blastdeck-scratch)"
    ),
    "blast_bin_dir": "where BLAST+ is on the nodes (default: the nodes' PATH)",
    "slurm_bin_dir": "where sbatch, squeue, scancel and scontrol are on this host (default: PATH)",
    "array_throttle": "--array=...%N: at most N tasks of one job at once (default: none)",
    **NAMESPACES_SETTING_HELP,
    BATCH_LETTERS_SETTING: (
        "split jobs into tasks of at most this many query letters: finer progress, a database "
        "scan per task (default: BLAST's own query batches)"
    ),
}
SETTINGS = frozenset(SETTING_HELP)
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
    slurm_bin_dir: Path | None
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
        slurm_bin_dir=path("slurm_bin_dir"),
        array_throttle=count("array_throttle", None),
    )


def check_settings(cluster: str, settings: dict[str, str]) -> None:
    """Refuse bad values when the cluster is added, not when its first job runs."""
    parse_settings(cluster, settings)
    parse_batch_letters(cluster, settings)
