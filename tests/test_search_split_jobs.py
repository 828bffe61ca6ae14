"""Jobs split as `domain.search_split` plans give raw BLAST+'s hits: a job within one blastn
query batch (one BLAST process of two threads) and the same job split into several processes
(a cluster with `batch_letters`), each against `blastn -num_threads 2` on the same inputs; a
resumed split job runs only its unfinished batches."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blastdeck.blast_tools import run_tool
from blastdeck.domain.clusters import Cluster
from blastdeck.domain.programs import Molecule, Program
from blastdeck.engines.base import DatabaseRef, JobContext
from blastdeck.engines.local import LocalEngine
from tests.conftest import api_job, fasta, wait_for_job

OPTIONS = {"evalue": 1e-10, "max_target_seqs": 25}


@pytest.fixture(scope="module")
def backend_name() -> str:
    return "sqlite"  # the split is the engine's; the store does not matter here


def raw_rows(
    tmp_path: Path, data_dir: Path, query: str, options: dict, threads: int | None = 2
) -> list[str]:
    """Raw `blastn -outfmt 6` on the demo database with `options` (`threads`: None, the
    command a user types, one thread)."""
    query_file = tmp_path / "raw-query.fa"
    query_file.write_text(query)
    db = data_dir / "databases" / "demo-16s" / "demo-16s"
    args = ["-query", str(query_file), "-db", str(db), "-outfmt", "6"]
    if threads is not None:
        args += ["-num_threads", str(threads)]
    for name, value in options.items():
        args += [f"-{name}", str(value)]
    return run_tool("blastn", args).splitlines()


def run_job(client: TestClient, query: str, cluster: str, options: dict = OPTIONS) -> dict:
    body = {"program": "blastn", "database": "demo-16s", "query": query, "options": options}
    response = client.post("/api/jobs", json={**body, "cluster": cluster})
    assert response.status_code == 202, response.text
    job = wait_for_job(api_job(client), response.json()["id"])
    assert job["phase"] == "completed", job
    return job


def test_one_batch_and_many_batches_give_raw_blasts_hits(
    client: TestClient, demo_16s, tmp_path: Path
) -> None:
    settings = {"batch_letters": "8000"}
    added = client.post(
        "/api/clusters", json={"name": "fine", "engine": "local", "slots": 2, "settings": settings}
    )
    assert added.status_code == 201, added.text
    query = fasta(demo_16s[40:70])  # 30 queries, ~43,000 letters: one blastn query batch
    data_dir = Path(client.app.state.runtime.settings.data_dir)
    raw = raw_rows(tmp_path, data_dir, query, OPTIONS)
    assert len(raw) > 30

    whole = run_job(client, query, "local")  # within one query batch: a process per slot
    slots = client.app.state.runtime.clusters.get("local").slots
    assert whole["progress"]["batches_total"] == min(slots, 30)
    preview = client.get(f"/api/jobs/{whole['id']}/config").text
    assert "fit one blastn query batch" in preview and "one per slot" in preview

    single = run_job(client, fasta(demo_16s[40:41]), "local")  # one query: every slot as threads
    assert single["progress"]["batches_total"] == 1
    preview = client.get(f"/api/jobs/{single['id']}/config").text
    assert f"-num_threads {slots}" in preview

    split = run_job(client, query, "fine")
    assert split["progress"]["batches_total"] >= 5  # 43,000 letters in batches of 8,000
    assert split["progress"]["batches_done"] == split["progress"]["batches_total"]
    preview = client.get(f"/api/jobs/{split['id']}/config").text
    assert "the cluster's batch_letters" in preview

    for job in (whole, split):
        tsv = client.get(f"/api/jobs/{job['id']}/download?format=tsv")
        assert tsv.status_code == 200
        rows = [line for line in tsv.text.splitlines() if line and not line.startswith("#")]
        rows = rows[1:] if rows and rows[0].startswith("qaccver") else rows  # a header line
        assert rows == raw, f"job on {job['cluster']}: hits differ from raw blastn"


def test_a_bad_batch_letters_setting_is_refused(client: TestClient) -> None:
    for value in ("0", "lots", "1.5"):
        body = {"name": "bad", "engine": "local", "settings": {"batch_letters": value}}
        response = client.post("/api/clusters", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["error_code"] == "invalid_cluster_setting"
        assert "batch_letters" in response.json()["message"]


def test_resume_runs_only_the_batches_without_a_table(
    client: TestClient, demo_16s, tmp_path: Path
) -> None:
    """A restart re-runs only the batches that have no hit table: the finished ones keep theirs
    (not run again), and the job's tables are what one uninterrupted run wrote."""
    data_dir = Path(client.app.state.runtime.settings.data_dir)
    prefix = data_dir / "databases" / "demo-16s" / "demo-16s"
    cluster = Cluster("fine2", "local", "default", 2, {"batch_letters": "6000"})
    work = tmp_path / "job"
    work.mkdir()
    (work / "query.fa").write_text(fasta(demo_16s[80:100]))
    database = DatabaseRef("demo-16s", prefix, Molecule.NUCLEOTIDE)
    ctx = JobContext("resume-1", Program.BLASTN, database, OPTIONS, cluster, "default", work)
    engine = LocalEngine(cluster, tmp_path / "scratch")
    engine.stage_db(ctx)
    total = engine.configure(ctx)
    assert total >= 4

    def run_to_end(start) -> None:
        handle = start()
        deadline = time.monotonic() + 120
        while not (progress := engine.poll(ctx, handle)).finished:
            assert time.monotonic() < deadline, "the batches did not finish in 120 s"
            time.sleep(0.05)
        assert progress.error is None and progress.done == total

    run_to_end(lambda: engine.submit(ctx, timeout_s=30))
    tables = sorted((work / "batches").glob("*.hits.tsv"))
    assert len(tables) == total
    first = {t.name: (t.stat().st_mtime_ns, t.read_bytes()) for t in tables}
    redo = tables[1]
    redo.unlink()  # as if the process died while this batch ran
    run_to_end(lambda: engine.resume(ctx, "local:gone"))
    again = {t.name: (t.stat().st_mtime_ns, t.read_bytes()) for t in sorted(tables)}
    for name, (mtime, body) in first.items():
        if name == redo.name:
            assert again[name][0] != mtime and again[name][1] == body  # run again, same hits
        else:
            assert again[name] == (mtime, body), f"{name} was run again"


def one_thread_job_against_raw(
    client: TestClient, query: str, options: dict, tmp_path: Path, processes: int = 2
) -> tuple[dict, list[str], list[str]]:
    """Run a job of `options` whose every process must run one BLAST thread: its plan (checked
    `processes` processes of one thread and one slot), its TSV rows and raw BLAST's for the
    command a user types (no -num_threads: one thread)."""
    job = run_job(client, query, "local", options)
    data_dir = Path(client.app.state.runtime.settings.data_dir)
    plan = json.loads((data_dir / "jobs" / job["id"] / "plan.json").read_text())
    threads = [b["argv"][b["argv"].index("-num_threads") + 1] for b in plan["batches"]]
    slots = [b["slots"] for b in plan["batches"]]
    assert threads == ["1"] * processes and slots == [1] * processes
    raw = raw_rows(tmp_path, data_dir, query, options, threads=None)
    rows = client.get(f"/api/jobs/{job['id']}/download", params={"format": "tsv"}).text
    return plan, rows.splitlines()[1:], raw


def test_a_culling_job_runs_one_thread_per_process_and_gives_raw_blasts_hits(
    client: TestClient, demo_16s, tmp_path: Path
) -> None:
    """-culling_limit: BLAST+'s threads keep other HSPs from run to run, so every process of
    the job runs one thread (`domain.search_split.ONE_THREAD_OPTIONS`): megablast's still one
    per slot, blastn-short's the one process of BLAST's own batch
    (`domain.search_split.batch_bound_reason`)."""
    queries = fasta(demo_16s[10:16])
    for options, processes in (
        ({"culling_limit": 2, "evalue": 10}, 2),
        ({"culling_limit": 2, "task": "blastn-short", "evalue": 10}, 1),
    ):
        plan, rows, raw = one_thread_job_against_raw(client, queries, options, tmp_path, processes)
        assert "culling" in plan["split"]
        assert rows == raw and len(raw) > 6


# A query of the random searches (case 444 of seed 955803434): cut from a demo gene and mutated
Q5 = (
    "TCCCGGATTTAGCGGCGGACGGGTGAGTAATGCCTAGGAATCTGCCTGGTAGTGGGGGACAACGACTCGAAAGGGTCGCTAATACCGCA"
    "TACGTCCTACGGGAGAAAGTGGGGGATCTTCGGATCTCACGCTATCAGATGAGCCTAGGTCGGATTAGCTAGTAGGTGAGGTAATGGCT"
    "CACCTAGGCAACGATCCGTAACTGGTCTGAGAGGATGATCAGTCACACTGGAACTGAGACACGGTCCAGACTCCTACGGGAGGCAGCAGT"
    "GGGGAATATTGGACAATGGGCGAAAGCCTGATCCAGCCATGCCGCGTGTGTGAAGAAGGTCTTCGGATTGTAAAGCACTTTAAGTTGGGA"
    "GGAAGGGTTGTAGTTTAATACGCTGCAA"
)


def test_a_query_cover_cut_runs_one_thread_per_process_and_gives_raw_blasts_hits(
    client: TestClient, demo_16s, tmp_path: Path
) -> None:
    """-qcov_hsp_perc: BLAST+'s threads keep HSPs its one-thread run does not (found by the
    random searches: with two threads this query kept a tenth hit, EF604414, that the command
    without -num_threads does not), so every process of the job runs one thread. Which HSPs two
    threads keep depends on how the threads interleave (raw, alone, they kept it every time; in
    a job beside another process, often not), so the plan's one thread is checked as well as
    the rows."""
    query = f">q4\n{demo_16s[40][1]}\n>q5\n{Q5}\n"
    options = {"max_target_seqs": 10, "qcov_hsp_perc": 90, "perc_identity": 50}
    plan, rows, raw = one_thread_job_against_raw(client, query, options, tmp_path)
    assert "qcov_hsp_perc" in plan["split"]
    assert rows == raw
    assert sum(row.startswith("q5\t") for row in raw) == 9, raw  # without EF604414


@pytest.mark.parametrize(("word_size", "split"), [(16, True), (20, True), (14, False)])
def test_megablast_splits_from_a_word_of_16_and_keeps_raw_blasts_hits(
    client: TestClient, demo_16s, tmp_path: Path, word_size: int, split: bool
) -> None:
    """Megablast with BLAST's scores and a word of 16 or more is split finer than BLAST's batch
    (`search_split.SPLIT_WORD_SIZE_MIN`): each batch's first query is first in its process, as
    it was not in raw BLAST's, and its rows are still raw BLAST's. A word of 14 (whose rows can
    depend on the query before, bench/query_edges.py) runs BLAST's own single batch."""
    name = f"fine-w{word_size}"
    body = {"name": name, "engine": "local", "slots": 2, "settings": {"batch_letters": "4000"}}
    assert client.post("/api/clusters", json=body).status_code == 201
    query = fasta(demo_16s[100:124])  # whole genes: many hits start at a query's first letter
    options = {"word_size": word_size, "evalue": 10, "max_target_seqs": 50}
    job = run_job(client, query, name, options)
    assert (job["progress"]["batches_total"] > 2) is split
    raw = raw_rows(tmp_path, Path(client.app.state.runtime.settings.data_dir), query, options)
    rows = client.get(f"/api/jobs/{job['id']}/download", params={"format": "tsv"}).text
    assert rows.splitlines()[1:] == raw and len(raw) > 100
