"""BLAST's standard tabular output (outfmt 6 columns), copied from the batches' hit tables exactly
as BLAST printed them: the tsv and csv downloads."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from blastdeck.results.export_sources import ExportSources
from blastdeck.results.hsps import TABLE_COLUMNS, table_rows

# BLAST's standard tabular columns (`std`, what plain `-outfmt 6` prints), used by tsv and csv.
STANDARD_COLUMNS: tuple[str, ...] = (
    "qaccver",
    "saccver",
    "pident",
    "length",
    "mismatch",
    "gapopen",
    "qstart",
    "qend",
    "sstart",
    "send",
    "evalue",
    "bitscore",
)


def write_tsv(job: ExportSources, sink: TextIO) -> None:
    sink.write("\t".join(STANDARD_COLUMNS) + "\n")
    for row in _standard_rows(job.tables):
        sink.write("\t".join(row) + "\n")


def write_csv(job: ExportSources, sink: TextIO) -> None:
    writer = csv.writer(sink)
    writer.writerow(STANDARD_COLUMNS)
    writer.writerows(_standard_rows(job.tables))


# Where each standard column sits in a batch's hit table.
_STANDARD_POSITIONS = tuple(TABLE_COLUMNS.index(name) for name in STANDARD_COLUMNS)


def blast_csv_lines(tables: Iterable[Path]) -> Iterator[str]:
    """BLAST's own `-outfmt 10` bytes (no header, no quoting) for clients that expect them."""
    for row in _standard_rows(tables):
        yield ",".join(row) + "\n"


def _standard_rows(tables: Iterable[Path]) -> Iterator[list[str]]:
    """BLAST's standard tabular rows (outfmt 6), taken from the batch tables in order."""
    for table in tables:
        for _, _, columns in table_rows(table):
            if columns:
                yield [columns[i] or "" for i in _STANDARD_POSITIONS]
