"""The batch plan every engine shares: the split `domain.search_split` plans, written as batch
FASTA files with their exact argv (one long query on a 2-core cluster runs as one BLAST of 2
threads, not as batches that each scan the database; a process holds the slots the plan says,
which may be fewer than its threads)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from blastdeck.domain.clusters import Cluster
from blastdeck.domain.programs import Molecule, Program
from blastdeck.engines.base import DatabaseRef, JobContext
from blastdeck.engines.batch_plan import (
    PLAN_FILE,
    plan_preview,
    read_batch_plan,
    write_batch_plan,
)
from blastdeck.engines.slots import HostSlots
from blastdeck.engines.slurm import SlurmEngine
from tests.conftest import fasta


def _ctx(
    tmp_path: Path, query: str, slots: int, settings: dict[str, str] | None = None
) -> JobContext:
    work = tmp_path / "job"
    work.mkdir()
    (work / "query.fa").write_text(query)
    cluster = Cluster(
        name="box", engine="local", namespace="default", slots=slots, settings=settings or {}
    )
    database = DatabaseRef("demo-16s", tmp_path / "db" / "demo-16s", Molecule.NUCLEOTIDE)
    return JobContext("job-1", Program.BLASTN, database, {}, cluster, "default", work)


def test_one_long_query_gets_every_slot_as_threads(tmp_path: Path, demo_16s) -> None:
    ctx = _ctx(tmp_path, fasta(demo_16s[:1]), slots=2)
    assert write_batch_plan(ctx, 2) == 1
    (batch,) = read_batch_plan(ctx.work_dir)
    assert batch.threads == batch.slots == 2
    assert batch.argv[batch.argv.index("-num_threads") + 1] == "2"
    assert batch.archive_argv[batch.archive_argv.index("-num_threads") + 1] == "2"


def test_a_small_job_is_one_blast_per_slot(tmp_path: Path, demo_16s) -> None:
    """50 16S queries are one blastn query batch: one process per slot, each holding its slot
    and running two threads."""
    ctx = _ctx(tmp_path, fasta(demo_16s[:50]), slots=2)
    assert write_batch_plan(ctx, 2) == 2
    batches = read_batch_plan(ctx.work_dir)
    assert [b.threads for b in batches] == [2, 2] and [b.slots for b in batches] == [1, 1]
    assert all(b.argv[b.argv.index("-num_threads") + 1] == "2" for b in batches)
    assert sum(len(b.query_ids) for b in batches) == len(demo_16s[:50])
    assert all("-mt_mode" not in b.argv for b in batches)  # BLAST's default mode
    assert "fit one blastn query batch" in plan_preview(ctx.work_dir)


def test_batch_letters_split_a_job_in_query_order(tmp_path: Path, demo_16s) -> None:
    records = demo_16s[:12]
    ctx = _ctx(tmp_path, fasta(records), slots=2, settings={"batch_letters": "4000"})
    count = write_batch_plan(ctx, 2)
    plan = read_batch_plan(ctx.work_dir)
    assert count == len(plan) > 2
    assert [q for b in plan for q in b.query_ids] == [h.split()[0] for h, _ in records]
    assert [b.query_offset for b in plan] == [
        0,
        *[sum(len(b.query_ids) for b in plan[:i]) for i in range(1, len(plan))],
    ]
    assert all(b.slots == 1 and b.threads == 2 for b in plan)


def test_a_plan_written_before_slots_were_planned_holds_its_threads(
    tmp_path: Path, demo_16s
) -> None:
    ctx = _ctx(tmp_path, fasta(demo_16s[:50]), slots=2)
    write_batch_plan(ctx, 2)
    document = json.loads((ctx.work_dir / PLAN_FILE).read_text())
    for batch in document["batches"]:
        del batch["slots"]
    (ctx.work_dir / PLAN_FILE).write_text(json.dumps(document))
    assert [(b.threads, b.slots) for b in read_batch_plan(ctx.work_dir)] == [(2, 2), (2, 2)]


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


def test_a_culling_search_runs_one_thread_on_slurm_nodes_too(tmp_path: Path, demo_16s) -> None:
    """SLURM runs a batch with the cluster's `cpus_per_task` threads, except a search that runs
    one thread (`-culling_limit`: BLAST+'s threads keep other HSPs from run to run)."""
    settings = {"cpus_per_task": "4"}
    slurm = Cluster(name="hpc", engine="slurm", namespace="default", slots=2, settings=settings)
    engine = SlurmEngine(slurm, tmp_path / "scratch")
    database = DatabaseRef("demo-16s", tmp_path / "db" / "demo-16s", Molecule.NUCLEOTIDE)
    argv = ["blastn", "-query", "q.fa", "-num_threads", "1", "-culling_limit", "2"]
    for options, threads in (({"culling_limit": 2}, "1"), ({"evalue": 1e-5}, "4")):
        ctx = JobContext("job-1", Program.BLASTN, database, options, slurm, "default", tmp_path)
        node = engine._node_argv(ctx, argv)
        assert node[node.index("-num_threads") + 1] == threads
