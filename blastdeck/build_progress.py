"""How far the build of a database from an upload has got, for the Databases page's second bar
(`GET /api/databases/uploads/{upload_id}`): the upload's bytes arriving, then the FASTA checked
(bytes of the plain file), then makeblastdb (bytes of its output files against an estimate).

Kept in this process only, in memory: it is a view of work this process is doing, worthless
once the build ends, so no table holds it. With several API processes (distributed mode) the
page may ask another process than the one building and hear 404 `unknown_upload`; it then
shows a bar without a percent. An entry is forgotten `EXPIRE_AFTER_S` after its build ended.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.programs import Molecule

Phase = Literal["receiving", "checking", "building", "done", "failed"]
EXPIRE_AFTER_S = 600.0  # after done/failed: long enough for a page polling every 500 ms
MAX_ENTRIES = 1000  # the oldest are dropped past it: memory stays bounded whatever clients send
WATCH_EVERY_S = 0.25  # how often makeblastdb's output files are measured
# makeblastdb's output beyond the residues, per sequence, measured on BLAST+ 2.x with
# -parse_seqids (v5): .nin/.pin offsets, .nos/.not/.nog/.nto seqid indices, .ndb (SQLite) and
# the headers' ASN.1 framing: about 130 bytes for a sequence with a short id.
PER_SEQUENCE_BYTES = 130
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def makeblastdb_estimate(
    molecule: Molecule, letters: int, sequences: int, header_bytes: int
) -> int:
    """An estimate (not a measure) of the bytes makeblastdb will write for the checked FASTA:
    nucleotides packed four to a byte (.nsq; an ambiguous base costs a little more), a protein
    residue one byte plus one between sequences (.psq), the headers' text as it is (.nhr/.phr)
    and PER_SEQUENCE_BYTES of indexes. Measured within ~10% on uniform files; the page says
    "~" and the bar stops at 99% until makeblastdb has finished."""
    residues = letters // 4 if molecule is Molecule.NUCLEOTIDE else letters + sequences
    return residues + header_bytes + sequences * PER_SEQUENCE_BYTES


def parse_upload_id(value: str) -> str:
    """An upload id as the client made it: a UUID in its usual 36-character form (any case),
    lower-cased; anything else is refused, so no odd text becomes a key."""
    text = value.lower()
    if not _UUID.fullmatch(text):
        raise BlastDeckError(
            ErrorCode.INVALID_UPLOAD_ID,
            f"The upload id {value[:40]!r} is not a UUID (like 0f8fad5b-d9cb-469f-a165-"
            "70867728950e).",
            field="upload_id",
        )
    return text


@dataclass
class BuildProgress:
    """One upload's build. Its counters are written by the thread building (and the thread
    watching makeblastdb) and read, as a copy, by requests: plain int assignments, each whole."""

    upload_id: str
    owner_id: str | None
    phase: Phase = "receiving"
    total_bytes: int | None = None  # of the plain FASTA; None while a gzipped one is inflated
    checked_bytes: int = 0
    sequences: int = 0
    letters: int = 0
    header_bytes: int = 0
    output_bytes: int = 0
    output_estimate: int | None = None
    database: str | None = None  # its name, once done
    error_code: str | None = None  # once failed
    message: str | None = None
    ended_at: float | None = None  # time.monotonic()

    def checking(self, total_bytes: int | None) -> None:
        self.phase, self.total_bytes = "checking", total_bytes

    def checked(self, part_bytes: int, sequences: int, letters: int, header_bytes: int) -> None:
        """One more part of the file checked (`database_fasta.check_fasta_file`)."""
        self.checked_bytes += part_bytes
        self.sequences += sequences
        self.letters += letters
        self.header_bytes += header_bytes

    @contextmanager
    def building(
        self, molecule: Molecule, folder: Path, base: str, inputs: set[str]
    ) -> Iterator[None]:
        """makeblastdb runs in `folder`: its output files (`base.*`, by any name it gives them
        while writing, but not the `inputs`) are measured every WATCH_EVERY_S until it ends."""
        self.output_estimate = makeblastdb_estimate(
            molecule, self.letters, self.sequences, self.header_bytes
        )
        self.phase = "building"
        stop = threading.Event()

        def watch() -> None:
            while not stop.wait(WATCH_EVERY_S):
                self.output_bytes = _output_bytes(folder, base, inputs)

        watcher = threading.Thread(target=watch, name=f"build-progress-{base}", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            stop.set()
            watcher.join()
            self.output_bytes = _output_bytes(folder, base, inputs)

    @property
    def percent(self) -> int | None:
        """Of the current phase; None when unknown (receiving: the page has its own bar)."""
        if self.phase == "done":
            return 100
        if self.phase == "checking" and self.total_bytes:
            return min(100, self.checked_bytes * 100 // self.total_bytes)
        if self.phase == "building" and self.output_estimate:
            return min(99, self.output_bytes * 100 // self.output_estimate)  # an estimate
        return None


def _output_bytes(folder: Path, base: str, inputs: set[str]) -> int:
    total = 0
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        return 0
    for path in entries:
        if path.name.startswith(f"{base}.") and path.name not in inputs:
            # gone meanwhile: renamed by makeblastdb as it finished a volume
            with suppress(FileNotFoundError):
                total += path.stat().st_size
    return total


class BuildProgressRegistry:
    """The builds of this process by upload id, each kept until EXPIRE_AFTER_S after it ended."""

    def __init__(self, expire_after_s: float = EXPIRE_AFTER_S) -> None:
        self._entries: OrderedDict[str, BuildProgress] = OrderedDict()
        self._lock = threading.Lock()
        self._expire_after_s = expire_after_s

    @contextmanager
    def tracking(self, upload_id: str | None, owner_id: str | None) -> Iterator[BuildProgress]:
        """A new entry for the upload (a throwaway one when the client gave no id), marked
        failed if the block raises; the caller marks it done with the database's name."""
        progress = BuildProgress(upload_id or "", owner_id)
        if upload_id is not None:
            self._add(progress)
        try:
            yield progress
        except BlastDeckError as exc:
            _end(progress, "failed", error_code=exc.code.value, message=exc.message)
            raise
        except BaseException:
            _end(progress, "failed", error_code="internal_error", message="The build stopped.")
            raise

    def done(self, progress: BuildProgress, database: str) -> None:
        _end(progress, "done", database=database)

    def get(self, upload_id: str) -> BuildProgress | None:
        """A copy of the entry (None: unknown or expired)."""
        with self._lock:
            self._expire()
            entry = self._entries.get(upload_id)
            return replace(entry) if entry is not None else None

    def _add(self, progress: BuildProgress) -> None:
        with self._lock:
            self._expire()
            if progress.upload_id in self._entries:
                raise BlastDeckError(
                    ErrorCode.UPLOAD_ID_IN_USE,
                    "This upload id is already used by another upload; make a new one.",
                    field="upload_id",
                )
            self._entries[progress.upload_id] = progress
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)

    def _expire(self) -> None:
        cutoff = time.monotonic() - self._expire_after_s
        for key in [k for k, e in self._entries.items() if e.ended_at and e.ended_at < cutoff]:
            del self._entries[key]


def _end(progress: BuildProgress, phase: Phase, **fields: str) -> None:
    for key, value in fields.items():
        setattr(progress, key, value)
    progress.phase, progress.ended_at = phase, time.monotonic()
