"""A database's FASTA from a file, a part at a time: an upload of gigabytes is unpacked,
checked and written out for makeblastdb with the server's memory flat.

The file (gzipped: first inflated, bounded, into the build's work dir) is read in parts of
about `PART_BYTES` that end where a record ends, and each part is checked by
`database_build.database_records`, the rules of a pasted query, with messages counting sequences
from the file's start. Memory is one part (or the longest record, when longer), plus the
sequence ids when a taxid map needs them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from blastdeck.build_progress import BuildProgress
from blastdeck.database_build import database_records, fasta_molecule, gunzip_blocks
from blastdeck.database_files import GZIP_MAGIC
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.programs import Molecule

PART_BYTES = 4 << 20
MAX_SEQUENCES = 10**7  # in the whole file (database_build's limits bound one part)
_SAMPLE_BYTES = 200_000  # what the molecule is detected from (as fasta_molecule reads text)


@dataclass(frozen=True)
class CheckedFasta:
    molecule: Molecule
    sequences: int
    seqids: list[str] | None  # kept when asked for (a taxid map is checked against them)


def gunzipped(source: Path, folder: Path, max_bytes: int) -> Path:
    """The plain FASTA of an upload: `source` itself, or, when gzipped, a file inflated into
    `folder` (the build's work dir: never beside a user's file), refused past `max_bytes`."""
    with source.open("rb") as fh:
        if fh.read(len(GZIP_MAGIC)) != GZIP_MAGIC:
            return source
    target = folder / "inflated.part"  # never a database's `<name>.fa`
    with source.open("rb") as fh, target.open("wb") as out:
        for block in gunzip_blocks(iter(lambda: fh.read(PART_BYTES), b""), max_bytes):
            out.write(block)
    return target


def check_fasta_file(
    source: Path,
    target: Path,
    chosen: Molecule | None,
    keep_ids: bool,
    progress: BuildProgress | None = None,
) -> CheckedFasta:
    """Check the plain FASTA at `source` and write its records to `target` as makeblastdb
    reads them best (one line per header and per sequence); each part checked is counted in
    `progress` (its letters and headers make makeblastdb's estimate)."""
    with source.open("rb") as fh:
        sample = fh.read(_SAMPLE_BYTES)
    molecule = chosen or fasta_molecule(sample)
    seqids: list[str] | None = [] if keep_ids else None
    count = 0
    with target.open("w", encoding="ascii") as out:
        for part in _record_parts(source):
            records = database_records(part, chosen, molecule, before=count).records
            count += len(records)
            if count > MAX_SEQUENCES:
                raise BlastDeckError(
                    ErrorCode.INVALID_FASTA,
                    f"Database FASTA: more than {MAX_SEQUENCES:,} sequences (the limit).",
                    field="file",
                )
            for record in records:
                out.write(f">{record.defline}\n{record.sequence}\n")
            if seqids is not None:
                seqids.extend(record.id for record in records)
            if progress is not None:
                letters = sum(len(record.sequence) for record in records)
                headers = sum(len(record.defline) for record in records)
                progress.checked(len(part), len(records), letters, headers)
    if count == 0:  # an empty file: the rules' own message, as for a pasted FASTA
        database_records(b"", chosen, molecule)
    return CheckedFasta(molecule, count, seqids)


def _record_parts(source: Path) -> Iterator[bytes]:
    """The file in parts of about PART_BYTES, each cut just before a line starting with '>'
    (so no record is split; a '>' is ASCII, so no UTF-8 character is either)."""
    rest = bytearray()
    with source.open("rb") as fh:
        while block := fh.read(PART_BYTES):
            rest += block
            if len(rest) < PART_BYTES:
                continue
            cut = max(rest.rfind(b"\n>"), rest.rfind(b"\r>"))
            if cut <= 0:  # one record longer than a part: read on until it ends
                continue
            yield bytes(rest[: cut + 1])
            del rest[: cut + 1]
    if rest:
        yield bytes(rest)
