"""The engine interface: where BLAST runs. `local` today; SLURM and Kubernetes fit the same shape.

The pipeline calls these in step order. Engines never touch HTTP or the database; they read and
write only the job's work dir and their cluster's scratch dir, and report through return values
and `BlastDeckError`s with stable codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from blastdeck.domain.errors import BlastDeckError
from blastdeck.domain.programs import Molecule, Program


@dataclass(frozen=True)
class DatabaseRef:
    name: str
    prefix: Path  # absolute path prefix of the registered database
    molecule: Molecule


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    engine: str
    namespace: str
    slots: int
    settings: dict[str, str] = field(default_factory=dict)
    namespaces: tuple[str, ...] = ()  # empty: any valid namespace


@dataclass(frozen=True)
class JobContext:
    job_id: str
    program: Program
    database: DatabaseRef
    options: dict[str, Any]
    cluster: ClusterSpec
    namespace: str
    work_dir: Path

    @property
    def query_path(self) -> Path:
        return self.work_dir / "query.fa"


@dataclass(frozen=True)
class WarmState:
    warm: bool
    location: str
    detail: str


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    finished: bool = False
    error: BlastDeckError | None = None


@dataclass(frozen=True)
class BatchResult:
    table: Path  # the hit table BLAST wrote (results.hits.HIT_TABLE_OUTFMT)
    archive: Path  # its ASN.1 archive (-outfmt 11), once make_archives made it
    query_ids: tuple[str, ...]
    query_offset: int


@dataclass(frozen=True)
class JobResults:
    batches: tuple[BatchResult, ...]
    blastdb_dir: Path  # where the database's basename resolves when formatting


class Engine(Protocol):
    poll_interval_s: float

    def warmup_check(self, ctx: JobContext) -> WarmState:
        """Is a current copy of the database already staged on the cluster?"""

    def configure(self, ctx: JobContext) -> int:
        """Write batches and exact command lines into the work dir; return the batch count."""

    def config_preview(self, ctx: JobContext) -> str:
        """What `configure` wrote, for people: the exact commands (and scripts) that will run."""

    def stage_db(self, ctx: JobContext) -> str:
        """Copy the database to the cluster's scratch; return where it now is."""

    def submit(self, ctx: JobContext) -> str:
        """Hand the batches to the cluster (under the submit lock); return a handle."""

    def resume(self, ctx: JobContext, handle: str) -> str:
        """Re-attach to submitted work after this process restarted; return the handle to poll."""

    def poll(self, ctx: JobContext, handle: str) -> Progress:
        """Batches done so far; finished or failed when the run is over."""

    def collect(self, ctx: JobContext) -> JobResults:
        """The batch outputs in query order (hit tables of the batches finished so far)."""

    def make_archives(self, ctx: JobContext) -> JobResults:
        """Make the batches' ASN.1 archives (for XML/JSON/text/ASN.1 downloads) if missing."""

    def cancel(self, ctx: JobContext, handle: str | None) -> None:
        """Stop every process of the job; safe to call more than once."""
