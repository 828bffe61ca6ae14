"""How a job's queries are split into BLAST processes, from BLAST+'s own cost model (pure).

What a BLAST+ search costs (2.12, `-mt_mode 0`, the default):

- BLAST reads the queries in **query batches** of its own (`GetQueryBatchSize`: a batch takes
  whole queries until it holds at least `BLAST_QUERY_BATCH_LETTERS[program]` letters) and
  searches each batch with one **scan of the database**: the scan costs about the same
  whatever the batch holds, so it is paid once per BLAST query batch, and once per process for
  a process whose queries fit one batch.
- The rest (extending and aligning hits) grows with the query letters.
- Threads of one process (`-num_threads`, mode 0) split each batch's scan between them: they
  share it, they do not repeat it.

So raw `blastn -num_threads S` pays `n` scans, `n` being the number of BLAST query batches of
the job. Any split into processes that pays no more than `n` scans costs nothing; each process
more than that pays a scan. Hence the plan:

- `n == 1` (the job fits one BLAST query batch: 50 16S queries for blastn, a few dozen
  proteins for blastp): **one process per slot**, equal in letters, when the job has at least
  two queries and the cluster two slots. A single query (or a single slot) is **one process
  with every slot as a thread**.
- `n > 1`: **`n` processes**, equal in letters, each within one BLAST query batch (checked: the
  plan pays exactly `n` scans, as raw BLAST does, else it falls back to BLAST's own batches).
  These batches cost no scan raw BLAST does not pay, and give progress and resumability (a
  finished batch is not run again).
- `n > 1` but few batches (`n` at most `FEW_BATCHES` per slot, no cluster `batch_letters`):
  **one process per slot, each a run of whole batches** (the first runs a batch longer where
  they do not divide evenly; checked to pay no scan more, else a process per batch). Starting a
  BLAST process costs 0.07-0.1 CPU-s (one short query, 2.12: blastx the most), which on the
  sub-second batches of a small database is more than the progress of one batch more is worth;
  on a large database the runs take as long as the batches would, with coarser progress. Bare
  commands, the bench's blastx-20 (3 batches) on 2 slots against raw `blastx -num_threads 2`,
  medians of 7-15 interleaved rounds on three sets: a process per batch 0.947-0.999, a process
  per slot 0.873-0.966 (BLAST's CPU 1.08 of raw against 1.01); blastp-50 (3 batches) even
  within the noise (0.946-1.021 against 0.960-0.986).
- Except where a query's results depend on the queries BLAST searches with it
  (`batch_bound_reason`): tblastx and every program with `-ungapped` (E-values from the
  batch), and blastn but for megablast with BLAST's scores and a word of 16 or more (a query
  first in its batch can get other HSPs). There the processes are **BLAST's own query batches**, a
  single batch one process with every slot as a thread, and a cluster's `batch_letters` cuts
  no finer, so every hit is the one raw BLAST prints.

Threads: a process of a split job holds one slot (its share of the slots, when the job has
fewer processes than the cluster has slots) but runs BLAST with **two threads per slot it
holds**, at most every slot (`THREADS_PER_HELD_SLOT`). Equal letters are not equal work: on
16S data a query's cost does not follow its letters (each bench query timed alone:
correlation -0.19 to -0.04; it follows what the query hits), so halves equal in letters ended
1-1.5 s apart in a 7-9 s job, one core idle meanwhile. With more threads than slots, while
the processes run side by side the OS shares the cores between their threads (one process's
serial phases are filled by the other's threads), and when one process ends the others'
threads take the cores it freed (on 2 cores, all of them; on more, twice what each holds).
Measured against raw `blastn -num_threads 2` on 50 16S queries, four bench sets and two
option sets (docs/performance.md): 0.83-0.98, where 1-thread processes gave 0.91-1.05. A
slot's runner takes the next batch as soon as its process ends, so no slot idles while
batches are left.

Except a search of a small share of the database (`SMALL_SEARCH_SHARE`: a taxon filter that
leaves BLAST a tenth of the sequences or less): its processes run **one thread per slot held**.
Such a search ends in a second or a few, its processes' ends lie close together, and a second
thread in each costs more than the idle end it would fill. Measured as raw commands (the
plan's two halves with one thread each, then two each, against raw `blastn -num_threads 2`;
medians of 5-12 interleaved rounds, 50 16S queries, bench sets of 3,000 and 10,000 sequences
and two seeds; docs/taxonomy.md), one thread each took, of two threads each's time: 0.88-0.99
at 1.6 % of the sequences (five cells), 0.94-0.97 at 4-7 % (four) and 1.06 in a fifth, 0.94 at
14 %; at 19 % 1.05, and at 87 % 1.14 (two threads each won: 0.84 of raw BLAST against 0.96).

A search with `-culling_limit` or `-qcov_hsp_perc` is split the same way, but every process
runs one thread in one slot: with more, BLAST+ 2.12 keeps other HSPs than its one-thread run of
the same command does, and with culling other HSPs from one run to the next
(`ONE_THREAD_OPTIONS`).

`-mt_mode 1` (threads split by queries, each thread scanning the database for its own queries)
is what the processes of the second rule already do, with progress and resumability; within a
process the plan always uses mode 0, so a process is exactly the BLAST command a user would
run, with its threads.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import accumulate, pairwise

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.programs import Program

# BLAST+ 2.12's GetQueryBatchSize (blast_input_aux.cpp), letters of query per query batch.
# blastn depends on the task: megablast (the default) and dc-megablast take 5,000,000 letters,
# blastn and blastn-short 1,000,000 (checked on 2.12 by BLAST's peak memory, which grows with
# the batch: the default equals BATCH_SIZE=5000000 for megablast and dc-megablast, 1000000 for
# blastn and blastn-short). blastx/tblastx count nucleotide letters (a multiple of 3, so frames
# stay aligned across batches).
BLAST_QUERY_BATCH_LETTERS: dict[Program, int] = {
    Program.BLASTN: 1_000_000,
    Program.BLASTP: 10_000,
    Program.BLASTX: 10_002,
    Program.TBLASTX: 10_002,
    Program.TBLASTN: 20_000,
}
MEGABLAST_QUERY_BATCH_LETTERS = 5_000_000
MEGABLAST_TASKS = frozenset({"megablast", "dc-megablast"})
# blastn's default task, the shortest word it is split with (a letter above 15, the shortest
# never seen to change a query's hits by the query before it: bench/query_edges.py), and the
# options that change its scores: a split finer than BLAST's own batches keeps blastn's hits
# only with that task, such a seed and BLAST's scores (`batch_bound_reason`).
MEGABLAST_TASK = "megablast"
SPLIT_WORD_SIZE_MIN = 16
SCORE_OPTIONS = ("reward", "penalty", "gapopen", "gapextend")
MT_MODE_SPLIT_BY_DATABASE = 0
# A process of a split job runs this many BLAST threads per slot it holds (at most every slot):
# the module's docstring says why. Measured on 2 cores (2 threads a process); 2 keeps the
# threads at twice the cores, so a bigger host's processes do not each carry a thread (and its
# working memory) per core.
THREADS_PER_HELD_SLOT = 2
# A job of at most this many BLAST query batches per slot runs one process per slot, each of
# whole batches, not one process per batch (the module's docstring says why).
FEW_BATCHES = 2
# A cluster setting: split jobs into BLAST processes of at most this many query letters, for
# finer progress than BLAST's own batches give (each process more pays a database scan).
BATCH_LETTERS_SETTING = "batch_letters"
MAX_BATCH_LETTERS = 10**12
# Options whose search runs one BLAST thread per process: with -culling_limit, BLAST+ 2.12's
# threads keep different HSPs from one run to the next (the same blastn-short command with
# -num_threads 2 gave 3 different hit tables in 30 runs, with one thread 1; found by the
# random searches against BLAST+). With -qcov_hsp_perc, two threads keep HSPs one thread
# does not (the bench's 50 16S queries on 3,000 sequences, -qcov_hsp_perc 90: 7,995 rows with
# two threads, 7,905 with one; with -max_target_seqs 10 on the demo genes, two threads once
# one table, once the other; found by the random searches too). One thread is what a user's
# run without -num_threads does, and gives the same hits every time.
ONE_THREAD_OPTIONS = frozenset({"culling_limit", "qcov_hsp_perc"})
# A search of at most this share of its databases' sequences (a taxon filter's) runs one thread
# per slot held, not `THREADS_PER_HELD_SLOT`: the module's docstring says why.
SMALL_SEARCH_SHARE = 0.10


@dataclass(frozen=True)
class PlannedBatch:
    """One BLAST process: queries [start, end) of the job, run with `threads` threads
    (-num_threads) while it holds `slots` of the cluster's slots."""

    start: int
    end: int
    letters: int
    threads: int
    slots: int


@dataclass(frozen=True)
class SplitPlan:
    batches: tuple[PlannedBatch, ...]
    blast_batches: int  # BLAST's own query batches for the whole job: the scans raw BLAST pays
    scans: int  # the scans this plan pays (== blast_batches: the split costs no scan)
    mt_mode: int
    reason: str


def scores_given(options: Mapping[str, object]) -> bool:
    """Whether the search sets any of blastn's `SCORE_OPTIONS` (`batch_bound_reason`)."""
    return any(options.get(name) is not None for name in SCORE_OPTIONS)


def one_thread_search(options: Mapping[str, object]) -> bool:
    """Whether the search's options make every BLAST process run one thread
    (`ONE_THREAD_OPTIONS`)."""
    return any(options.get(name) is not None for name in ONE_THREAD_OPTIONS)


def blast_query_batches(letters: Sequence[int], batch_letters: int) -> list[tuple[int, int]]:
    """BLAST's own query batches, as [start, end) query ranges: each batch takes queries until
    it holds at least `batch_letters` letters (CBlastInput::GetNextSeqBatch)."""
    batches: list[tuple[int, int]] = []
    start, held = 0, 0
    for i, n in enumerate(letters):
        held += n
        if held >= batch_letters:
            batches.append((start, i + 1))
            start, held = i + 1, 0
    if start < len(letters):
        batches.append((start, len(letters)))
    return batches


def blast_batch_letters(program: Program, task: str | None = None) -> int:
    """BLAST's own query batch size for `program` and its `-task` (None: the default task)."""
    if program is Program.BLASTN and (task or "megablast") in MEGABLAST_TASKS:
        return MEGABLAST_QUERY_BATCH_LETTERS
    return BLAST_QUERY_BATCH_LETTERS[program]


def batch_bound_reason(
    program: Program,
    ungapped: bool = False,
    task: str | None = None,
    word_size: int | None = None,
    custom_scores: bool = False,
) -> str | None:
    """Why only BLAST's own query batches give a query the results of the command a user would
    run (the queries searched with it change them), or None when any split does.

    E-values: programs that link HSPs with sum statistics (blastx, tblastn, tblastx) set the
    linking cutoffs from the smallest Karlin-Altschul lambda over every query context (frame)
    of the batch; in an ungapped search each context's lambda comes from its own composition,
    so one odd query moves the others' E-values. tblastx is always ungapped; blastx and tblastn
    are with `-ungapped`. Checked on BLAST+ 2.12: a tblastx query's HSP had E-value 5.21e-22
    searched alone, 1.39e-21 beside a 60-letter random query, and 5.21e-22 again with that
    query in the BLAST batch before its own. blastp with `-ungapped` gave the same rows either
    way in the trials made, but is kept to BLAST's batches as well: the price is speed on a
    rare search, not another answer.

    Hits: a blastn query's rows can depend on whether another query precedes it in its BLAST
    batch (a one-letter `A` before it will do, whatever its letters), and a split job makes a
    query first in its process that raw BLAST searched after another. Found by the random
    searches (seed 906686605, case 27: megablast with `-word_size 11 -reward 1`, two 13-letter
    HSPs at query 1-13 missing). Counted by `bench/query_edges.py` (each query searched alone
    and after one letter; 400 stretches of the demo genes): rows differed for 15 queries with
    `-word_size 11`, 12 with 12, 8 with 13, 3 with 14, none with 16, 20, 24 or megablast's
    28; 10 with `-task blastn`, 2 with `-task blastn-short` (also with `-word_size 16`); none
    with dc-megablast or `-reward 1 -penalty -1 -gapopen 2 -gapextend 1`. With megablast and
    a word of 11 to 14 every row starts at query position 1 (an HSP whose one seed touches the
    batch's first letter, rarer the longer the seed); with blastn-short whole gapped alignments
    differ. On the bench's 16S sets no query differed (such HSPs fall under their E-value
    there). Counted again over 1,000 stretches per word (twenty-third session): 9 queries
    differed with 14, none with 15, 16, 17, 18 or 20, also after another stretch instead of
    one letter. From a word of 13 up BLAST+ picks the lookup table of megablast's 28 by the
    same rule (`BlastChooseNaLookupTable`: its width follows the batch's letters, not the
    word), so what the words that differed (11-14) lack is length, not another code path; the
    count falls as the word grows and is none from 15 up. So blastn splits finer than BLAST's
    batches with megablast, BLAST's scores and a word of `SPLIT_WORD_SIZE_MIN` (16: a letter
    of margin above 15, the shortest word never seen to differ) or more, as the random searches
    check against BLAST+ on every run. Six 16S queries with
    `-ungapped -reward 2 -penalty -2` gave 2,741 rows together and 2,737 each alone (seed
    656183142, case 397): ungapped blastn is bound too."""
    if program is Program.TBLASTX or ungapped:
        return (
            "its E-values depend on the queries BLAST searches together (sum statistics over "
            "an ungapped search)"
        )
    if program is not Program.BLASTN:
        return None
    long_seeds = (task or MEGABLAST_TASK) == MEGABLAST_TASK and (
        word_size is None or word_size >= SPLIT_WORD_SIZE_MIN
    )
    if long_seeds and not custom_scores:
        return None
    return (
        "a query's HSPs depend on whether another query precedes it in BLAST's batch (blastn "
        f"but for megablast with BLAST's scores and a word of {SPLIT_WORD_SIZE_MIN} or more)"
    )


def plan_split(
    program: Program,
    letters: Sequence[int],
    slots: int,
    batch_letters: int | None = None,
    task: str | None = None,
    ungapped: bool = False,
    one_thread: bool = False,
    searched_share: float | None = None,
    word_size: int | None = None,
    custom_scores: bool = False,
) -> SplitPlan:
    """The batches (BLAST processes) for a job of queries with `letters` on `slots` slots,
    searched with `-task task` (None: the program's default), `-ungapped` or not, `-word_size
    word_size` (None: the task's), its own `SCORE_OPTIONS` (`custom_scores`) or not.
    `batch_letters` (the cluster's `batch_letters` setting) splits at that many letters
    instead of BLAST's own query batch size: finer progress, a database scan per process.
    Where the queries searched together change a query's results (`batch_bound_reason`), the
    plan is BLAST's own batches, whatever the slots and `batch_letters`. `one_thread`: every
    process runs one thread in one slot (`ONE_THREAD_OPTIONS`). `searched_share`: the share
    of the databases' sequences the search reaches (a taxon filter's; None: all, or not
    known); at most `SMALL_SEARCH_SHARE`, a split job's processes run a thread per slot held."""
    small = searched_share is not None and searched_share <= SMALL_SEARCH_SHARE
    per_slot = 1 if small else THREADS_PER_HELD_SLOT
    bound = batch_bound_reason(program, ungapped, task, word_size, custom_scores)
    plan = _plan_split(program, letters, slots, batch_letters, task, bound, one_thread, per_slot)
    if small and not one_thread and len(plan.batches) > 1:
        why = (
            f"one thread per slot held: the search reaches {searched_share:.1%} of the "
            "database's sequences, a short search whose processes end close together"
        )
        return replace(plan, reason=f"{plan.reason} ({why})")
    if not one_thread:
        return plan
    why = (
        "one thread a process: with more, BLAST+ (2.12) culling (-culling_limit) or a query "
        "cover cut (-qcov_hsp_perc) keeps other HSPs than its one-thread run"
    )
    return replace(plan, reason=f"{plan.reason} ({why})")


def _plan_split(
    program: Program,
    letters: Sequence[int],
    slots: int,
    batch_letters: int | None,
    task: str | None,
    bound: str | None,
    one_thread: bool,
    per_slot: int,
) -> SplitPlan:
    if slots < 1:
        raise ValueError("slots must be at least 1")
    blast_size = blast_batch_letters(program, task)
    what = f"{program.value} -task {task}" if task else program.value
    if bound is not None:
        return _blasts_own_batches(letters, slots, blast_size, what, bound, one_thread, per_slot)
    size = batch_letters or blast_size
    own = blast_query_batches(letters, size)
    n = len(own)
    raw_scans = len(blast_query_batches(letters, blast_size))
    if n <= 1 and (len(letters) < 2 or slots < 2):
        batches = _one_process(letters, slots, one_thread)
        return SplitPlan(
            batches,
            raw_scans,
            raw_scans,
            MT_MODE_SPLIT_BY_DATABASE,
            f"{sum(letters):,} letters fit one {what} query batch ({size:,} letters): "
            f"one BLAST process, its {1 if one_thread else slots} thread(s) sharing one scan "
            "of the database",
        )
    if n <= 1:
        # Measured (bench/foundation.py, 50 16S queries vs 10,000 16S genes, 2 cores): one
        # process with 2 threads took 7.5-7.9 s wall for 13-14 CPU-s, two processes on the
        # halves 6.9-7.0 s for the same CPU: BLAST's threads leave a core idle in their
        # serial phases, and for such a job a second scan of the database costs less than
        # that. So a job of several queries within one query batch runs as one process per
        # slot, equal in letters, each with two threads per slot it holds (the module's
        # docstring says why).
        parts = min(slots, len(letters))
        ranges = _equal_letters(letters, parts)
        batches = _batches(letters, ranges, slots, one_thread, per_slot)
        return SplitPlan(
            batches,
            raw_scans,
            _scans(letters, ranges, blast_size),
            MT_MODE_SPLIT_BY_DATABASE,
            f"{sum(letters):,} letters fit one {what} query batch ({size:,} letters): "
            f"{parts} BLAST processes, one per slot, equal in letters (BLAST's threads leave "
            "cores idle in their serial phases; a scan of the database each), "
            f"{_threads_text(batches)}",
        )
    ranges = _equal_letters(letters, n)
    if _scans(letters, ranges, size) != n:  # an equal split would cost a scan: BLAST's own
        ranges = own
    grouped = _grouped(ranges, slots) if not batch_letters and n <= FEW_BATCHES * slots else None
    if grouped is not None and _scans(letters, grouped, blast_size) > n:
        grouped = None  # a run would pay a scan its batches do not: a process per batch
    ranges = grouped or ranges
    batches = _batches(letters, ranges, slots, one_thread, per_slot)
    whose = "the cluster's batch_letters" if batch_letters else f"{what} query batches"
    how = (
        f"{len(batches)} BLAST processes, one per slot, each of whole batches (few batches: "
        "a process start weighs more than the progress a batch more would show)"
        if grouped is not None
        else f"{len(batches)} BLAST processes on {slots} slot(s)"
    )
    return SplitPlan(
        batches,
        raw_scans,
        _scans(letters, ranges, blast_size),
        MT_MODE_SPLIT_BY_DATABASE,
        f"{sum(letters):,} letters are {n} batches of {size:,} letters ({whose}; a database "
        f"scan each): {how}, {_threads_text(batches)}",
    )


def _grouped(ranges: Sequence[tuple[int, int]], slots: int) -> list[tuple[int, int]] | None:
    """`ranges` (more of them than `slots`) joined into `slots` runs of whole ranges, the
    first ones a range longer where they do not divide evenly; None when there are no more
    ranges than slots."""
    if len(ranges) <= slots:
        return None
    share, extra = divmod(len(ranges), slots)
    runs, at = [], 0
    for i in range(slots):
        take = share + (1 if i < extra else 0)
        runs.append((ranges[at][0], ranges[at + take - 1][1]))
        at += take
    return runs


def _one_process(letters: Sequence[int], slots: int, one_thread: bool) -> tuple[PlannedBatch, ...]:
    """Every query in one BLAST process holding every slot, a thread each (`one_thread`: one
    slot, one thread); none for no query."""
    held = 1 if one_thread else slots
    return (PlannedBatch(0, len(letters), sum(letters), held, held),) if letters else ()


def _blasts_own_batches(
    letters: Sequence[int],
    slots: int,
    blast_size: int,
    what: str,
    bound: str,
    one_thread: bool,
    per_slot: int,
) -> SplitPlan:
    """A process per BLAST query batch, each as BLAST itself would search it (a single batch:
    one process with every slot as a thread); `bound` says why (`batch_bound_reason`)."""
    own = blast_query_batches(letters, blast_size)
    why = f"{bound}, so the job runs BLAST's own query batches, no finer"
    if len(own) <= 1:
        batches = _one_process(letters, slots, one_thread)
        return SplitPlan(
            batches,
            len(own),
            len(own),
            MT_MODE_SPLIT_BY_DATABASE,
            f"{sum(letters):,} letters fit one {what} query batch ({blast_size:,} letters) and "
            f"{why}: one BLAST process, its {1 if one_thread else slots} thread(s) sharing one "
            "scan of the database",
        )
    batches = _batches(letters, own, slots, one_thread, per_slot)
    return SplitPlan(
        batches,
        len(own),
        len(own),
        MT_MODE_SPLIT_BY_DATABASE,
        f"{sum(letters):,} letters are {len(own)} batches of {blast_size:,} letters and {why}: "
        f"{len(batches)} BLAST processes on {slots} slot(s), {_threads_text(batches)}",
    )


def parse_batch_letters(cluster: str, settings: dict[str, str]) -> int | None:
    """The cluster's `batch_letters` setting, checked (None: BLAST's own query batches)."""
    value = str(settings.get(BATCH_LETTERS_SETTING, "")).strip()
    if not value:
        return None
    # ASCII digits, few enough for int(): isdigit() also says yes to "²"
    digits = value.isascii() and value.isdigit() and len(value) <= len(str(MAX_BATCH_LETTERS))
    if not digits or not 1 <= int(value) <= MAX_BATCH_LETTERS:
        raise BlastDeckError(
            ErrorCode.INVALID_CLUSTER_SETTING,
            f"Cluster {cluster}: {BATCH_LETTERS_SETTING} must be a whole number of query "
            f"letters from 1 to {MAX_BATCH_LETTERS}, not {value[:40]!r}.",
            field=f"settings.{BATCH_LETTERS_SETTING}",
        )
    return int(value)


def _equal_letters(letters: Sequence[int], parts: int) -> list[tuple[int, int]]:
    """`parts` contiguous ranges of about equal letters (at least one query each)."""
    prefix = [0, *accumulate(letters)]
    total, count = prefix[-1], len(letters)
    bounds = [0]
    for k in range(1, parts):
        target = total * k / parts
        cut = bisect.bisect_left(prefix, target, bounds[-1] + 1, count)
        if cut > bounds[-1] + 1 and target - prefix[cut - 1] < prefix[cut] - target:
            cut -= 1
        bounds.append(min(max(cut, bounds[-1] + 1), count - (parts - k)))
    bounds.append(count)
    return list(pairwise(bounds))


def _scans(letters: Sequence[int], ranges: Sequence[tuple[int, int]], size: int) -> int:
    return sum(len(blast_query_batches(letters[a:b], size)) for a, b in ranges)


def _batches(
    letters: Sequence[int],
    ranges: Sequence[tuple[int, int]],
    slots: int,
    one_thread: bool,
    per_slot: int,
) -> tuple[PlannedBatch, ...]:
    """The processes of a split job: each holds one slot (with fewer processes than slots, its
    share of them, so the job's processes hold them all) and runs `per_slot` threads per slot
    it holds, at most every slot (`one_thread`: one slot, one thread)."""
    if one_thread:
        return tuple(PlannedBatch(a, b, sum(letters[a:b]), 1, 1) for a, b in ranges)
    held = [1] * len(ranges)
    if len(ranges) < slots:
        share, extra = divmod(slots, len(ranges))
        held = [share + (1 if i < extra else 0) for i in range(len(ranges))]
    return tuple(
        PlannedBatch(a, b, sum(letters[a:b]), min(slots, per_slot * h), h)
        for (a, b), h in zip(ranges, held, strict=True)
    )


def _threads_text(batches: Sequence[PlannedBatch]) -> str:
    counts = "/".join(str(n) for n in sorted({b.threads for b in batches}))
    if all(b.threads == b.slots for b in batches):
        return f"{counts} thread(s) each"
    return (
        f"{counts} thread(s) each (more threads than the slots each holds: the processes "
        "share the cores, and the last ones take the cores the first free)"
    )
