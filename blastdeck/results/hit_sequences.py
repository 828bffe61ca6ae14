"""The sequences of a job's hit subjects as FASTA: each whole subject, or each HSP's aligned
region of it (BLAST's coordinates; `sstart > send` is the subject's minus strand).

A database built with `-parse_seqids` is read with one `blastdbcmd -entry_batch FILE` run (one
line per entry: `id [start-end] [plus|minus]`), so the output is byte for byte what
`blastdbcmd -entry ID -range S-E -strand X` prints, streamed as blastdbcmd writes it.

A database built without it has no id index: BLAST+ 2.12's blastdbcmd finds no entry by id in
it ("DB contains no accession info", for `gnl|BL_ORD_ID|N` as well), while BLAST reports its
subjects by the title's first word. Its sequences are then read in one pass over the whole
database (`-entry all`, the sequences of the wanted ordinals kept, matched by title and
length) and written the way blastdbcmd writes a `-parse_seqids` build of the same FASTA:
`>ID:S-E rest of title` (or `>ID:cE-S` on the minus strand), 80 residues a line.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

import numpy as np

from blastdeck.blast_tools import DatabaseDir, blast_env, database_arg, tail, tool_path
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.programs import Molecule
from blastdeck.results.hsp_index import HspTable

MAX_SUBJECTS_CHARS = 4_000  # percent-encoded (<= 12 bytes a char): within the head limit
# A subject id as BLAST prints it (saccver): no whitespace, no comma, nothing a FASTA line or
# a blastdbcmd batch line would split on.
_SUBJECT_ID = re.compile(r"[^\s,]{1,200}")
FASTA_TYPE = "text/x-fasta"
HIT_SEQUENCES_DIR = "hit-sequences"  # in the job's work dir: the batch files being read
LINE_LENGTH = 80  # blastdbcmd's default -line_length
CHUNK_BYTES = 64 * 1024
_COMPLEMENT = bytes.maketrans(
    b"ACGTURYKMBVDHSWNacgturykmbvdhswn", b"TGCAAYRMKVBHDSWNtgcaayrmkvbhdswn"
)
# Files a -parse_seqids database has (v5: .nos/.pos; v4: .nsi/.psi), per volume.
_ID_INDEX_SUFFIXES = {Molecule.NUCLEOTIDE: (".nos", ".nsi"), Molecule.PROTEIN: (".pos", ".psi")}


@dataclass(frozen=True)
class SequenceSource:
    """The job's database(s) as blastdbcmd reads them: run in `where` with `-db arg` (several
    databases: their union, as BLAST searched them, `search_databases.py`), so each subject
    is read from the database it is in; `prefixes` are the registered databases."""

    where: DatabaseDir
    arg: str
    prefixes: tuple[Path, ...]
    molecule: Molecule

    @classmethod
    def single(cls, prefix: Path, molecule: Molecule) -> SequenceSource:
        return cls(DatabaseDir(prefix.parent), database_arg(prefix), (prefix,), molecule)

    def base_argv(self) -> list[str]:
        return [tool_path("blastdbcmd"), "-db", self.arg, "-dbtype", self.molecule.value]


class Region(StrEnum):
    FULL = "full"
    HSP = "hsp"


def parse_region(value: str) -> Region:
    try:
        return Region(value.strip().lower())
    except ValueError:
        raise BlastDeckError(
            ErrorCode.INVALID_REQUEST,
            f"Unknown region {value[:40]!r}; use full (the whole subject) or hsp (each HSP's "
            "aligned part).",
            field="region",
        ) from None


def parse_subjects(text: str) -> tuple[str, ...]:
    """Comma-separated subject ids, as the hit table shows them; repeats are kept once."""
    items = [item.strip() for item in text.split(",")]
    bad = [item for item in items if not _SUBJECT_ID.fullmatch(item)]
    if not items or bad:
        shown = ", ".join(repr(b[:40]) for b in bad[:5]) or "nothing"
        raise BlastDeckError(
            ErrorCode.INVALID_REQUEST,
            "subjects must be subject ids separated by commas (no spaces inside an id, none "
            f"empty); got {shown}.",
            field="subjects",
        )
    return tuple(dict.fromkeys(items))


@dataclass(frozen=True)
class Entry:
    """One FASTA record to write: a subject, whole (`start` None) or from start to end (1-based,
    start <= end) on one strand."""

    subject_id: str
    title: str
    length: int
    start: int | None = None
    end: int | None = None
    minus: bool = False


def select_entries(
    table: HspTable,
    region: Region,
    subjects: tuple[str, ...] | None = None,
    query_index: int | None = None,
) -> list[Entry]:
    """The records to write, in the job's order (query order, BLAST's order within a query):
    every hit subject once for `full`, every distinct (subject, range, strand) for `hsp`.
    Subjects the job has no hit on are refused by name (subjects_not_in_job)."""
    columns = table.columns
    rows = np.arange(len(table))
    if query_index is not None:
        rows = rows[columns["query_index"] == query_index]
    codes = columns["subject"][rows]
    if subjects is not None:
        # While a job runs, one subject may have a code per batch (the final index has one).
        present: dict[str, list[int]] = {}
        for c in np.unique(codes).tolist():
            present.setdefault(table.subject_ids[c], []).append(c)
        missing = [s for s in subjects if s not in present]
        if missing:
            raise _not_in_job(missing, query_index)
        keep = np.isin(codes, [c for s in subjects for c in present[s]])
        rows, codes = rows[keep], codes[keep]
    sstart, send = columns["sstart"][rows], columns["send"][rows]
    if region is Region.FULL:
        key = codes[:, None]
    else:
        key = np.stack(
            [codes, np.minimum(sstart, send), np.maximum(sstart, send), sstart > send], 1
        )
    # Each distinct key once, at its first row (np.unique sorts; the first indexes restore order).
    _, first = np.unique(key, axis=0, return_index=True)
    first.sort()
    entries: dict[Entry, None] = {}  # an ordered set: per-batch codes can repeat a subject
    for i in first.tolist():
        code, row = int(codes[i]), int(rows[i])
        title, length = table.subject_titles[code], int(columns["slen"][row])
        subject = table.subject_ids[code]
        if region is Region.FULL:
            entries[Entry(subject, title, length)] = None
        else:
            s, e = int(sstart[i]), int(send[i])
            entries[Entry(subject, title, length, min(s, e), max(s, e), s > e)] = None
    return list(entries)


def _not_in_job(missing: list[str], query_index: int | None) -> BlastDeckError:
    where = f" of query {query_index}" if query_index is not None else ""
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    return BlastDeckError(
        ErrorCode.SUBJECTS_NOT_IN_JOB,
        f"No hit{where} of this job is on {', '.join(missing[:10])}{more}; /hits lists the "
        "job's subjects.",
        field="subjects",
        detail={"subjects": ",".join(missing[:100])},
    )


def has_id_index(prefix: Path, molecule: Molecule) -> bool:
    """Was the database built with -parse_seqids? Its id index files are there (beside a
    single volume `NAME.nin`, or each volume `NAME.NN.nin`). An alias (`NAME.nal`) is taken to
    have ids: blastdbcmd says so when one of its volumes has none."""
    directory, name = prefix.parent, prefix.name
    index_suffix = f".{molecule.value[0]}in"
    volumes = [directory / name] if (directory / f"{name}{index_suffix}").exists() else []
    volumes += [
        p.with_suffix("")
        for p in directory.iterdir()
        if p.name.startswith(f"{name}.")
        and _VOLUME.fullmatch(p.name[len(name) :] or "")
        and p.name.endswith(index_suffix)
    ]
    if not volumes:
        return True
    suffixes = _ID_INDEX_SUFFIXES[molecule]
    return any(Path(f"{v}{s}").exists() for v in volumes for s in suffixes)


_VOLUME = re.compile(r"\.\d{2,3}\.[np]in")


def stream_fasta(entries: list[Entry], source: SequenceSource, scratch: Path) -> Iterator[bytes]:
    """The FASTA of `entries`, read from the database(s) of `source`, in chunks. `scratch` is
    a directory (in the data dir) for the batch file. Read by id when every database has ids,
    else by ordinal over them all (BLAST's ordinals run on across several databases)."""
    if not entries:
        return iter(())
    if all(has_id_index(prefix, source.molecule) for prefix in source.prefixes):
        return _by_id(entries, source, scratch)
    return _by_ordinal(entries, source)


def batch_line(entry: Entry, molecule: Molecule) -> str:
    parts = [entry.subject_id]
    if entry.start is not None:
        parts.append(f"{entry.start}-{entry.end}")
        if molecule is Molecule.NUCLEOTIDE:
            parts.append("minus" if entry.minus else "plus")
    return " ".join(parts) + "\n"


def _by_id(entries: list[Entry], source: SequenceSource, scratch: Path) -> Iterator[bytes]:
    # Checked now (a missing blastdbcmd, an unusable database name: an error answer); the
    # batch file is written when the body is first read (a HEAD never writes one).
    argv = source.base_argv()
    lines = [batch_line(e, source.molecule) for e in entries]
    return _run_streaming(argv, source.where, lines, scratch)


def _run_streaming(
    argv: list[str], where: DatabaseDir, lines: list[str], scratch: Path
) -> Iterator[bytes]:
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=scratch, prefix="entries-", suffix=".txt", delete=False
    ) as batch_file:
        batch_file.writelines(lines)
    batch = Path(batch_file.name)
    # stderr goes to a file: a pipe nobody reads until the end could fill (a line per entry
    # not found) and stall blastdbcmd.
    errors = batch.with_suffix(".stderr")
    try:
        with errors.open("w+b") as stderr:
            yield from _blastdbcmd_output([*argv, "-entry_batch", str(batch)], where, stderr)
    finally:
        batch.unlink(missing_ok=True)
        errors.unlink(missing_ok=True)


def _blastdbcmd_output(
    argv: list[str], where: DatabaseDir, stderr_file: BinaryIO
) -> Iterator[bytes]:
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=stderr_file, cwd=where.path, env=blast_env(where)
    )
    try:
        assert proc.stdout is not None
        while chunk := proc.stdout.read(CHUNK_BYTES):
            yield chunk
        if proc.wait() != 0:
            stderr_file.seek(0)
            stderr = stderr_file.read()
            # The body has started: the failure can only end the stream early (and be logged).
            raise BlastDeckError(
                ErrorCode.EXPORT_FAILED,
                f"blastdbcmd exited with code {proc.returncode}: {tail(stderr) or 'no message'}",
            )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


def _by_ordinal(entries: list[Entry], source: SequenceSource) -> Iterator[bytes]:
    """A database without ids: find each subject's ordinal by (title, length), then keep those
    sequences from one pass over the database."""
    where = source.where
    base = source.base_argv()
    listing = subprocess.run(
        [*base, "-entry", "all", "-outfmt", "%o\t%l\t%t"],
        capture_output=True, cwd=where.path, env=blast_env(where), check=False,
    )  # fmt: skip
    if listing.returncode != 0:
        raise BlastDeckError(
            ErrorCode.EXPORT_FAILED,
            f"blastdbcmd could not list the database: {tail(listing.stderr)}",
        )
    ordinal_of: dict[tuple[str, int], int] = {}
    for line in listing.stdout.decode("utf-8", "replace").splitlines():
        oid, length, title = line.split("\t", 2)
        ordinal_of.setdefault((title, int(length)), int(oid))
    wanted = {ordinal_of.get((e.title, e.length)) for e in entries} - {None}
    sequences = _sequences_of(base, where, wanted)
    # Records gathered into chunks: a chunk per record would cost a thread hop each in the
    # server's streaming.
    chunk = bytearray()
    for entry in entries:
        oid = ordinal_of.get((entry.title, entry.length))
        if oid is None or oid not in sequences:
            continue  # the database changed since the job ran
        chunk += fasta_record(entry, sequences[oid])
        if len(chunk) >= CHUNK_BYTES:
            yield bytes(chunk)
            chunk.clear()
    if chunk:
        yield bytes(chunk)


def _sequences_of(base: list[str], where: DatabaseDir, wanted: set[int]) -> dict[int, bytes]:
    proc = subprocess.Popen(
        [*base, "-entry", "all", "-outfmt", "%o\t%s"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=where.path, env=blast_env(where),
    )  # fmt: skip
    found: dict[int, bytes] = {}
    assert proc.stdout is not None
    with proc.stdout:
        for line in proc.stdout:
            oid_text, _, sequence = line.partition(b"\t")
            oid = int(oid_text)
            if oid in wanted:
                found[oid] = sequence.rstrip(b"\n")
                if len(found) == len(wanted):
                    break
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    return found


def fasta_record(entry: Entry, sequence: bytes) -> bytes:
    """One record as blastdbcmd prints it for a -parse_seqids database: the whole title, or
    the id with its range (`:cE-S` on the minus strand) before the rest of the title."""
    if entry.start is None:
        header = entry.title
    else:
        sequence = sequence[entry.start - 1 : entry.end]
        if entry.minus:
            sequence = sequence.translate(_COMPLEMENT)[::-1]
            where = f"c{entry.end}-{entry.start}"
        else:
            where = f"{entry.start}-{entry.end}"
        first, _, rest = entry.title.partition(" ")
        header = f"{first}:{where} {rest}" if rest else f"{first}:{where}"
    lines = [sequence[i : i + LINE_LENGTH] for i in range(0, len(sequence), LINE_LENGTH)]
    return f">{header}\n".encode() + b"".join(line + b"\n" for line in lines)


def hit_fasta(
    table: HspTable,
    source: SequenceSource,
    scratch: Path,
    region: str = Region.FULL,
    subjects: str | None = None,
    query_index: int | None = None,
) -> Iterator[bytes]:
    """The `format=fasta` download of a job whose index is `table`, on its database(s): the
    request is checked whole (region, subjects, their being in the job) before the first byte."""
    chosen_region = parse_region(region)
    chosen = parse_subjects(subjects) if subjects is not None else None
    entries = select_entries(table, chosen_region, chosen, query_index)
    return stream_fasta(entries, source, scratch)
