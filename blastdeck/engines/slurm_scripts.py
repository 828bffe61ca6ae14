"""The bash scripts the SLURM engine hands to sbatch, and the files each array task leaves.

Only paths and numbers BlastDeck generated appear in a script, each quoted; a batch's BLAST
command line is read from a NUL-separated file with `mapfile`, so no user string is ever read
by a shell.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from blastdeck.blast_tools import DatabaseDir

NODE_MARKER = ".blastdeck-fingerprint"  # in a node's copy: the fingerprint it was copied at


@dataclass(frozen=True)
class SlurmTask:
    """One array task (one batch) and the files it leaves on the shared filesystem."""

    index: int
    table: Path
    status: Path  # the exit status of BLAST, written by the task script
    stderr: Path  # BLAST's stderr
    log: Path  # SLURM's output file for the task (slurmstepd writes its kill notices here)
    cpu: Path  # the CPU seconds (user + system) BLAST took, for blastdeck_blast_cpu_seconds


def argv_file_bytes(argv: list[str]) -> bytes:
    """A command line as the task script reads it: NUL-separated, never shell words."""
    return b"".join(a.encode() + b"\0" for a in argv)


def stage_function(dest: Path, files: list[Path], fingerprint: str, name: str = "stage_db") -> str:
    """Bash function `name` that makes the node's copy of the database current: under a
    node-local lock, copied beside the target and swapped in by rename, so no task sees half a
    database."""
    q = shlex.quote
    sources = " ".join(q(str(p)) for p in files)
    return f"""{name}() {{
  local dest={q(str(dest))} fp={q(fingerprint)}
  local marker="$dest/{NODE_MARKER}"
  [ "$(cat "$marker" 2>/dev/null)" = "$fp" ] && return 0
  mkdir -p {q(str(dest.parent))} || return 1
  (
    flock 9 || exit 1
    [ "$(cat "$marker" 2>/dev/null)" = "$fp" ] && exit 0
    tmp=$(mktemp -d {q(str(dest.parent / f".{dest.name}.XXXXXX"))}) || exit 1
    cp -p -- {sources} "$tmp"/ || {{ rm -rf "$tmp"; exit 1; }}
    printf '%s\\n' "$fp" > "$tmp/{NODE_MARKER}"
    old={q(str(dest.parent / f".{dest.name}.old"))}.$$
    if [ -e "$dest" ]; then mv "$dest" "$old"; fi
    mv "$tmp" "$dest" && rm -rf "$old"
  ) 9>{q(str(dest.parent / f".{dest.name}.lock"))}
}}
"""


def stage_script(database: str, stage_fn: str, fingerprint: str, status: Path, record: Path) -> str:
    """The staging job: copy the database to its node, then record the copy and the status."""
    q = shlex.quote
    payload = json.dumps({"fingerprint": fingerprint})
    return f"""#!/bin/bash
# BlastDeck: copy database {database} to this node's scratch dir.
{stage_fn}
stage_db
rc=$?
if [ "$rc" -eq 0 ]; then
  printf '%s\\n' {q(payload)} > {q(str(record))}.$$ && mv -f {q(str(record))}.$$ {q(str(record))}
fi
printf '%s\\n' "$rc" > {q(str(status))}.part && mv -f {q(str(status))}.part {q(str(status))}
exit "$rc"
"""


def array_script(
    job_id: str,
    tasks: list[SlurmTask],
    slurm_dir: Path,
    stage_fns: list[str],
    node_db_dir: DatabaseDir,
) -> str:
    """The job array's script: task N stages each database (`stage_fns`: one bash function
    each, `stage_function`) its node lacks a current copy of, runs batch N's argv in
    `node_db_dir` (the copy's dir; several databases: the job's search dir linking them),
    renames its table into place on success and writes its status."""
    q = shlex.quote
    calls = " && ".join(fn.split("(", 1)[0] for fn in stage_fns)
    functions = "".join(stage_fns)
    cases = "\n".join(
        f"  {t.index}) table={q(str(t.table))}; status={q(str(t.status))};"
        f" stderr={q(str(t.stderr))}; cpu={q(str(t.cpu))} ;;"
        for t in tasks
    )
    return f"""#!/bin/bash
# BlastDeck job {job_id}: one BLAST batch per array task.
# Each task's command line is in task_<N>.argv (NUL-separated), read without a shell.
set -u
case "${{SLURM_ARRAY_TASK_ID:?not an array task}}" in
{cases}
  *) echo "BlastDeck: no batch $SLURM_ARRAY_TASK_ID" >&2; exit 2 ;;
esac
write_status() {{ printf '%s\\n' "$1" > "$status.part" && mv -f "$status.part" "$status"; }}
{functions}
if ! {{ {calls}; }}; then
  echo "BlastDeck: could not copy the database to this node's scratch dir" > "$stderr"
  write_status 70; exit 70
fi
# The databases by bare name from their directory (blastdeck.blast_tools.DatabaseDir).
if ! cd -- {q(str(node_db_dir.path))}; then
  echo "BlastDeck: no copy of the database on this node" > "$stderr"
  write_status 70; exit 70
fi
export BLASTDB={q(node_db_dir.blastdb)}
mapfile -d '' -t argv < {q(str(slurm_dir))}/task_"$SLURM_ARRAY_TASK_ID".argv
rm -f -- "$table.part" "$status" "$cpu"
# bash's `time` reports BLAST's own user and system CPU (its rusage), as the local engine's
# wait4 does; summed into the batch's .cpu file, which the server reads when the job ends.
TIMEFORMAT='%3U %3S'
{{ time "${{argv[@]}}" 2> "$stderr"; }} 2> "$cpu.part"
rc=$?
awk '{{ printf "%.3f\\n", $1 + $2 }}' "$cpu.part" > "$cpu" 2> /dev/null
rm -f -- "$cpu.part"
if [ "$rc" -eq 0 ]; then mv -f -- "$table.part" "$table" || rc=74; fi
write_status "$rc"
exit "$rc"
"""
