"""One export of a job at a time, across threads and processes.

Renders of one job share its batch archives and scratch space, and a download asked for twice
at once must make the file once: the second asker waits for the first render and then sends
its file. In this process a lock per job orders the threads; an advisory lock (`flock`) on
`<job dir>/.export-lock` orders processes on the same data dir (the API server, the CLI on the
data dir, several API processes). The lock file lives in the job's directory, so deleting the
job removes it; a job whose directory is gone has nothing to export.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from blastdeck.domain.errors import BlastDeckError, ErrorCode

LOCK_FILE = ".export-lock"


class ExportLocks:
    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._exporting: dict[str, int] = {}

    @contextlib.contextmanager
    def held(self, job_id: str, job_dir: Path) -> Iterator[Path]:
        """Hold the job's export lock; yields its exports directory. FileNotFoundError when
        the job's directory is gone (deleted)."""
        with self._mutex:
            lock = self._locks.setdefault(job_id, threading.Lock())
            self._exporting[job_id] = self._exporting.get(job_id, 0) + 1
        try:
            with lock:
                exports = job_dir / "exports"
                if not job_dir.is_dir():
                    raise FileNotFoundError(job_dir)
                fd = _open_lock(job_dir, exports)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    yield exports
                finally:
                    os.close(fd)  # closing releases the flock
        finally:
            with self._mutex:
                self._exporting[job_id] -= 1
                if not self._exporting[job_id]:
                    del self._exporting[job_id]

    def exporting(self, job_id: str) -> bool:
        """Whether a thread of this process exports the job (or waits to)."""
        with self._mutex:
            return job_id in self._exporting

    def forget(self, job_id: str) -> None:
        with self._mutex:
            if job_id not in self._exporting:
                self._locks.pop(job_id, None)


def _open_lock(job_dir: Path, exports: Path) -> int:
    try:
        exports.mkdir(exist_ok=True)
        return os.open(job_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        raise BlastDeckError(
            ErrorCode.STORAGE_FULL,
            f"No space left on the disk holding {exports} to prepare a download; free some "
            "space and ask again.",
        ) from exc
