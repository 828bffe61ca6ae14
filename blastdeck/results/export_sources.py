"""What every export writer reads: the batches' hit tables and archives in query order, a scratch
dir, and how BLAST's output files are opened."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from blastdeck.blast_tools import BlastToolError, DatabaseDir, as_database_dir, run_tool
from blastdeck.domain.errors import BlastDeckError, ErrorCode

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
        """Each batch formatted as `outfmt`, one at a time, into the same scratch file.

        The consumer must be done with a file before asking for the next one.
        """
        dest = self.scratch / "batch.out"
        for archive in self.archives:
            _format_batch(archive, self.blastdb_dir, [outfmt, *extra], dest)
            yield dest


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
