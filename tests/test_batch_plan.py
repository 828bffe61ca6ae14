"""The batch plan every engine shares: batches in query order, and BLAST threads for the slots
a job of fewer batches than slots would otherwise leave idle (one long query on a 2-core
cluster runs with 2 threads, not 1)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from blastdeck.domain.clusters import Cluster
from blastdeck.domain.programs import Molecule, Program
from blastdeck.engines.base import DatabaseRef, JobContext
from blastdeck.engines.batch_plan import read_batch_plan, threads_for, write_batch_plan
from blastdeck.engines.slots import HostSlots
from tests.conftest import fasta


@pytest.mark.parametrize(
    ("batches", "slots", "threads"),
    [(1, 2, [2]), (1, 8, [8]), (2, 2, [1, 1]), (3, 8, [3, 3, 2]), (12, 2, [1] * 12)],
)
def test_spare_slots_become_threads(batches: int, slots: int, threads: list[int]) -> None:
    assert [threads_for(i, batches, slots) for i in range(batches)] == threads
    assert sum(threads) >= min(slots, batches * max(threads))


def _ctx(tmp_path: Path, query: str, slots: int) -> JobContext:
    work = tmp_path / "job"
    work.mkdir()
    (work / "query.fa").write_text(query)
    cluster = Cluster(name="box", engine="local", namespace="default", slots=slots)
    database = DatabaseRef("demo-16s", tmp_path / "db" / "demo-16s", Molecule.NUCLEOTIDE)
    return JobContext("job-1", Program.BLASTN, database, {}, cluster, "default", work)


def test_one_long_query_gets_every_slot_as_threads(tmp_path: Path, demo_16s) -> None:
    ctx = _ctx(tmp_path, fasta(demo_16s[:1]), slots=2)
    assert write_batch_plan(ctx, 2) == 1
    (batch,) = read_batch_plan(ctx.work_dir)
    assert batch.threads == 2
    assert batch.argv[batch.argv.index("-num_threads") + 1] == "2"
    assert batch.archive_argv[batch.archive_argv.index("-num_threads") + 1] == "2"


def test_many_queries_run_single_threaded_batches(tmp_path: Path, demo_16s) -> None:
    ctx = _ctx(tmp_path, fasta(demo_16s[:50]), slots=2)
    assert write_batch_plan(ctx, 2) > 2
    assert {b.threads for b in read_batch_plan(ctx.work_dir)} == {1}


def test_a_two_thread_process_holds_two_slots(tmp_path: Path) -> None:
    slots = HostSlots(tmp_path / "slots", 2)
    got_one = threading.Event()

    def single() -> None:
        with slots.hold(give_up=lambda: False):
            got_one.set()

    with slots.hold(give_up=lambda: False, count=2) as held:
        assert held
        waiter = threading.Thread(target=single, daemon=True)
        waiter.start()
        time.sleep(0.3)
        assert not got_one.is_set(), "a third process ran beside a two-thread one on 2 slots"
    waiter.join(timeout=5)
    assert got_one.is_set()
