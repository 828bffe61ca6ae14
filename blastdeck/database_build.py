"""Building a BLAST database from an upload: the FASTA unpacked (gzip, bounded) and checked,
then makeblastdb run without a shell in a work dir (`DatabaseCatalog.build` in databases.py).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blastdeck.blast_tools import BlastToolError, run_tool
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.fasta import QueryLimits, QueryRecord, detect_molecule, parse_query
from blastdeck.domain.programs import Molecule

# Uploaded FASTA for a database may be far larger than a query.
_DATABASE_FASTA_LIMITS = QueryLimits(
    max_nucleotide_letters=10**9, max_protein_letters=10**8, max_sequences=10**7
)
_CHUNK = 1 << 20


def gunzip_bounded(data: bytes, max_bytes: int) -> bytes:
    """Decompress a gzipped upload a chunk at a time, refusing it as soon as it would be larger
    than `max_bytes` (a small file can decompress to gigabytes)."""
    return b"".join(gunzip_blocks([data], max_bytes))


def gunzip_blocks(blocks: Iterable[bytes], max_bytes: int) -> Iterator[bytes]:
    """The decompressed bytes of gzip data given in blocks (every member of a multi-member
    file), never more than `_CHUNK` at a time, refused past `max_bytes` in all."""
    total = 0
    inflater: Any = None  # the member being read
    try:
        for block in blocks:
            data = block
            while data:
                if inflater is None:
                    data = data.lstrip(b"\0")  # padding between members
                    if not data:
                        break
                    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
                out = inflater.decompress(data, _CHUNK)
                data = inflater.unconsumed_tail
                total += len(out)
                if total > max_bytes:
                    raise BlastDeckError(
                        ErrorCode.PAYLOAD_TOO_LARGE,
                        f"The gzipped FASTA decompresses to more than {max_bytes:,} bytes, the "
                        "upload limit (BLASTDECK_MAX_UPLOAD_BYTES).",
                        field="file",
                    )
                if out:
                    yield out
                if inflater.eof:
                    data, inflater = inflater.unused_data, None  # the next member, if any
        if inflater is not None:
            while out := inflater.decompress(b"", _CHUNK):  # output zlib still holds
                yield out
            if not inflater.eof:
                raise zlib.error("truncated")
    except zlib.error:
        raise BlastDeckError(
            ErrorCode.INVALID_FASTA,
            "The file starts like gzip but is not a complete gzip file; upload it again.",
            field="file",
        ) from None


@dataclass(frozen=True)
class Records:
    records: list[QueryRecord]
    molecule: Molecule


def database_records(
    fasta: str | bytes,
    chosen: Molecule | None,
    detected: Molecule | None = None,
    before: int = 0,
) -> Records:
    """The FASTA's records, checked like a query's (but about the upload), with ASCII headers:
    makeblastdb cannot store anything else (it fails on a non-ASCII id, and garbles a
    non-ASCII title while printing the same complaint over and over). A part of a larger file
    (`database_fasta.py`) comes with the whole file's `detected` molecule and the number of
    sequences `before` it, so that messages count from the file's start."""
    molecule = chosen or detected or fasta_molecule(fasta)
    try:
        records = parse_query(fasta, molecule, _DATABASE_FASTA_LIMITS)
    except BlastDeckError as exc:  # same FASTA rules as a query, but about the upload
        if before:
            exc = BlastDeckError(
                exc.code,
                f"in the part from sequence {before + 1:,} on (numbered within it): {exc.message}",
                field="file",
            )
        if exc.code is ErrorCode.QUERY_MOLECULE_MISMATCH and chosen is not None:
            raise BlastDeckError(
                ErrorCode.DATABASE_MOLECULE_MISMATCH,
                f"Database FASTA: {exc.message.split(', but ')[0]}, but the database was to be "
                f"{molecule_word(chosen)} (molecule {chosen.value}). Choose the other "
                "molecule, or check the file.",
                field="file",
            ) from None
        raise BlastDeckError(exc.code, f"Database FASTA: {exc.message}", field="file") from None
    bad = [(n, r) for n, r in enumerate(records, before + 1) if not r.defline.isascii()]
    if bad:
        number, record = bad[0]
        chars = sorted({c for c in record.defline if not c.isascii()})
        more = f" ({len(bad) - 1} more header(s) too)" if len(bad) > 1 else ""
        raise BlastDeckError(
            ErrorCode.INVALID_FASTA,
            f"Database FASTA: the header of sequence {number} ({record.defline[:60]!r}) has "
            f"non-ASCII characters ({''.join(chars[:10])}){more}; BLAST+ databases store "
            "ASCII headers only. Replace them (e.g. 'e' for 'é') and upload again.",
            field="file",
        )
    return Records(records, molecule)


def makeblastdb(
    work: Path, base: str, molecule: Molecule, title: str, taxid_map: str | None = None
) -> None:
    """makeblastdb in its work dir with bare names: `-out` may hold no whitespace at all, and
    `-in` is split on it (blast_tools' notes); its messages then name no server path.
    `taxid_map` names a `seqid<TAB>taxid` file in the work dir (a v5 database with taxids)."""
    args = ["-in", f"{base}.fa", "-dbtype", molecule.value, "-out", base, "-title", title]
    if taxid_map is not None:
        args += ["-taxid_map", taxid_map]
    try:
        run_tool("makeblastdb", [*args, "-parse_seqids"], cwd=work, timeout=3600)
    except BlastToolError as exc:
        said = clean_tool_message(exc.stderr_tail or str(exc), work)
        raise BlastDeckError(
            ErrorCode.DATABASE_BUILD_FAILED,
            f"makeblastdb could not build the database: {said}",
            field="file",
        ) from exc


def clean_tool_message(text: str, *hidden: Path) -> str:
    """A BLAST+ tool's complaint once: each distinct line once, no C++ source locations, and
    no server path (the work dir is named by what it holds)."""
    for path in hidden:
        text = text.replace(str(path) + "/", "").replace(str(path), "(work dir)")
    lines: list[str] = []
    for line in text.splitlines():
        line = re.sub(r'T0 "[^"]*", line \d+: ', "", line).strip()
        if line and line not in lines and line != "Error: NCBI C++ Exception:":
            lines.append(line)
    return " ".join(lines)[:600] or "no message"


def molecule_word(molecule: Molecule) -> str:
    return "nucleotide" if molecule is Molecule.NUCLEOTIDE else "protein"


def fasta_molecule(fasta: str | bytes) -> Molecule:
    text = fasta.decode("utf-8", "replace") if isinstance(fasta, bytes) else fasta
    lines = text[:200_000].removeprefix("\ufeff").splitlines()
    sample = "".join(line.strip() for line in lines if not line.lstrip().startswith((">", ";")))
    return detect_molecule(sample[:50_000]) if sample else Molecule.NUCLEOTIDE
