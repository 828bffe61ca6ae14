"""Locating and running BLAST+ command-line tools.

Every call takes an argument list and runs without a shell, so no user string is ever
interpreted by one. `BLASTDECK_BLAST_BIN_DIR` points at a BLAST+ install other than PATH's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

STDERR_TAIL_CHARS = 2000


class BlastToolError(RuntimeError):
    """A BLAST+ tool was missing or exited non-zero; `stderr_tail` keeps what it said."""

    def __init__(self, message: str, *, returncode: int | None = None, stderr_tail: str = ""):
        super().__init__(message)
        self.returncode = returncode
        self.stderr_tail = stderr_tail


def tool_path(name: str) -> str:
    bin_dir = os.environ.get("BLASTDECK_BLAST_BIN_DIR")
    found = shutil.which(name, path=bin_dir) if bin_dir else shutil.which(name)
    if not found:
        raise BlastToolError(
            f"BLAST+ tool {name!r} not found; install BLAST+ (Debian: apt-get install ncbi-blast+)"
            " or set BLASTDECK_BLAST_BIN_DIR"
        )
    return found


def tail(text: str | bytes, limit: int = STDERR_TAIL_CHARS) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return text[-limit:].strip()


def blast_env(blastdb_dir: Path | None = None, extra: Mapping[str, str] | None = None) -> dict:
    """The environment for a BLAST+ tool: BLASTDB tells it where database names resolve."""
    env = dict(os.environ)
    if blastdb_dir is not None:
        env["BLASTDB"] = str(blastdb_dir)
    if extra:
        env.update(extra)
    return env


def run_tool(
    name: str,
    args: Sequence[str],
    *,
    blastdb_dir: Path | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
    stdout_path: Path | None = None,
) -> str:
    """Run a BLAST+ tool to completion and return its stdout (empty when sent to a file)."""
    argv = [tool_path(name), *args]
    out_handle = open(stdout_path, "wb") if stdout_path else None  # noqa: SIM115
    try:
        proc = subprocess.run(
            argv,
            stdout=out_handle or subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=blast_env(blastdb_dir),
            cwd=cwd,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BlastToolError(
            f"{name} timed out after {timeout} s", stderr_tail=tail(exc.stderr or b"")
        ) from exc
    finally:
        if out_handle:
            out_handle.close()
    if proc.returncode != 0:
        stderr = tail(proc.stderr)
        raise BlastToolError(
            f"{name} exited with code {proc.returncode}: {stderr or 'no message'}",
            returncode=proc.returncode,
            stderr_tail=stderr,
        )
    return "" if stdout_path else proc.stdout.decode("utf-8", "replace")
