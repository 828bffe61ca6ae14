"""What SLURM says, as plain data: squeue JSON, job-completion records, sbatch output, states.

Pure functions only (no subprocesses, no files), so each rule is tested without a cluster.
Written against SLURM 22.05, whose `squeue --json` ignores `-j` (so filtering happens here) and
reports `exit_code` as a wait status (`rc << 8 | signal`); later versions' object forms are
read too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# States a job or array task leaves only by ending. Anything else (PENDING, RUNNING,
# COMPLETING, CONFIGURING, SUSPENDED, REQUEUED, ...) is still alive as far as we are concerned.
TERMINAL_STATES = frozenset(
    {
        "COMPLETED",
        "FAILED",
        "CANCELLED",
        "TIMEOUT",
        "OUT_OF_MEMORY",
        "NODE_FAIL",
        "BOOT_FAIL",
        "DEADLINE",
        "PREEMPTED",
    }
)
# Ended through no fault of the search: worth running the task again.
RERUNNABLE_STATES = frozenset({"NODE_FAIL", "BOOT_FAIL", "PREEMPTED"})
# How slurmstepd says it killed a step over its memory limit when no cgroup reports
# OUT_OF_MEMORY (jobacct_gather's OverMemoryKill), as written to the task's output file.
MEMORY_KILL_SIGNS = ("exceeded job memory limit", "exceeded memory limit", "oom-kill")
# sbatch/squeue messages that mean "the controller did not answer", not "you asked wrongly".
UNAVAILABLE_SIGNS = (
    "unable to contact slurm controller",
    "connection refused",
    "connect failure",
    "socket timed out",
    "communication connection failure",
    "temporarily unable to accept job",
    "zero bytes were transmitted",
    "slurm_receive_msg",
    "could not establish a configuration source",
)


@dataclass(frozen=True)
class TaskRecord:
    """One job or array task as SLURM last reported it."""

    state: str
    rc: int | None = None  # exit status of the batch script
    signal: int | None = None  # the signal that ended it, if any
    reason: str = ""

    @property
    def active(self) -> bool:
        return self.state not in TERMINAL_STATES


def decode_exit_code(value: Any) -> tuple[int | None, int | None]:
    """(exit status, signal) from squeue's `exit_code`: a wait status in 22.05
    (`rc << 8 | signal`), an object in later versions."""
    if isinstance(value, bool) or value is None:
        return None, None
    if isinstance(value, int):
        return (value >> 8) & 0xFF, (value & 0x7F) or None
    if isinstance(value, dict):
        rc = _number(value.get("return_code"))
        sig = value.get("signal")
        sig_id = _number(sig.get("id") if isinstance(sig, dict) else sig)
        return rc, sig_id or None
    return None, None


def _number(value: Any) -> int | None:
    """An integer from 22.05's plain ints or later versions' {"set", "number"} objects."""
    if isinstance(value, dict):
        return _number(value.get("number")) if value.get("set", True) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _state(value: Any) -> str:
    """22.05 gives a string; later versions a list of state names and flags."""
    if isinstance(value, list):
        for item in value:
            if str(item) in TERMINAL_STATES or str(item) in ("PENDING", "RUNNING"):
                return str(item)
        return str(value[0]) if value else "UNKNOWN"
    return str(value or "UNKNOWN")


def expand_indices(spec: str) -> list[int]:
    """Array indices from SLURM's notation: '0-9%3', '3-4', '1,3,5-7', '0-15:4'."""
    spec = spec.split("%", 1)[0].strip()
    found: list[int] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        step = 1
        if ":" in part:
            part, step_text = part.split(":", 1)
            step = max(1, int(step_text))
        if "-" in part:
            low, high = part.split("-", 1)
            found.extend(range(int(low), int(high) + 1, step))
        else:
            found.append(int(part))
    return found


def _record(job: dict[str, Any]) -> TaskRecord:
    rc, sig = decode_exit_code(job.get("exit_code"))
    return TaskRecord(_state(job.get("job_state")), rc, sig, str(job.get("state_reason") or ""))


def array_tasks(doc: dict[str, Any], array_job_id: int) -> dict[int, TaskRecord]:
    """Every task of one array job in a `squeue --json` document, by task index."""
    tasks: dict[int, TaskRecord] = {}
    for job in doc.get("jobs") or []:
        if _number(job.get("array_job_id")) != array_job_id:
            continue
        task_id = _number(job.get("array_task_id"))
        if task_id is not None:
            tasks[task_id] = _record(job)
            continue
        pending = str(job.get("array_task_string") or "")
        try:
            indices = expand_indices(pending)
        except ValueError:
            indices = []
        # The array's own record stands for every task not yet split off it: pending ones,
        # or all of them once the array was cancelled before they started.
        record = _record(job)
        for index in indices:
            tasks.setdefault(index, record)
    return tasks


def arrays_named(doc: dict[str, Any], name: str) -> list[int]:
    """The array job ids SLURM knows under `name` (running or recently ended), oldest first:
    a submit whose sbatch timed out may still have reached the controller."""
    found = {
        array_id
        for job in doc.get("jobs") or []
        if str(job.get("name") or "") == name
        and (array_id := _number(job.get("array_job_id"))) is not None
    }
    return sorted(found)


def single_job(doc: dict[str, Any], job_id: int) -> TaskRecord | None:
    for job in doc.get("jobs") or []:
        if _number(job.get("job_id")) == job_id:
            return _record(job)
    return None


def _jobcomp_fields(line: str) -> dict[str, str]:
    return dict(m.groups() for m in re.finditer(r"(\w+)=(\S*)", line))


def _jobcomp_record(fields: dict[str, str]) -> TaskRecord:
    rc_text, _, sig_text = fields.get("ExitCode", "").partition(":")
    rc = int(rc_text) if rc_text.isdigit() else None
    sig = int(sig_text) if sig_text.isdigit() and int(sig_text) else None
    return TaskRecord(fields.get("JobState", "UNKNOWN"), rc, sig)


def jobcomp_array_tasks(text: str, array_job_id: int) -> dict[int, TaskRecord]:
    """The tasks of one array job in a `jobcomp/filetxt` log (one `Key=Value ...` line per
    ended job); a task that ran twice (requeued) keeps its last line."""
    tasks: dict[int, TaskRecord] = {}
    wanted = str(array_job_id)
    for line in text.splitlines():
        if f"ArrayJobId={wanted} " not in line + " ":
            continue
        fields = _jobcomp_fields(line)
        task = fields.get("ArrayTaskId", "")
        if fields.get("ArrayJobId") == wanted and task.isdigit():
            tasks[int(task)] = _jobcomp_record(fields)
    return tasks


def jobcomp_job(text: str, job_id: int) -> TaskRecord | None:
    found = None
    for line in text.splitlines():
        if line.startswith(f"JobId={job_id} "):
            found = _jobcomp_record(_jobcomp_fields(line))
    return found


def sbatch_job_id(stdout: str) -> int:
    """The job id `sbatch --parsable` prints: 'ID' or 'ID;CLUSTER'."""
    first = stdout.strip().splitlines()[0] if stdout.strip() else ""
    text = first.split(";", 1)[0].strip()
    if not text.isdigit():
        raise ValueError(f"sbatch printed no job id: {stdout.strip()[:200]!r}")
    return int(text)


def config_value(scontrol_show_config: str, key: str) -> str | None:
    """One value of `scontrol show config` ('Key = value' lines)."""
    for line in scontrol_show_config.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() == key:
            return value.strip()
    return None


def looks_unavailable(message: str) -> bool:
    said = message.lower()
    return any(sign in said for sign in UNAVAILABLE_SIGNS)


def killed_for_memory(log_text: str) -> bool:
    said = log_text.lower()
    return any(sign in said for sign in MEMORY_KILL_SIGNS)
