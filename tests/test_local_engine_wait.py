"""The local engine's wait returns when a batch's BLAST process ends, not at a poll tick: the
pipeline's running step moves on as soon as BLAST does. Its BLAST runs below the server's CPU
priority."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from blastdeck.blast_tools import DatabaseDir, run_tool
from blastdeck.domain.clusters import Cluster
from blastdeck.domain.programs import Molecule, Program
from blastdeck.engines import blast_process, local
from blastdeck.engines.base import DatabaseRef, JobContext
from blastdeck.engines.batch_plan import read_batch_plan
from blastdeck.engines.blast_process import BLAST_NICE, BlastProcesses, BlastRun, lower_priority
from blastdeck.engines.local import LocalEngine
from blastdeck.engines.slots import HostSlots
from tests.conftest import fasta

LONG_S = 60.0  # a wait that returns before this was woken: no poll period is anywhere near it


def _context(
    tmp_path: Path, demo_16s, options: dict | None = None, subjects: int = 40, slots: int = 1
) -> JobContext:
    work = tmp_path / "job"
    work.mkdir()
    (work / "query.fa").write_text(fasta(demo_16s[:4]))
    db_dir = tmp_path / "db"
    db_dir.mkdir()
    (db_dir / "demo.fa").write_text(fasta(demo_16s[:subjects]))
    run_tool("makeblastdb", ["-in", "demo.fa", "-dbtype", "nucl", "-out", "demo"], cwd=db_dir)
    # batch_letters: two batches, so the first to end wakes the wait while the other may run
    cluster = Cluster(
        name="box", engine="local", namespace="default", slots=slots,
        settings={"batch_letters": "3000"},
    )  # fmt: skip
    database = DatabaseRef("demo", db_dir / "demo", Molecule.NUCLEOTIDE)
    return JobContext("job-1", Program.BLASTN, database, options or {}, cluster, "default", work)


def test_wait_returns_when_a_batch_ends_and_at_once_when_nothing_runs(
    tmp_path: Path, demo_16s
) -> None:
    ctx = _context(tmp_path, demo_16s)
    engine = LocalEngine(ctx.cluster, tmp_path / "scratch")
    assert engine.configure(ctx) >= 2
    engine.stage_db(ctx)
    handle = engine.submit(ctx, timeout_s=30)
    done_seen = []
    deadline = time.monotonic() + LONG_S
    while not engine.poll(ctx, handle).finished:
        started = time.monotonic()
        engine.wait(ctx, handle, LONG_S)
        assert time.monotonic() - started < LONG_S / 2, "the wait was not woken by BLAST"
        done_seen.append(engine.poll(ctx, handle).done)
        assert time.monotonic() < deadline
    progress = engine.poll(ctx, handle)
    assert progress.error is None and progress.done == progress.total >= 2
    assert done_seen and done_seen[-1] == progress.total
    # Once the run is over (or was never started here) the wait does not block.
    started = time.monotonic()
    engine.wait(ctx, handle, LONG_S)
    assert time.monotonic() - started < LONG_S / 2


def test_a_failed_batch_wakes_the_wait_too(tmp_path: Path, demo_16s) -> None:
    ctx = _context(tmp_path, demo_16s)
    engine = LocalEngine(ctx.cluster, tmp_path / "scratch")
    engine.configure(ctx)
    # No staged database: every BLAST process fails at once (BLAST cannot find it).
    handle = engine.submit(ctx, timeout_s=30)
    woke = threading.Event()

    def waiter() -> None:
        engine.wait(ctx, handle, LONG_S)
        woke.set()

    thread = threading.Thread(target=waiter, daemon=True)
    thread.start()
    assert woke.wait(LONG_S / 2), "a failed batch did not wake the wait"
    assert engine.poll(ctx, handle).error is not None


def test_blast_processes_run_below_the_servers_priority(tmp_path: Path, demo_16s) -> None:
    """A busy host answers the API before BLAST: each BLAST process gets BLAST_NICE, in a
    process group of its own (for killing) but in the server's session, so that Linux's
    autogroup weighs the server and its BLAST as one session beside others."""
    proc = subprocess.Popen(["sleep", "30"], process_group=0)
    try:
        lower_priority(proc.pid)
        assert os.getpriority(os.PRIO_PROCESS, proc.pid) == BLAST_NICE > 0
        assert os.getpriority(os.PRIO_PROCESS, 0) < BLAST_NICE  # this process is untouched
    finally:
        proc.kill()
        proc.wait()
    # The engine's own processes, looked at while they run (a search slow enough: ~0.5 s each).
    ctx = _context(tmp_path, demo_16s, {"task": "blastn", "word_size": 7}, subjects=200)
    engine = LocalEngine(ctx.cluster, tmp_path / "scratch")
    engine.configure(ctx)
    engine.stage_db(ctx)
    handle = engine.submit(ctx, timeout_s=30)
    seen = []
    while not engine.poll(ctx, handle).finished:
        for pid_file in (ctx.work_dir / "batches").glob("*.pid"):
            with contextlib.suppress(OSError, ValueError):
                pid = int(pid_file.read_text())
                seen.append((os.getpriority(os.PRIO_PROCESS, pid), os.getpgid(pid), os.getsid(pid)))
        time.sleep(0.005)
    assert engine.poll(ctx, handle).error is None
    assert seen, "no BLAST process was seen running"
    for nice, group, session in seen:
        assert nice == BLAST_NICE and group not in (os.getpgid(0),) and session == os.getsid(0)


def test_a_split_process_holds_one_slot_while_it_runs_two_threads(
    tmp_path: Path, demo_16s
) -> None:
    """On 2 slots, each batch of a split job runs BLAST with two threads but holds one slot:
    with the other slot taken (by another job), the batches still run, one after the other,
    in the slot that is free (holding two slots, they would wait for the other job)."""
    ctx = _context(tmp_path, demo_16s, slots=2)
    engine = LocalEngine(ctx.cluster, tmp_path / "scratch")
    assert engine.configure(ctx) >= 2
    batches = engine._plan(ctx)
    assert all(b.threads == 2 and b.slots == 1 for b in batches)
    assert all(b.argv[b.argv.index("-num_threads") + 1] == "2" for b in batches)
    engine.stage_db(ctx)
    other_job = HostSlots(tmp_path / "scratch" / "box" / "slots", 2)
    with other_job.hold(give_up=lambda: False) as held:
        assert held
        handle = engine.submit(ctx, timeout_s=30)
        deadline = time.monotonic() + LONG_S
        while not engine.poll(ctx, handle).finished:
            assert time.monotonic() < deadline, "the batches waited for a second slot"
            engine.wait(ctx, handle, 1.0)
        progress = engine.poll(ctx, handle)
    assert progress.error is None and progress.done == progress.total == len(batches)


def test_a_submit_kills_what_an_earlier_server_process_left_running(
    tmp_path: Path, demo_16s
) -> None:
    """A server that died after starting a job's BLAST but before recording its submit leaves
    processes running with their pid files: the next submit of that job kills them (and drops
    their partial outputs) before it starts its own."""
    ctx = _context(tmp_path, demo_16s)
    engine = LocalEngine(ctx.cluster, tmp_path / "scratch")
    engine.configure(ctx)
    engine.stage_db(ctx)
    batches = ctx.work_dir / "batches"
    # Stands in for the orphan's BLAST: its command line names the batches dir, as BLAST's does.
    # This interpreter, not `python3` from PATH: a pyenv shim is a chain of execs, and during
    # each exec the command line reads empty, so the orphan would look like someone else's.
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)", str(batches)]
    orphan = subprocess.Popen(sleeper, start_new_session=True)
    try:
        cmdline = Path(f"/proc/{orphan.pid}/cmdline")
        while str(batches).encode() not in cmdline.read_bytes():  # until it has exec'ed
            time.sleep(0.01)
        (batches / "batch_000.pid").write_text(str(orphan.pid))
        (batches / "batch_000.hits.tsv.part").write_text("half a table")
        handle = engine.submit(ctx, timeout_s=30)
        assert orphan.wait(timeout=10) == -9  # SIGKILL
        deadline = time.monotonic() + LONG_S
        while not engine.poll(ctx, handle).finished:
            engine.wait(ctx, handle, 1.0)
            assert time.monotonic() < deadline
        assert engine.poll(ctx, handle).error is None
        assert not list(batches.glob("*.part")) and not list(batches.glob("*.pid"))
    finally:
        with contextlib.suppress(ProcessLookupError):
            orphan.kill()
        orphan.wait()


def test_a_cancel_while_a_process_starts_kills_it(tmp_path: Path, demo_16s, monkeypatch) -> None:
    """A batch's process is started outside its run's mutex: a cancel that comes while it
    starts (made to, here, right after the real process exists) is seen once it is recorded,
    and the process is killed rather than left to run."""
    ctx = _context(tmp_path, demo_16s)
    LocalEngine(ctx.cluster, tmp_path / "scratch").configure(ctx)
    batch = read_batch_plan(ctx.work_dir)[0]
    run, started = BlastRun(), []
    real_popen = subprocess.Popen

    def popen_then_cancel(*args, **kwargs):
        proc = real_popen(*args, **kwargs)
        started.append(proc)
        run.cancel()
        return proc

    monkeypatch.setattr(blast_process.subprocess, "Popen", popen_then_cancel)
    processes = BlastProcesses(HostSlots(tmp_path / "slots", 1))
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    begun = time.monotonic()
    assert processes._one(run, batch, sleeper, DatabaseDir(tmp_path), "wb") is None
    assert time.monotonic() - begun < 30 and started[0].returncode == -9
    assert not batch.pid_file.exists()


def test_submit_returns_once_its_runners_have_started_blast(
    tmp_path: Path, demo_16s, monkeypatch
) -> None:
    """The pipeline's thread goes on to record the job's steps only once each runner has
    started its first BLAST process (it would otherwise hold the GIL the runners need to start
    them); a runner waiting for a slot another job holds is not waited for beyond a moment."""
    monkeypatch.setattr(local, "PROCESS_START_WAIT_S", LONG_S)  # no load makes this flaky
    ctx = _context(tmp_path, demo_16s, slots=2)
    engine = LocalEngine(ctx.cluster, tmp_path / "scratch")
    assert engine.configure(ctx) >= 2
    engine.stage_db(ctx)
    handle = engine.submit(ctx, timeout_s=30)
    run = engine._runs[ctx.job_id]
    assert run.started == len(run.runners) == 2  # both started as submit returned
    engine.cancel(ctx, handle)

    other = BlastRun()
    assert other.wait_started(1, timeout_s=0.05) is False  # nothing starts: bounded
    other.note_started()
    assert other.wait_started(1, timeout_s=0.0) is True
    cancelled = BlastRun()
    cancelled.cancel()
    assert cancelled.wait_started(3, timeout_s=LONG_S) is True  # a cancel ends the wait
