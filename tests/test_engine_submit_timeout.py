"""Every engine's submit returns or gives up within the submit timeout, which is below the
submit lock's TTL: a submit must never outlive its lock. (SLURM's sbatch case, with a real
controller, is in test_slurm.py.)"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from blastdeck.domain.clusters import Cluster
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.programs import Molecule, Program
from blastdeck.engines.base import DatabaseRef, JobContext
from blastdeck.engines.local import LocalEngine
from tests.conftest import fasta


def _context(tmp_path: Path, demo_16s) -> JobContext:
    work = tmp_path / "job"
    work.mkdir()
    (work / "query.fa").write_text(fasta(demo_16s[:6]))
    # batch_letters: the demo queries would otherwise be one BLAST query batch (one process).
    settings = {"batch_letters": "4000"}
    cluster = Cluster(name="box", engine="local", namespace="default", slots=2, settings=settings)
    database = DatabaseRef("demo-16s", tmp_path / "db" / "demo-16s", Molecule.NUCLEOTIDE)
    return JobContext("job-1", Program.BLASTN, database, {}, cluster, "default", work)


def test_local_hand_over_past_its_deadline_gives_up_and_starts_nothing(
    tmp_path: Path, demo_16s
) -> None:
    ctx = _context(tmp_path, demo_16s)
    engine = LocalEngine(ctx.cluster, tmp_path / "scratch")
    assert engine.configure(ctx) >= 2
    before = threading.active_count()
    with pytest.raises(BlastDeckError) as info:
        engine.submit(ctx, timeout_s=-1.0)
    assert info.value.code is ErrorCode.SUBMIT_TIMEOUT
    assert "submit timeout" in info.value.message
    assert threading.active_count() == before, "a runner was left behind"
    assert not list((ctx.work_dir / "batches").glob("*.pid"))


def test_submit_timeout_is_a_transient_failure() -> None:
    error = BlastDeckError(ErrorCode.SUBMIT_TIMEOUT, "x")
    assert error.category.value == "transient"
