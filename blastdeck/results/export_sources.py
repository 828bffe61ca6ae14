"""What every export writer reads: the batches' hit tables and archives in query order, a scratch
dir, and how BLAST's output files are opened."""

from __future__ import annotations

import itertools
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
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

    def formatted_blocks(self, outfmt: str, *extra: str) -> Iterator[Iterator[str]]:
        """Each batch formatted as `outfmt`, in order: its text in blocks of whole lines (up to
        about `FOLLOW_READ_CHARS` each), read as its formatter writes it (into a scratch file
        of its own). A writer that only looks at a few lines finds them in a block in C and
        copies the rest whole: a download is millions of lines, and a Python step per line
        cost about a CPU-second per 100 MB, beside formatters that hold both cores.

        Up to `FORMAT_AHEAD` batches are formatted at once, ahead of the one the consumer
        reads: on a job of several batches the formatter, not the copy, is what a download
        waits for. The consumer reads the first batch while it is formatted, so a download's
        first byte waits for the formatter's first lines, not its last. A batch's text must
        be read before the next batch's is asked for (its file is deleted then). A consumer
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
                blocks = _written_blocks(dest, formatting)
                if fix is not None:
                    blocks = ("".join(map(fix, split_lines(b))) for b in blocks)
                if first:  # its formatter has written, or failed: it fails before any byte
                    blocks = itertools.chain([next(blocks, "")], blocks)
                    self.started()
                    first = False
                yield blocks
                for _ in blocks:  # what the consumer left unread: the formatter must end
                    pass
                start_next()
                dest.unlink(missing_ok=True)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def split_lines(text: str) -> list[str]:
    r"""`text`'s lines, each with its "\n" (the last may have none): BLAST ends its lines so, and
    a "\r" is only a character of its line (from a title, say), never a line's end."""
    lines = text.split("\n")
    last = lines.pop()
    return [line + "\n" for line in lines] + ([last] if last else [])


def marked_lines(blocks: Iterable[str], *marks: re.Pattern[str]) -> Iterator[tuple[bool, str]]:
    r"""`blocks` (whole lines) as (True, line) for each line that may matter to a writer and
    (False, text) for the stretches between them, copied whole: a writer applies its per-line
    rules to the marked lines only, so the marks must find every line those rules would change
    or act on; marking more is harmless. Marked: each block's first line, and for each match
    of a pattern the lines from the one holding its first character to the one holding its
    last (`\nX` marks a line starting with X, and the line before it). Each pattern is
    searched on its own: one starting with a literal keeps the search in C, an alternation of
    them does not. Marked lines are split as `split_lines` splits them."""
    for block in blocks:
        end = block.find("\n") + 1 or len(block)
        yield from ((True, line) for line in split_lines(block[:end]))
        position = end
        found: list[re.Match[str] | None] = [pattern.search(block, end - 1) for pattern in marks]
        while position < len(block):
            for i, match in enumerate(found):
                if match is not None and match.start() < position - 1:
                    found[i] = marks[i].search(block, position - 1)  # `\nX` past the last "\n"
            hits = [m for m in found if m is not None]
            if not hits:
                yield False, block[position:]
                break
            match = min(hits, key=lambda m: m.start())
            start = max(position, block.rfind("\n", 0, match.start()) + 1)
            if start > position:
                yield False, block[position:start]
            end = block.find("\n", max(match.end() - 1, start)) + 1 or len(block)
            yield from ((True, line) for line in split_lines(block[start:end]))
            position = end


def _written_blocks(path: Path, formatting: Future[None]) -> Iterator[str]:
    r"""What is written so far, a block of whole lines per read (through its last "\n"; a
    partial line waits for its end)."""
    with open_text(path) as src:
        partial = ""
        ended = False  # seen before the read that finds the end of what is written
        while True:
            if text := src.read(FOLLOW_READ_CHARS):
                text = partial + text
                cut = text.rfind("\n") + 1
                partial = text[cut:]
                if cut:
                    yield text[:cut]
                continue
            if ended:
                formatting.result()  # a formatter's failure is the export's
                if partial:
                    yield partial
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
