"""A job's batch plan: its queries split into batch FASTA files, each with its exact BLAST argv.

Every engine writes and reads the same layout in the job's work dir, so all of them search
identically and collect results with the same code:

    plan.json                 the batches, in query order (what `read_batch_plan` returns)
    batches/batch_NNN.fa      the batch's queries
    batches/batch_NNN.hits.tsv        the hit table BLAST writes in the run
    batches/batch_NNN.asn             its ASN.1 archive, made when a download needs one
    batches/batch_NNN.{pid,failed,stderr}   what a running or failed batch left

The argv are argument lists, never shell text; the only user-controlled arguments come from the
option allow-list.
"""

from __future__ import annotations

import json
import shlex
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from blastdeck.blast_tools import tool_path
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.fasta import QueryLimits, QueryRecord, parse_query, to_fasta
from blastdeck.domain.options import blast_arguments, bool_word, validate_options
from blastdeck.domain.programs import shape_of
from blastdeck.domain.search_split import (
    SplitPlan,
    one_thread_search,
    parse_batch_letters,
    plan_split,
    scores_given,
)
from blastdeck.domain.wording import counted
from blastdeck.engines.base import JobContext
from blastdeck.files import write_atomically
from blastdeck.results.hsps import HSP_TABLE_OUTFMT

PLAN_FILE = "plan.json"
# A local cluster setting: its jobs write BLAST's archive as they search (the hit table is
# formatted from it), so the XML, JSON, text and ASN.1 downloads never search again; the price
# is blast_formatter's time for the table (docs/performance.md, "Exports without searching
# again").
ARCHIVE_WITH_SEARCH_SETTING = "archive_with_search"
BATCHES_DIR = "batches"
# The query was validated on submit; re-reading it must not re-apply per-user limits.
UNLIMITED_QUERY = QueryLimits(10**12, 10**12, 10**9, 10**9)


# A batch's commands in order, each with the file it makes (`Batch.steps`).
Steps = tuple[tuple[tuple[str, ...], Path], ...]


@dataclass(frozen=True)
class Batch:
    index: int
    fasta: Path
    table: Path  # the hit table BLAST writes in the run (results.hsps.HSP_TABLE_OUTFMT)
    archive: Path  # the ASN.1 archive: by the search (archive_with_search), else on a download
    query_ids: tuple[str, ...]
    query_offset: int  # job-wide index of the batch's first query
    argv: tuple[str, ...]
    archive_argv: tuple[str, ...]
    threads: int = 1  # BLAST's -num_threads
    slots: int = 1  # the host slots its process holds while it runs (at most `threads`)
    # On a cluster that keeps archives (`archive_with_search`): `argv` writes the archive and
    # this blast_formatter command makes the hit table from it. Empty: `argv` writes the table.
    format_argv: tuple[str, ...] = ()

    def steps(self) -> Steps:
        """The batch's commands in order, each with the file it makes (written to its
        `partial_path` first)."""
        if self.format_argv:
            return ((self.argv, self.archive), (self.format_argv, self.table))
        return ((self.argv, self.table),)

    def _beside(self, suffix: str) -> Path:
        return self.fasta.with_suffix(suffix)

    @property
    def pid_file(self) -> Path:
        return self._beside(".pid")

    @property
    def failed_file(self) -> Path:
        return self._beside(".failed")

    @property
    def stderr_file(self) -> Path:
        return self._beside(".stderr")

    @property
    def cpu_file(self) -> Path:
        """The CPU seconds (user + system) BLAST took for the batch's table, where the engine
        can tell (`blastdeck_blast_cpu_seconds`)."""
        return self._beside(".cpu")


def partial_path(path: Path) -> Path:
    """Where a file is written before it is renamed into place."""
    return path.with_name(path.name + ".part")


def blast_argv(ctx: JobContext, fasta: Path, outfmt: str, out: Path, threads: int = 1) -> list[str]:
    """The exact BLAST command line; user options come only through the allow-list. The
    database is named by its bare file name (several: `N/name` each, through the job's search
    dir, `search_databases.py`), found where the engine runs BLAST (in a
    `blast_tools.DatabaseDir`); the query and output are single absolute paths."""
    return [
        tool_path(ctx.program.value),
        "-query",
        str(fasta),
        "-db",
        ctx.db_arg(),
        "-outfmt",
        outfmt,
        "-out",
        str(out),
        "-num_threads",
        str(threads),
        *blast_arguments(ctx.program, ctx.options),
        *taxid_list_arguments(ctx),
    ]


def format_argv(archive: Path, out: Path) -> list[str]:
    """blast_formatter writing the batch's hit table from its archive: the same rows the search
    itself writes (checked in tests/test_archive_with_search.py)."""
    return [tool_path("blast_formatter"), "-archive", str(archive), "-outfmt", HSP_TABLE_OUTFMT,
            "-out", str(out)]  # fmt: skip


def parse_archive_with_search(cluster: str, settings: dict[str, str]) -> bool:
    """The cluster's `archive_with_search` setting, checked (unset: false)."""
    value = str(settings.get(ARCHIVE_WITH_SEARCH_SETTING, "")).strip()
    keep = bool_word(value) if value else False
    if keep is not None:
        return keep
    raise BlastDeckError(
        ErrorCode.INVALID_CLUSTER_SETTING,
        f"Cluster {cluster}: {ARCHIVE_WITH_SEARCH_SETTING} must be true or false, not "
        f"{value[:40]!r}.",
        field=f"settings.{ARCHIVE_WITH_SEARCH_SETTING}",
    )


def taxid_list_arguments(ctx: JobContext) -> list[str]:
    """`-taxidlist FILE` (or `-negative_taxidlist FILE`) for a job with a taxon filter: the
    list written at submit, as a copy in the work dir the engine runs from (a SLURM job's dir
    on the shared filesystem is not the job's own), so BLAST reads it wherever it runs."""
    if ctx.taxid_list is None:
        return []
    return [ctx.taxid_list.option, str(ctx.work_dir / ctx.taxid_list.source.name)]


def _place_taxid_list(ctx: JobContext) -> None:
    if ctx.taxid_list is None:
        return
    placed = ctx.work_dir / ctx.taxid_list.source.name
    if placed != ctx.taxid_list.source:
        shutil.copyfile(ctx.taxid_list.source, placed)


def job_split(
    ctx: JobContext, slots: int, batch_letters: int | None = None
) -> tuple[list[QueryRecord], SplitPlan]:
    """The job's query records and how they are split into BLAST processes
    (`domain.search_split`: BLAST's own cost model; `batch_letters`: the cluster's setting)."""
    records = parse_query(ctx.query_path.read_text(), shape_of(ctx.program).query, UNLIMITED_QUERY)
    options = validate_options(ctx.program, ctx.options)
    task = options.get("task")
    # A query's whole length, also with -query_loc: BLAST+ fills its query batches by the whole
    # sequence's length (CBlastInput::GetNextSeqBatch), and where E-values depend on the batch
    # (tblastx) only its own batches give BLAST's. By the searched stretch, a tblastx job of 79
    # queries with query_loc 9-284 was planned [0,48) [48,79) where BLAST's batches are [0,39)
    # [39,78) [78,79), and 32 of its 6,843 rows differed (found by the random searches).
    letters = [len(r.sequence) for r in records]
    ungapped = bool(options.get("ungapped"))
    task = task and str(task)
    one_thread = one_thread_search(options)
    share = ctx.taxid_list.searched_share if ctx.taxid_list is not None else None
    word_size = options.get("word_size")
    split = plan_split(
        ctx.program,
        letters,
        slots,
        batch_letters,
        task,
        ungapped,
        one_thread,
        share,
        word_size=int(word_size) if word_size is not None else None,
        custom_scores=scores_given(options),
    )
    return records, split


def write_batch_plan(ctx: JobContext, slots: int, archive_with_search: bool = False) -> int:
    """Split the job's queries into batch FASTA files (as `job_split` plans, with the cluster's
    `batch_letters` setting) and write plan.json. Returns the number of batches.
    `archive_with_search`: each batch's search writes BLAST's archive and its hit table is
    formatted from it, so no download ever searches again."""
    batch_letters = parse_batch_letters(ctx.cluster.name, ctx.cluster.settings)
    records, split = job_split(ctx, slots, batch_letters)
    batches_dir = ctx.work_dir / BATCHES_DIR
    shutil.rmtree(batches_dir, ignore_errors=True)
    batches_dir.mkdir(parents=True)
    _place_taxid_list(ctx)
    plan = []
    for i, planned in enumerate(split.batches):
        batch = records[planned.start : planned.end]
        threads = planned.threads
        fasta = batches_dir / f"batch_{i:03d}.fa"
        fasta.write_text(to_fasta(batch))
        table, archive = fasta.with_suffix(".hits.tsv"), fasta.with_suffix(".asn")
        archive_argv = blast_argv(ctx, fasta, "11", partial_path(archive), threads)
        if archive_with_search:  # the search writes the archive, the formatter the table
            argv = archive_argv
        else:
            argv = blast_argv(ctx, fasta, HSP_TABLE_OUTFMT, partial_path(table), threads)
        plan.append(
            {
                "index": i,
                "fasta": str(fasta),
                "table": str(table),
                "archive": str(archive),
                "query_ids": [r.id for r in batch],
                "query_offset": planned.start,
                "argv": argv,
                "archive_argv": archive_argv,
                "threads": threads,
                "slots": planned.slots,
            }
        )
        if archive_with_search:
            plan[-1]["format_argv"] = format_argv(archive, partial_path(table))
    document = {"batches": plan, "split": split.reason, "blast_query_batches": split.blast_batches}
    write_atomically(ctx.work_dir / PLAN_FILE, json.dumps(document, indent=1))
    return len(plan)


def read_batch_plan(work_dir: Path) -> list[Batch]:
    return [
        Batch(
            index=b["index"],
            fasta=Path(b["fasta"]),
            table=Path(b["table"]),
            archive=Path(b["archive"]),
            query_ids=tuple(b["query_ids"]),
            query_offset=b["query_offset"],
            argv=tuple(b["argv"]),
            archive_argv=tuple(b["archive_argv"]),
            threads=b.get("threads", 1),  # plans written before threads were planned
            # plans written before processes ran more threads than slots held
            slots=b.get("slots", b.get("threads", 1)),
            format_argv=tuple(b.get("format_argv", ())),
        )
        for b in json.loads((work_dir / PLAN_FILE).read_text())["batches"]
    ]


class PlanCache:
    """Plans parsed once per version of plan.json: a running step polls them many times a
    second. Entries are kept only for jobs the caller says are live (`forget` drops one)."""

    def __init__(self) -> None:
        self._plans: dict[str, tuple[int, list[Batch]]] = {}

    def get(self, job_id: str, work_dir: Path, keep: bool) -> list[Batch]:
        version = (work_dir / PLAN_FILE).stat().st_mtime_ns
        cached = self._plans.get(job_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        batches = read_batch_plan(work_dir)
        if keep:
            self._plans[job_id] = (version, batches)
        return batches

    def forget(self, job_id: str) -> None:
        self._plans.pop(job_id, None)


def plan_preview(
    work_dir: Path, argv_for: Callable[[list[str]], list[str]] = lambda argv: argv
) -> str:
    """Each batch's queries and the exact BLAST command line it runs (no shell: shown quoted);
    `argv_for` turns the plan's argv into the one the engine really runs."""
    document = json.loads((work_dir / PLAN_FILE).read_text())
    plan = document["batches"]
    lines = [f"# {len(plan)} batch(es); each runs one BLAST+ process"]
    if "split" in document:  # plans written before the split was planned have no reason
        lines.append(f"# why: {document['split']}")
    for batch in plan:
        ids = batch["query_ids"]
        lines.append(
            f"\n# batch {batch['index']}: {counted(len(ids), 'query')} ({ids[0]} ... {ids[-1]})"
        )
        lines.append(shlex.join(argv_for(batch["argv"])))
        if batch.get("format_argv"):
            lines.append(shlex.join(batch["format_argv"]))
    return "\n".join(lines) + "\n"
