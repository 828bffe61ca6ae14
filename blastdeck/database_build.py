"""Building a BLAST database from an upload: the FASTA unpacked (gzip, bounded) and checked,
then makeblastdb run without a shell in a work dir (`DatabaseCatalog.build` in databases.py).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from pathlib import Path

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
    out = bytearray()
    rest = data
    try:
        while rest:
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            chunk = inflater.decompress(rest, _CHUNK)
            while True:
                out += chunk
                if len(out) > max_bytes:
                    raise BlastDeckError(
                        ErrorCode.PAYLOAD_TOO_LARGE,
                        f"The gzipped FASTA decompresses to more than {max_bytes:,} bytes, the "
                        "upload limit (BLASTDECK_MAX_UPLOAD_BYTES).",
                        field="file",
                    )
                if not inflater.unconsumed_tail:
                    break
                chunk = inflater.decompress(inflater.unconsumed_tail, _CHUNK)
            if not inflater.eof:
                raise zlib.error("truncated")
            rest = inflater.unused_data.lstrip(b"\0")  # the next member, if any
    except zlib.error:
        raise BlastDeckError(
            ErrorCode.INVALID_FASTA,
            "The file starts like gzip but is not a complete gzip file; upload it again.",
            field="file",
        ) from None
    return bytes(out)


@dataclass(frozen=True)
class Records:
    records: list[QueryRecord]
    molecule: Molecule


def database_records(fasta: str | bytes, chosen: Molecule | None) -> Records:
    """The FASTA's records, checked like a query's (but about the upload), with ASCII headers:
    makeblastdb cannot store anything else (it fails on a non-ASCII id, and garbles a
    non-ASCII title while printing the same complaint over and over)."""
    molecule = chosen or fasta_molecule(fasta)
    try:
        records = parse_query(fasta, molecule, _DATABASE_FASTA_LIMITS)
    except BlastDeckError as exc:  # same FASTA rules as a query, but about the upload
        if exc.code is ErrorCode.QUERY_MOLECULE_MISMATCH and chosen is not None:
            raise BlastDeckError(
                ErrorCode.DATABASE_MOLECULE_MISMATCH,
                f"Database FASTA: {exc.message.split(', but ')[0]}, but the database was to be "
                f"{molecule_word(chosen)} (molecule {chosen.value}). Choose the other "
                "molecule, or check the file.",
                field="file",
            ) from None
        raise BlastDeckError(exc.code, f"Database FASTA: {exc.message}", field="file") from None
    bad = [(n, r) for n, r in enumerate(records, 1) if not r.defline.isascii()]
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
