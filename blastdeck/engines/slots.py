"""A cluster's slots on one host, shared by every thread and process that runs its batches.

One lock file per slot, taken with flock: a slot frees itself when its holder exits, even by
kill -9, so a crashed worker never leaks capacity.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

WAIT_STEP_S = 0.02


class HostSlots:
    def __init__(self, directory: Path, count: int) -> None:
        self._dir = directory
        self._count = count

    @contextlib.contextmanager
    def hold(self, give_up: Callable[[], bool]) -> Iterator[bool]:
        """Wait for a free slot; yields True while held, or False when `give_up()` said so."""
        self._dir.mkdir(parents=True, exist_ok=True)
        while True:
            for index in range(self._count):
                fd = os.open(self._dir / f"slot-{index}.lock", os.O_CREAT | os.O_RDWR, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                try:
                    yield True
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
                    os.close(fd)
                return
            if give_up():
                yield False
                return
            time.sleep(WAIT_STEP_S)


@contextlib.contextmanager
def host_lock(path: Path) -> Iterator[None]:
    """An exclusive lock for every thread and process on this host (freed if its holder dies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
