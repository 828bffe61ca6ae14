"""The HSP indexes this process has loaded, by job: reloaded when a job's index changed (a
batch was indexed, or the final index replaced the batches), the least recently used dropped
first. Loading a running job's batches is the one slow part of browsing (tens of milliseconds
per million HSPs); a finished job's final index is memory-mapped (`final_index.py`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from blastdeck.results.final_index import current_version, final_version, load_current
from blastdeck.results.hsp_index import HspTable

DEFAULT_CAPACITY = 4


class JobIndexes:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._tables: OrderedDict[str, HspTable] = OrderedDict()
        self._mutex = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    def table(
        self, job_id: str, work_dir: Path, build: Callable[[], None] | None = None
    ) -> HspTable:
        """The job's index as it is now. `build` makes the final index of a finished job that
        has none yet (one finished before this release); one thread loads a job at a time."""
        with self._mutex:
            loading = self._loading.setdefault(job_id, threading.Lock())
        with loading:
            if build is not None and not final_version(work_dir):
                build()
            version = current_version(work_dir)
            with self._mutex:
                cached = self._tables.get(job_id)
                if cached is not None and cached.version == version:
                    self._tables.move_to_end(job_id)
                    return cached
            try:
                table = load_current(work_dir)
            except FileNotFoundError:  # its batch files went as the final index came in
                table = load_current(work_dir)
            with self._mutex:
                self._tables[job_id] = table
                self._tables.move_to_end(job_id)
                while len(self._tables) > self._capacity:
                    self._tables.popitem(last=False)
            return table

    def forget(self, job_id: str) -> None:
        with self._mutex:
            self._tables.pop(job_id, None)
            self._loading.pop(job_id, None)
