"""Locating and running BLAST+ command-line tools, and handing them paths they can read.

Every call takes an argument list and runs without a shell, so no user string is ever
interpreted by one. `BLASTDECK_BLAST_BIN_DIR` points at a BLAST+ install other than PATH's.

How BLAST+ 2.12 reads the paths it is given (each checked by hand, and by
tests/test_blast_paths.py on a data dir with spaces, quotes, parentheses, `$`, `:` and
non-ASCII letters):

- `makeblastdb -in` and every `-db` (blastdbcmd, blastn, blastp, ...) are *lists*: BLAST+ splits
  them on whitespace (several FASTA files, several databases). A path with a space is read as
  two paths ("No alias or index file found for ... [/data/dir]"). An embedded double-quoted
  value (`"my dir/db"`) is taken whole; a path that itself contains a double quote cannot be
  given at all (the quote splits it too).
- `makeblastdb -out` refuses any whitespace, quoted or not ("Please provide a database name
  using -out").
- `BLASTDB` is a list split on ':' (a quoted value is taken literally, quotes and all); spaces
  are fine in it, a ':' in a directory is not.
- `-query` and `-out` of the search programs and `blast_formatter -archive` are single paths:
  any character works, and quotes would be taken literally.
- A `-db` without a '/' is looked up in the working directory first, then in BLASTDB.

So BlastDeck never puts a directory into a list argument or into BLASTDB: a tool that reads a
database runs *in the database's directory* with `BLASTDB=.` and `-db` the database's bare
file name (`DatabaseDir`, `database_arg`); makeblastdb runs in its work dir with bare names for
`-in` and `-out`. Bare names are BlastDeck's own (checked names) or a registered database's
file name, which `database_arg` quotes when it has whitespace and refuses when it has a
double quote. Single-path arguments (`-query`, `-out`, `-archive`) stay absolute.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


class UnusableBlastPath(ValueError):
    """A path BLAST+ cannot be handed in any form (see the module's notes)."""


def database_arg(prefix: Path | str) -> str:
    """The `-db` value naming the database at `prefix` from inside its directory (`DatabaseDir`):
    its bare file name, double-quoted when it has whitespace (BLAST+ splits `-db` on it)."""
    name = Path(prefix).name
    if not name or '"' in name:
        raise UnusableBlastPath(
            f"BLAST+ cannot open a database whose file name contains a double quote: {name!r}"
        )
    return f'"{name}"' if any(c.isspace() for c in name) else name


@dataclass(frozen=True)
class DatabaseDir:
    """Where a BLAST+ tool finds a database by bare name (`database_arg`): it runs with this
    directory as its working directory and `BLASTDB=.`, so no directory path ever goes through
    BLAST+'s whitespace-split `-db` or its ':'-split BLASTDB (see the module's notes)."""

    path: Path
    # BLASTDB relative to `path`: "." for one database; a search dir of several adds its links
    # (".:0:1"), so `-db "a b"` names each database by its own name (search_databases.py).
    blastdb: str = "."

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return blast_env(self, extra)


def as_database_dir(where: DatabaseDir | Path) -> DatabaseDir:
    """A `DatabaseDir` as is; a directory as the one where a single database resolves."""
    return where if isinstance(where, DatabaseDir) else DatabaseDir(where)


def blast_env(where: DatabaseDir | None = None, extra: Mapping[str, str] | None = None) -> dict:
    """The environment for a BLAST+ tool; with a `DatabaseDir`, database names resolve there
    (the tool must also run with it as its working directory)."""
    env = dict(os.environ)
    if where is not None:
        env["BLASTDB"] = where.blastdb
    if extra:
        env.update(extra)
    return env


def run_tool(
    name: str,
    args: Sequence[str],
    *,
    database_dir: DatabaseDir | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
    stdout_path: Path | None = None,
) -> str:
    """Run a BLAST+ tool to completion and return its stdout (empty when sent to a file).
    With `database_dir` it runs there, finding databases by bare name (`database_arg`)."""
    if database_dir is not None:
        cwd = database_dir.path
    argv = [tool_path(name), *args]
    out_handle = open(stdout_path, "wb") if stdout_path else None  # noqa: SIM115
    try:
        proc = subprocess.run(
            argv,
            stdout=out_handle or subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=blast_env(database_dir),
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
