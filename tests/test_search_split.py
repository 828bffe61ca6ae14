"""The split planner as data: query letters and slots in, BLAST processes out
(`domain/search_split.py`). The rule it keeps: a plan never pays more database scans than raw
BLAST pays for the same queries, and no slot idles while work is left."""

from __future__ import annotations

import itertools
import random

import pytest

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.programs import Program
from blastdeck.domain.search_split import (
    BLAST_QUERY_BATCH_LETTERS,
    FEW_BATCHES,
    SMALL_SEARCH_SHARE,
    batch_bound_reason,
    blast_batch_letters,
    blast_query_batches,
    one_thread_search,
    parse_batch_letters,
    plan_split,
)


def _shape(plan) -> list[tuple[int, int, int]]:
    return [(b.start, b.end, b.threads) for b in plan.batches]


def _held(plan) -> list[int]:
    return [b.slots for b in plan.batches]


def test_a_search_of_a_small_share_runs_a_thread_per_slot_held() -> None:
    """A taxon filter that leaves BLAST a tenth of the database or less: the same processes,
    one thread per slot each held (measured faster for such short searches); a bigger share,
    an unknown one, a single process and a culling search keep their threads."""
    usual = plan_split(Program.BLASTN, [1500] * 50, slots=2)
    for share in (0.0, 0.016, SMALL_SEARCH_SHARE):
        plan = plan_split(Program.BLASTN, [1500] * 50, slots=2, searched_share=share)
        assert _shape(plan) == [(0, 25, 1), (25, 50, 1)] and _held(plan) == [1, 1]
        assert plan.scans == usual.scans and "one thread per slot held" in plan.reason
    for share in (0.11, 0.5, 1.0, None):
        plan = plan_split(Program.BLASTN, [1500] * 50, slots=2, searched_share=share)
        assert plan == usual
    # fewer processes than slots: each runs a thread per slot it holds
    plan = plan_split(Program.BLASTN, [1500] * 2, slots=4, searched_share=0.01)
    assert _shape(plan) == [(0, 1, 2), (1, 2, 2)] and _held(plan) == [2, 2]
    assert _shape(plan_split(Program.BLASTN, [1500] * 2, slots=4)) == [(0, 1, 4), (1, 2, 4)]
    one = plan_split(Program.BLASTN, [1500], slots=2, searched_share=0.01)
    assert one == plan_split(Program.BLASTN, [1500], slots=2)  # every slot a thread, as before
    culling = plan_split(Program.BLASTN, [1500] * 50, slots=2, one_thread=True, searched_share=0.01)
    assert culling == plan_split(Program.BLASTN, [1500] * 50, slots=2, one_thread=True)
    several = plan_split(Program.BLASTP, [300] * 200, slots=2, searched_share=0.05)
    assert {b.threads for b in several.batches} == {1} and len(several.batches) > 2


def test_blast_batches_take_queries_until_they_hold_the_batch_size() -> None:
    assert blast_query_batches([400, 400, 400, 400, 400], 1000) == [(0, 3), (3, 5)]
    assert blast_query_batches([1000, 1, 999, 1], 1000) == [(0, 1), (1, 3), (3, 4)]
    assert blast_query_batches([5000], 1000) == [(0, 1)]
    assert blast_query_batches([], 1000) == []


def test_blasts_own_batch_sizes_per_program() -> None:
    assert BLAST_QUERY_BATCH_LETTERS == {
        Program.BLASTN: 1_000_000,
        Program.BLASTP: 10_000,
        Program.BLASTX: 10_002,
        Program.TBLASTX: 10_002,
        Program.TBLASTN: 20_000,
    }


def test_fifty_16s_queries_are_one_process_per_slot() -> None:
    """Within one query batch, several queries: one process per slot, equal in letters, each
    holding its slot and running two threads (measured faster than one process of 2 threads,
    and than 1-thread processes: docs/performance.md)."""
    plan = plan_split(Program.BLASTN, [1500] * 50, slots=2)
    assert _shape(plan) == [(0, 25, 2), (25, 50, 2)]
    assert _held(plan) == [1, 1]
    assert plan.blast_batches == 1 and plan.scans == 2
    assert plan.mt_mode == 0
    assert "one per slot" in plan.reason


@pytest.mark.parametrize(
    ("program", "letters", "slots"),
    [
        (Program.BLASTN, [1500] * 50, 2),  # a process per slot
        (Program.BLASTN, [1500], 2),  # one query: one process
        (Program.BLASTP, [300] * 100, 2),  # a process per BLAST query batch
        (Program.BLASTP, [300] * 10, 8),  # fewer processes than slots
        (Program.TBLASTX, [3000] * 10, 2),  # BLAST's own batches
    ],
)
def test_a_culling_search_runs_one_thread_per_process(
    program: Program, letters: list[int], slots: int
) -> None:
    """With -culling_limit, BLAST+'s threads keep other HSPs from one run to the next (found
    by the random searches; `ONE_THREAD_OPTIONS`): every process runs one thread in one slot,
    split as without it, and the reason says why."""
    assert one_thread_search({"culling_limit": 2}) and not one_thread_search({"evalue": 1})
    assert one_thread_search({"qcov_hsp_perc": 90})  # two threads keep HSPs one does not
    usual = plan_split(program, letters, slots)
    plan = plan_split(program, letters, slots, one_thread=True)
    assert [(b.start, b.end) for b in plan.batches] == [(b.start, b.end) for b in usual.batches]
    assert {(b.threads, b.slots) for b in plan.batches} == {(1, 1)}
    assert plan.scans == usual.scans and "culling" in plan.reason


def test_one_slot_or_one_query_is_one_process_with_every_slot() -> None:
    assert _shape(plan_split(Program.BLASTN, [1500] * 50, slots=1)) == [(0, 50, 1)]
    plan = plan_split(Program.BLASTN, [1500], slots=2)
    assert _shape(plan) == [(0, 1, 2)] and "one BLAST process" in plan.reason
    assert _held(plan) == [2]


@pytest.mark.parametrize("slots", [1, 2, 8])
def test_one_long_query_gets_every_slot(slots: int) -> None:
    assert _shape(plan_split(Program.BLASTN, [4_000_000], slots)) == [(0, 1, slots)]


def test_a_thousand_16s_queries_are_one_megablast_batch() -> None:
    """1.5 M letters: one batch of megablast (5 M letters), BLAST's default task."""
    plan = plan_split(Program.BLASTN, [1500] * 1000, slots=2)
    assert _shape(plan) == [(0, 500, 2), (500, 1000, 2)]
    assert plan.blast_batches == 1


def test_a_thousand_16s_queries_for_task_blastn_are_blasts_own_two_batches() -> None:
    """With -task blastn they are two query batches (1 M + 0.5 M letters), run as BLAST cuts
    them: a query's hits depend on the queries beside it (`batch_bound_reason`)."""
    plan = plan_split(Program.BLASTN, [1500] * 1000, slots=2, task="blastn")
    assert [(b.start, b.end) for b in plan.batches] == [(0, 667), (667, 1000)]
    assert plan.blast_batches == plan.scans == 2
    assert "BLAST's own query batches" in plan.reason


@pytest.mark.parametrize(
    ("task", "word_size", "custom_scores", "bound"),
    [
        (None, None, False, False),  # megablast, its defaults: any split keeps the hits
        ("megablast", 28, False, False),
        ("megablast", 32, False, False),  # a longer seed scores more
        ("megablast", 20, False, False),  # no query's rows differed from 15 up (query_edges)
        (None, 16, False, False),
        ("megablast", 15, False, True),  # never seen to differ either: a letter of margin
        ("megablast", 14, False, True),  # 9 of 1,000 queries differed
        (None, 11, False, True),
        ("megablast", 16, True, True),  # its own scores
        (None, None, True, True),  # -reward, -penalty, -gapopen or -gapextend
        ("blastn", None, False, True),  # found by the random searches (906686605, case 27)
        ("blastn", 28, False, True),  # another task's extension, not megablast's
        ("blastn-short", None, False, True),
        ("dc-megablast", None, False, True),  # a spaced seed has no exact run of 28
    ],
)
def test_blastn_splits_finer_than_its_batches_only_with_megablasts_long_seeds_and_scores(
    task: str | None, word_size: int | None, custom_scores: bool, bound: bool
) -> None:
    """Outside megablast with BLAST's scores and a word of 16 or more, a query's HSPs depend on
    whether another query precedes it in BLAST's batch (bench/query_edges.py): such a job runs
    BLAST's own batches."""
    reason = batch_bound_reason(Program.BLASTN, False, task, word_size, custom_scores)
    assert (reason is not None) is bound
    plan = plan_split(
        Program.BLASTN, [1500] * 6, slots=2, batch_letters=4000, task=task,
        word_size=word_size, custom_scores=custom_scores,
    )  # fmt: skip
    assert len(plan.batches) == (1 if bound else 2)
    if bound:
        assert plan.batches[0].threads == 2 and "another query precedes it" in plan.reason


@pytest.mark.parametrize(
    ("task", "letters"),
    [
        (None, 5_000_000),
        ("megablast", 5_000_000),
        ("dc-megablast", 5_000_000),
        ("blastn", 1_000_000),
        ("blastn-short", 1_000_000),
    ],
)
def test_blastn_batch_size_follows_the_task(task: str | None, letters: int) -> None:
    assert blast_batch_letters(Program.BLASTN, task) == letters
    assert blast_batch_letters(Program.BLASTP, "blastp-fast") == 10_000


def test_fifty_proteins_for_blastp_are_two_processes() -> None:
    plan = plan_split(Program.BLASTP, [350] * 50, slots=2)
    assert _shape(plan) == [(0, 25, 2), (25, 50, 2)]
    assert plan.scans == plan.blast_batches == 2


def test_each_process_holds_a_slot_and_runs_two_threads_per_slot_it_holds() -> None:
    """A slot's runner takes the next batch when its process ends; the threads let the last
    processes use the cores the first ones freed (at most twice the slots held, at most every
    slot)."""
    plan = plan_split(Program.BLASTP, [300] * 200, slots=2)  # 60,000 letters: 6 BLAST batches
    assert plan.blast_batches == 6
    assert [b.threads for b in plan.batches] == [2] * 6 and _held(plan) == [1] * 6
    assert "more threads than the slots each holds" in plan.reason
    plan = plan_split(Program.BLASTP, [300] * 340, slots=4)  # 102,000 letters: 10 batches
    assert plan.blast_batches == 10
    assert [b.threads for b in plan.batches] == [2] * 10 and _held(plan) == [1] * 10
    plan = plan_split(Program.BLASTN, [1500] * 12, slots=1, batch_letters=4000)
    assert [b.threads for b in plan.batches] == [1] * 4 and _held(plan) == [1] * 4
    assert "more threads" not in plan.reason


def test_few_batches_run_as_one_process_per_slot_of_whole_batches() -> None:
    """Three blastx batches on two slots: two processes, the first of two batches (BLAST pays
    its two scans), not three processes, the third alone after the others."""
    letters = [1274] * 20  # 25,480 nt: 3 blastx batches of 10,002
    plan = plan_split(Program.BLASTX, letters, slots=2)
    assert plan.blast_batches == plan.scans == 3
    assert [(b.start, b.end) for b in plan.batches] == [(0, 13), (13, 20)]
    assert [b.threads for b in plan.batches] == [2, 2] and _held(plan) == [1, 1]
    assert "one per slot, each of whole batches" in plan.reason
    # more than FEW_BATCHES per slot: a process per batch (progress, resumability)
    many = plan_split(Program.BLASTX, [1274] * 40, slots=2)  # 50,960 nt: 5 batches
    assert many.blast_batches == len(many.batches) == 5
    # a cluster's batch_letters asked for finer batches: kept
    finer = plan_split(Program.BLASTX, letters, slots=2, batch_letters=10_002)
    assert len(finer.batches) == 3


def test_fewer_processes_than_slots_hold_their_share_of_the_slots() -> None:
    plan = plan_split(Program.BLASTX, [1050] * 15, slots=8)  # 15,750 nt: 2 blastx batches
    assert _held(plan) == [4, 4] and [b.threads for b in plan.batches] == [8, 8]
    plan = plan_split(Program.BLASTX, [1050] * 25, slots=8)  # 26,250 nt: 3 batches
    assert _held(plan) == [3, 3, 2] and [b.threads for b in plan.batches] == [6, 6, 4]


def test_an_equal_split_that_would_cost_a_scan_keeps_blasts_own_batches() -> None:
    """BLAST packs these 5,000-letter queries two per batch (three batches, the last 5,001
    letters); thirds by letters would be 2 + 1 + 3 queries, and the last third is two BLAST
    batches (a scan more): the plan keeps BLAST's own batches."""
    letters = [5_000, 5_000, 5_000, 5_000, 5_000, 1]
    plan = plan_split(Program.BLASTP, letters, slots=1)
    assert plan.blast_batches == 3
    assert [(b.start, b.end) for b in plan.batches] == [(0, 2), (2, 4), (4, 6)]
    assert plan.scans == 3


@pytest.mark.parametrize(
    ("program", "ungapped"),
    [
        (Program.TBLASTX, False),
        (Program.TBLASTX, True),
        (Program.BLASTX, True),
        (Program.TBLASTN, True),
        (Program.BLASTN, True),  # found by the random searches (seed 656183142, case 397)
        (Program.BLASTP, True),
    ],
)
def test_where_blasts_statistics_are_its_batchs_the_plan_is_blasts_own_batches(
    program: Program, ungapped: bool
) -> None:
    """tblastx, and every ungapped search, compute a query's E-values from the other queries
    of its BLAST batch: no split per slot, no finer batch_letters, BLAST's batches."""
    assert batch_bound_reason(program, ungapped)
    size = blast_batch_letters(program)
    few = [size // 10] * 4  # one BLAST batch: one process with every slot, not one per slot
    plan = plan_split(program, few, slots=2, ungapped=ungapped)
    assert _shape(plan) == [(0, 4, 2)] and _held(plan) == [2]
    assert "BLAST's own query batches" in plan.reason
    assert _shape(plan_split(program, few, slots=2, batch_letters=100, ungapped=ungapped)) == [
        (0, 4, 2)
    ]
    many = [size // 3 + 1] * 9  # BLAST packs three per batch: three batches, as BLAST cuts them
    plan = plan_split(program, many, slots=2, batch_letters=size // 2, ungapped=ungapped)
    assert [(b.start, b.end) for b in plan.batches] == blast_query_batches(many, size)
    assert plan.scans == plan.blast_batches == 3


@pytest.mark.parametrize(
    ("program", "ungapped"),
    [
        (Program.BLASTN, False),
        (Program.BLASTP, False),
        (Program.BLASTX, False),
        (Program.TBLASTN, False),
    ],
)
def test_other_searches_split_per_slot(program: Program, ungapped: bool) -> None:
    assert batch_bound_reason(program, ungapped) is None
    plan = plan_split(program, [300] * 4, slots=2, ungapped=ungapped)
    assert _shape(plan) == [(0, 2, 2), (2, 4, 2)]


def test_no_queries_no_batches_and_slots_must_be_positive() -> None:
    assert plan_split(Program.BLASTN, [], 2).batches == ()
    with pytest.raises(ValueError):
        plan_split(Program.BLASTN, [100], 0)


@pytest.mark.parametrize("seed", range(40))
def test_random_jobs_cover_every_query_once_at_no_extra_scan(seed: int) -> None:
    rng = random.Random(seed)
    program = rng.choice(list(Program))
    task = rng.choice([None, "blastn"]) if program is Program.BLASTN else None
    size = blast_batch_letters(program, task)
    letters = [
        rng.randint(1, size // rng.choice([1, 3, 20, 200])) for _ in range(rng.randint(1, 400))
    ]
    slots = rng.randint(1, 16)
    plan = plan_split(program, letters, slots, task=task)
    ranges = [(b.start, b.end) for b in plan.batches]
    assert ranges[0][0] == 0 and ranges[-1][1] == len(letters)
    assert all(a < b for a, b in ranges)
    assert all(prev[1] == nxt[0] for prev, nxt in itertools.pairwise(ranges))
    assert [b.letters for b in plan.batches] == [sum(letters[a:b]) for a, b in ranges]
    own = blast_query_batches(letters, size)
    assert plan.blast_batches == len(own)
    assert plan.scans <= plan.blast_batches  # never a scan raw BLAST does not pay
    if 1 < len(own) <= FEW_BATCHES * slots:  # few batches: a process per slot, of whole ones
        assert len(ranges) == min(slots, len(own)) or plan.scans == len(ranges)
    held = _held(plan)
    assert all(b.slots <= b.threads <= min(slots, 2 * b.slots) for b in plan.batches)
    if len(held) >= slots:  # one slot each: the runners keep every slot busy
        assert held == [1] * len(held)
    else:  # fewer processes than slots: they hold every slot between them
        assert sum(held) == slots and max(held) - min(held) <= 1


def test_a_clusters_batch_letters_give_finer_batches_at_a_scan_each() -> None:
    plan = plan_split(Program.BLASTN, [1500] * 12, slots=1, batch_letters=4000)
    assert [(b.start, b.end) for b in plan.batches] == [(0, 3), (3, 6), (6, 9), (9, 12)]
    assert plan.blast_batches == 1 and plan.scans == 4  # what the finer progress costs
    assert "batch_letters" in plan.reason


@pytest.mark.parametrize("value", ["0", "-5", "1e6", "²", "12 000", "9" * 14, "lots"])
def test_bad_batch_letters_are_refused_with_the_setting_named(value: str) -> None:
    with pytest.raises(BlastDeckError) as caught:
        parse_batch_letters("box", {"batch_letters": value})
    assert caught.value.code == ErrorCode.INVALID_CLUSTER_SETTING
    assert caught.value.field == "settings.batch_letters"
    assert "batch_letters" in str(caught.value)


def test_batch_letters_unset_or_valid() -> None:
    assert parse_batch_letters("box", {}) is None
    assert parse_batch_letters("box", {"batch_letters": " 250000 "}) == 250_000
