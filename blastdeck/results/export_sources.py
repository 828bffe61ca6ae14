"""What every export writer reads: the batches' hit tables and archives in query order, a scratch
dir, and how BLAST's output files are opened."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from blastdeck.blast_tools import BlastToolError, DatabaseDir, as_database_dir, run_tool
from blastdeck.domain.errors import BlastDeckError, ErrorCode

# Batches formatted at once by a download: blast_formatter is single-threaded, and a download
# of a job of several batches waits for it, not for the copy. Two: a 2-core host's worth,
# without a download taking every core of a bigger one from the searches.
FORMAT_AHEAD = 2
# BLAST writes plain ASCII; surrogateescape round-trips any other byte unchanged.
ENCODING = {"encoding": "utf-8", "errors": "surrogateescape"}


@dataclass(frozen=True)
class ExportSources:
    """One job's batch outputs, in query order, as an export writer reads them."""

    tables: tuple[Path, ...]
    archives: tuple[Path, ...]
    blastdb_dir: Path | DatabaseDir
    scratch: Path

    def formatted(self, outfmt: str, *extra: str) -> Iterator[Path]:
        """Each batch formatted as `outfmt`, in order, each into its own scratch file.

        Up to `FORMAT_AHEAD` batches are formatted at once, ahead of the one the consumer
        reads: on a job of several batches the formatter, not the copy, is what a download
        waits for. A file is deleted when the consumer asks for the next one, so it must be
        done with it by then. A consumer that stops early leaves at most the formatters
        already started to end (their files go with the scratch dir).
        """
        argv = [outfmt, *extra]
        batches = iter(enumerate(self.archives))
        ahead: deque[tuple[Path, Future[None]]] = deque()
        pool = ThreadPoolExecutor(FORMAT_AHEAD, thread_name_prefix="export-format")

        def start_next() -> None:
            if (item := next(batches, None)) is not None:
                dest = self.scratch / f"batch-{item[0]}.out"
                formatting = pool.submit(_format_batch, item[1], self.blastdb_dir, argv, dest)
                ahead.append((dest, formatting))

        try:
            for _ in range(FORMAT_AHEAD):
                start_next()
            while ahead:
                dest, done = ahead.popleft()
                done.result()  # a formatter's failure is the export's
                start_next()
                yield dest
                dest.unlink(missing_ok=True)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


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
