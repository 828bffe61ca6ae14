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
    def hold(self, give_up: Callable[[], bool], count: int = 1) -> Iterator[bool]:
        """Wait for `count` free slots (a BLAST process of that many threads); yields True
        while they are held, or False when `give_up()` said so. Slots are taken all at once or
        not at all, so two waiters never each hold half of what they need."""
        self._dir.mkdir(parents=True, exist_ok=True)
        count = max(1, min(count, self._count))
        while True:
            held = self._try(count)
            if held is not None:
                try:
                    yield True
                finally:
                    _release(held)
                return
            if give_up():
                yield False
                return
            time.sleep(WAIT_STEP_S)

    def _try(self, count: int) -> list[int] | None:
        held: list[int] = []
        for index in range(self._count):
            fd = os.open(self._dir / f"slot-{index}.lock", os.O_CREAT | os.O_RDWR, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            held.append(fd)
            if len(held) == count:
                return held
        _release(held)
        return None


def _release(fds: list[int]) -> None:
    for fd in fds:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


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
