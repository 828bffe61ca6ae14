"""Exports made in the background and read while they are written.

The first download of a format makes the file: for a big job that is minutes of
`blast_formatter`. Its readers should not wait for the last byte to get the first, so the file
is made by a thread of its own (one per job and format, however many ask), and every reader
follows its draft as it grows: the writers write strictly in order (`exports.py` streams the
batches one after the other), and a reader's open draft stays the same file when it is renamed
to its final name. A render that fails after a reader has had bytes ends that reader with the
render's error: a cut download, never a short one that looks whole.

A render outlives the request that started it: a client that goes away leaves the file made
for the next one. So renders are bounded on their own (`max_at_once` per process, the
`max_export_renders` setting), not by the requests: a client that asks for many jobs' files
and goes away cannot start a formatter for each at once. A render beyond the bound waits for
its turn, and its readers with it.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable
from pathlib import Path

# How often a reader that has read all of a draft looks again for more.
FOLLOW_POLL_S = 0.02


class Rendering:
    """One export being written: its writer's side (`drafting`, `end`) and its readers'."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self._changed = threading.Condition()
        self._draft: Path | None = None
        self._ended = False
        self._error: BaseException | None = None
        self.streaming = False  # a reader has had bytes
        self._job_deleted = False
        self._finished = False

    # -- the writer's side --

    def drafting(self, draft: Path) -> None:
        """The render has created its draft (the file that becomes `out`)."""
        with self._changed:
            self._draft = draft
            self._changed.notify_all()

    def end(self, error: BaseException | None = None) -> None:
        with self._changed:
            self._ended, self._error = True, error
            self._changed.notify_all()

    def job_deleted(self) -> bool:
        """The job was deleted: a reader that has not had bytes yet gets none (it gets the
        render's end, which says so). True when a reader already streams and the render has
        not finished: then it must end whole for that reader, and the render removes the job's
        files as it finishes (`finish`)."""
        with self._changed:
            self._job_deleted = True
            return self.streaming and not self._finished

    def finish(self) -> bool:
        """The render is done writing (whole or failed). True when its job was deleted while
        a reader streamed: the job's files were left to the render, to remove now. After
        this, a delete removes them itself."""
        with self._changed:
            self._finished = True
            return self._job_deleted and self.streaming

    # -- the readers' side --

    def ended(self) -> bool:
        """Whether the render has ended; raises its error when it failed."""
        with self._changed:
            if self._error is not None:
                raise self._error
            return self._ended

    def wait(self) -> Path:
        """The finished export's path once the render has ended; raises its error."""
        with self._changed:
            self._changed.wait_for(lambda: self._ended)
        self.ended()
        return self.out

    def wait_for_more(self, timeout: float) -> None:
        with self._changed:
            if not self._ended:
                self._changed.wait(timeout)

    def follow(self) -> ExportFile:
        """The export open for reading as it is written, returned once it has its first byte
        (or is whole): a render that fails before that raises here, before any answer starts."""
        with self._changed:
            self._changed.wait_for(lambda: self._ended or self._draft is not None)
            draft = self._draft
        if self.ended() or draft is None:
            return open_finished(self.out)
        try:
            fd = os.open(draft, os.O_RDONLY)
        except FileNotFoundError:  # renamed to `out` or removed on failure meanwhile
            return open_finished(self.wait())
        try:
            while not os.fstat(fd).st_size and not self.ended():
                self.wait_for_more(FOLLOW_POLL_S)
            with self._changed:
                claimed = not self._job_deleted
                self.streaming = self.streaming or claimed
            if not claimed:
                self.wait()  # the render ends with why there is nothing to read
        except BaseException:
            os.close(fd)
            raise
        return ExportFile(fd, self)


class ExportFile(io.RawIOBase):
    """An export open for reading: whole (`size` known), or following its render (`size` is
    None, and a read waits for more until the render has ended)."""

    def __init__(self, fd: int, rendering: Rendering | None = None) -> None:
        super().__init__()
        self._fd, self._rendering = fd, rendering
        self.size = None if rendering is not None else os.fstat(fd).st_size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        while True:
            ended = self._rendering is None or self._rendering.ended()
            read = os.readv(self._fd, [buffer])
            if read or ended:  # ended was seen before this read: nothing more comes
                return read
            self._rendering.wait_for_more(FOLLOW_POLL_S)  # type: ignore[union-attr]

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


def open_finished(path: Path) -> ExportFile:
    return ExportFile(os.open(path, os.O_RDONLY))


class ExportRenders:
    """The renders under way in this process, one per job and export file."""

    def __init__(self, max_at_once: int) -> None:
        self._mutex = threading.Lock()
        self._active: dict[tuple[str, Path], Rendering] = {}
        self._turns = threading.BoundedSemaphore(max_at_once)

    def start(self, job_id: str, out: Path, render: Callable[[Rendering], None]) -> Rendering:
        """The render of `out` under way, or a new one: `render` runs in a thread of its own,
        calls `drafting` once its draft exists, and returns when `out` is whole."""
        key = (job_id, out)
        with self._mutex:
            if (rendering := self._active.get(key)) is None:
                rendering = self._active[key] = Rendering(out)
                name = f"export-{job_id[:8]}-{out.name}"
                worker = threading.Thread(
                    target=self._run, args=(key, rendering, render), name=name, daemon=True
                )
                worker.start()
        return rendering

    def _run(
        self, key: tuple[str, Path], rendering: Rendering, render: Callable[[Rendering], None]
    ) -> None:
        error: BaseException | None = None
        try:
            with self._turns:
                render(rendering)
        except BaseException as exc:  # every reader gets it
            error = exc
        finally:
            with self._mutex:  # a request from now on starts afresh
                del self._active[key]
            rendering.end(error)

    def job_deleted(self, job_id: str) -> bool:
        """Tell the job's renders it was deleted; True when one of them streams to a reader
        (its job's files must stay until it ends)."""
        with self._mutex:
            renders = [r for (job, _), r in self._active.items() if job == job_id]
        return any([r.job_deleted() for r in renders])
