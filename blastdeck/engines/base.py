"""The engine interface: where BLAST runs (`local`, `slurm`; Kubernetes would fit the same shape).

The pipeline calls these in step order. Engines never touch HTTP or the database; they read and
write only the job's work dir and their cluster's scratch dir, and report through return values
and `BlastDeckError`s with stable codes. Engines share the batch plan (`batch_plan.py`), database
staging (`staging.py`), BLAST processes on this host (`blast_process.py`) and result collection
(`batch_results.py`); no engine imports another. Each engine module owns one `EngineKind`
record, which `registry.py` collects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from blastdeck.blast_tools import DatabaseDir
from blastdeck.domain.clusters import Cluster
from blastdeck.domain.errors import BlastDeckError
from blastdeck.domain.programs import Molecule, Program
from blastdeck.engines.staging import database_fingerprint
from blastdeck.search_databases import SEARCH_DIRS, db_list_arg, search_dir


@dataclass(frozen=True)
class DatabaseRef:
    name: str
    prefix: Path  # absolute path prefix of the registered database
    molecule: Molecule


@dataclass(frozen=True)
class TaxidListArg:
    """A job's taxon filter as BLAST takes it: `-taxidlist` or `-negative_taxidlist` and the
    list file written at submit in the job's dir (job_taxa.py); and the share of the databases'
    sequences BLAST searches with it (None: not known, e.g. a job submitted before it was)."""

    option: str
    source: Path
    searched_share: float | None = None


@dataclass(frozen=True)
class JobContext:
    job_id: str
    program: Program
    database: DatabaseRef
    options: dict[str, Any]
    cluster: Cluster
    namespace: str
    work_dir: Path
    taxid_list: TaxidListArg | None = None
    # A job of several databases: all of them, in search order (`database` is the first);
    # empty for a job of one (`searched` gives the one either way).
    databases: tuple[DatabaseRef, ...] = ()

    @property
    def query_path(self) -> Path:
        return self.work_dir / "query.fa"

    @property
    def searched(self) -> tuple[DatabaseRef, ...]:
        """Every database the job searches, in search order."""
        return self.databases or (self.database,)

    def one(self, database: DatabaseRef) -> JobContext:
        """The job as seen for one of its databases (staging and its checks are per database)."""
        return replace(self, database=database, databases=())

    def db_arg(self) -> str:
        """The batch argv's `-db` value (`search_databases.py`)."""
        return db_list_arg([d.prefix for d in self.searched])

    def search_dir(self, place: str, dirs: list[Path]) -> DatabaseDir:
        """Where `db_arg` resolves when each database's files are in `dirs` (in order), e.g.
        their staged copies (`place` names the search dir kept for them in the work dir)."""
        link_dir = self.work_dir / SEARCH_DIRS / place
        return search_dir([d.prefix for d in self.searched], dirs, link_dir, self.database.molecule)

    def registered_dir(self) -> DatabaseDir:
        """Where `db_arg` resolves on the registered databases (archives, query runs, formats)."""
        return self.search_dir("registered", [d.prefix.parent for d in self.searched])


@dataclass(frozen=True)
class WarmState:
    warm: bool
    location: str
    detail: str


@dataclass(frozen=True)
class StagedCopy:
    """A database's copy on a cluster's scratch, as an engine knows it: an engine that stages
    answers `staged_copy(database, fingerprint)` (`database_staging.py` asks every cluster)."""

    location: str
    current: bool  # made from the database's files as they are now (False: out of date)


# The fingerprint of a database's files (engines/staging.py), asked only when there is a copy.
Fingerprint = Callable[[], str]


def warm_state(
    staged_copy: Callable[[str, Fingerprint], StagedCopy | None], where: str, ctx: JobContext
) -> WarmState:
    """An engine's `warmup_check` answer from its `staged_copy` (`where` it would be if none)."""
    copy = staged_copy(ctx.database.name, lambda: database_fingerprint(ctx.database.prefix))
    if copy is None:
        return WarmState(False, where, f"no staged copy of {ctx.database.name} yet")
    if not copy.current:
        return WarmState(False, copy.location, "staged copy is out of date")
    return WarmState(True, copy.location, "current staged copy found")


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    finished: bool = False
    error: BlastDeckError | None = None


@dataclass(frozen=True)
class BatchResult:
    index: int
    table: Path  # the hit table BLAST wrote (results.hsps.HSP_TABLE_OUTFMT)
    archive: Path  # its ASN.1 archive (-outfmt 11), once make_archives made it
    query_ids: tuple[str, ...]
    query_offset: int
    cpu_file: Path | None = None  # the CPU seconds BLAST took for the table, if recorded


@dataclass(frozen=True)
class JobResults:
    batches: tuple[BatchResult, ...]
    blastdb_dir: Path  # where the database's basename resolves when formatting
    blastdb: str = "."  # BLASTDB there (a search dir of several databases: its links too)

    @property
    def database_dir(self) -> DatabaseDir:
        return DatabaseDir(self.blastdb_dir, self.blastdb)


class Engine(Protocol):
    # Whether `submit` hands work to something outside this process (sbatch): the pipeline
    # then records the submit's start before calling it, so a process that dies meanwhile
    # leaves a job that says a submit may have happened. Otherwise (the local engine, whose
    # BLAST processes a cancel or the next submit kills) the start is written with the running
    # step's, or by the quick steps' timer when the submit takes longer (step_records.py).
    submit_leaves_process: bool

    def wait(self, ctx: JobContext, handle: str, timeout_s: float) -> None:
        """Return when the run may have moved on (a batch ended, one failed), or after at most
        `timeout_s`. The caller polls next: an engine that cannot tell sleeps its poll period."""

    def warmup_check(self, ctx: JobContext) -> WarmState:
        """Is a current copy of the database already staged on the cluster?"""

    def configure(self, ctx: JobContext) -> int:
        """Write batches and exact command lines into the work dir; return the batch count."""

    def config_preview(self, ctx: JobContext) -> str:
        """What `configure` wrote, for people: the exact commands (and scripts) that will run."""

    def stage_db(self, ctx: JobContext) -> str:
        """Copy the database to the cluster's scratch; return where it now is."""

    def submit(self, ctx: JobContext, timeout_s: float) -> str:
        """Hand the batches to the cluster (under the submit lock); return a handle.

        Must return or raise `SUBMIT_TIMEOUT` within `timeout_s`, which is below the lock's
        TTL: a submit that outlived its lock could overlap the next holder's submit."""

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

    def shutdown(self) -> None:
        """This process is stopping: end what it runs outside any job's own run (the archive
        runs of downloads). A job's search is left to the restart, which adopts it."""


def _no_check(cluster: str, settings: dict[str, str]) -> None:
    return None


def _no_probe(cluster: Cluster, scratch_root: Path) -> None:
    return None


@dataclass(frozen=True)
class EngineHealth:
    """Whether a cluster's engine can run jobs now, and what was checked (for people)."""

    ok: bool
    detail: str
    checks: dict[str, Any]


def _unknown_health(cluster: Cluster, scratch_root: Path) -> EngineHealth:
    return EngineHealth(True, "no health check for this engine", {})


# Every engine's `namespaces` setting (the registry checks it, whatever the engine): its help.
NAMESPACES_SETTING_HELP = {
    "namespaces": "the namespaces jobs may name, comma-separated (default: any)"
}


@dataclass(frozen=True)
class EngineKind:
    """One kind of engine as the cluster registry knows it, owned by the engine's module.

    `settings` are the cluster settings it understands (others are refused when a cluster is
    added), `setting_help` a line on each for the operator (what it takes, its default; the
    cluster form shows it under the field); `check_settings(cluster_name, settings)` refuses
    bad values then, with the setting named, rather than when the cluster's first job runs;
    `probe(cluster, scratch_root)` checks what the engine needs is there; `health(cluster,
    scratch_root)` says so for listings.
    """

    name: str
    factory: Callable[[Cluster, Path], Engine]
    settings: frozenset[str]
    setting_help: Mapping[str, str] = field(default_factory=dict)
    check_settings: Callable[[str, dict[str, str]], None] = _no_check
    # Can the engine reach what it needs (a writable scratch dir, a SLURM controller)? Run when
    # a cluster is added, so a cluster that cannot work is refused then, with the setting named.
    probe: Callable[[Cluster, Path], None] = _no_probe
    health: Callable[[Cluster, Path], EngineHealth] = _unknown_health
