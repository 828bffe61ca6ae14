"""What every export writer reads: the batches' hit tables and archives in query order, a scratch
dir, and how BLAST's output files are opened."""

from __future__ import annotations

import io
import itertools
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from blastdeck.blast_tools import BlastToolError, DatabaseDir, as_database_dir, run_tool
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.results.export_renders import FOLLOW_POLL_S
from blastdeck.results.query_lengths import searched_lengths

# Batches formatted at once by a download: blast_formatter is single-threaded, and a download
# of a job of several batches waits for it, not for the copy. Two: a 2-core host's worth,
# without a download taking every core of a bigger one from the searches.
FORMAT_AHEAD = 2
# Characters a batch's follower reads at once.
FOLLOW_READ_CHARS = 1 << 20
# BLAST writes plain ASCII; surrogateescape round-trips any other byte unchanged.
ENCODING = {"encoding": "utf-8", "errors": "surrogateescape"}


@dataclass(frozen=True)
class ExportSources:
    """One job's batch outputs, in query order, as an export writer reads them."""

    tables: tuple[Path, ...]
    archives: tuple[Path, ...]
    blastdb_dir: Path | DatabaseDir
    scratch: Path
    # The job's `-query_loc`: the formatter's query lengths are set to the searched stretch's.
    query_loc: str | None = None
    # Called once the first batch's formatter has written its first line: what is written
    # from then on may be read by a download (`export_renders.py`), so a formatter that fails
    # at once is answered with its code first.
    started: Callable[[], None] = lambda: None

    def formatted(self, outfmt: str, *extra: str) -> Iterator[Iterator[str]]:
        """Each batch formatted as `outfmt`, in order: the lines of each, read as its
        formatter writes them (into a scratch file of its own).

        Up to `FORMAT_AHEAD` batches are formatted at once, ahead of the one the consumer
        reads: on a job of several batches the formatter, not the copy, is what a download
        waits for. The consumer reads the first batch while it is formatted, so a download's
        first byte waits for the formatter's first lines, not its last. A batch's lines must
        be read before the next batch's are asked for (its file is deleted then). A consumer
        that stops early leaves at most the formatters already started to end (their files go
        with the scratch dir).
        """
        argv = [outfmt, *extra]
        batches = iter(enumerate(self.archives))
        ahead: deque[tuple[Path, Future[None]]] = deque()
        pool = ThreadPoolExecutor(FORMAT_AHEAD, thread_name_prefix="export-format")

        def start_next() -> None:
            if (item := next(batches, None)) is not None:
                dest = self.scratch / f"batch-{item[0]}.out"
                dest.touch()  # there to be followed as soon as its formatter starts
                formatting = pool.submit(_format_batch, item[1], self.blastdb_dir, argv, dest)
                ahead.append((dest, formatting))

        try:
            for _ in range(FORMAT_AHEAD):
                start_next()
            first = True
            fix = searched_lengths(self.query_loc)
            while ahead:
                dest, formatting = ahead.popleft()
                lines = _followed_lines(dest, formatting)
                if fix is not None:
                    lines = map(fix, lines)
                if first:  # its formatter has written, or failed: it fails before any byte
                    lines = itertools.chain([next(lines, "")], lines)
                    self.started()
                    first = False
                yield lines
                for _ in lines:  # what the consumer left unread: the formatter must end
                    pass
                start_next()
                dest.unlink(missing_ok=True)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _followed_lines(path: Path, formatting: Future[None]) -> Iterator[str]:
    """The lines of `path` as its formatter writes them, until it has ended (raising its
    failure). Read in big pieces and split in C: a download is millions of lines."""
    return itertools.chain.from_iterable(_written_lines(path, formatting))


def _written_lines(path: Path, formatting: Future[None]) -> Iterator[list[str]]:
    """The whole lines written so far, a list per read; a partial line waits for its end.
    Lines end as `open_text` ends them (newline=""), so the writers see what they saw when
    they read finished files."""
    with open_text(path) as src:
        partial = ""
        ended = False  # seen before the read that finds the end of what is written
        while True:
            if text := src.read(FOLLOW_READ_CHARS):
                lines = io.StringIO(partial + text, newline="").readlines()
                # A last line without "\n" may not be whole ("\r" may be half of "\r\n").
                partial = "" if lines[-1].endswith("\n") else lines.pop()
                if lines:
                    yield lines
                continue
            if ended:
                formatting.result()  # a formatter's failure is the export's
                if partial:
                    yield [partial]
                return
            ended = formatting.done()
            if not ended:
                wait((formatting,), timeout=FOLLOW_POLL_S)


def _format_batch(
    archive: Path, blastdb_dir: Path | DatabaseDir, outfmt: list[str], dest: Path
) -> None:
    try:
        run_tool(
            "blast_formatter",
            ["-archive", str(archive), "-outfmt", *outfmt],
            database_dir=as_database_dir(blastdb_dir),
            stdout_path=dest,
        )
    except BlastToolError as exc:
        raise export_error(f"blast_formatter could not format {archive.name}: {exc}") from exc


def open_text(path: Path) -> TextIO:
    return open(path, newline="", **ENCODING)


def export_error(message: str) -> BlastDeckError:
    return BlastDeckError(ErrorCode.EXPORT_FAILED, message)
