"""The `slurm` engine against a real single-node SLURM (tests/support/slurm_cluster.py).

One private cluster for the session; BlastDeck embedded on SQLite with several SLURM clusters
that share one work dir and node scratch (so a database staged once is warm for all of them).
Slow, sleepy or failing BLAST runs use a `blast_bin_dir` with a wrapper in front of the real
blastn: the engine is the same, only the node's BLAST install differs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from blastdeck.config import ClusterConfig
from blastdeck.domain.errors import ErrorCode
from blastdeck.engines import slurm_cluster as sc
from blastdeck.engines import slurm_failures as failures
from blastdeck.engines.slurm_scripts import SlurmTask
from blastdeck.engines.slurm_settings import parse_settings
from tests.conftest import (
    SLOW_OPTIONS,
    Server,
    Workers,
    api_job,
    blast_processes,
    distributed_settings,
    fasta,
    free_port,
    make_settings,
    pg_database,
    wait_for_job,
)
from tests.support.slurm_cluster import PrivateSlurm, SlurmUnavailable

SLURM_TIMEOUT_S = 240  # a job on SLURM: the 1-minute time limit takes ~80 s to be enforced
EARLY: dict[str, str] = {}  # jobs the module's client submits at start, by test


@pytest.fixture(scope="session")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateSlurm]:
    cluster = PrivateSlurm(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
    except SlurmUnavailable as exc:
        pytest.fail(f"could not start the private SLURM cluster: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


def wrapper_bin(directory: Path, delay_s: float, then: str = "exec") -> Path:
    """A node BLAST install whose blastn sleeps first, then runs the real one (or not)."""
    directory.mkdir(parents=True, exist_ok=True)
    real = shutil.which("blastn")
    tail = f'exec {real} "$@"' if then == "exec" else "exit 0"
    script = directory / "blastn"
    script.write_text(f"#!/bin/bash\nsleep {delay_s}\n{tail}\n")
    script.chmod(0o755)
    return directory


def env_dumping_bin(directory: Path, dumps: Path) -> Path:
    """A node BLAST install whose blastn writes the environment it was given, then runs."""
    directory.mkdir(parents=True, exist_ok=True)
    dumps.mkdir(parents=True, exist_ok=True)
    script = directory / "blastn"
    script.write_text(
        f'#!/bin/bash\nenv -0 > {dumps}/task_$SLURM_ARRAY_TASK_ID.env\n'
        f'exec {shutil.which("blastn")} "$@"\n'
    )
    script.chmod(0o755)
    return directory


SUBMIT_TIMEOUT_S = 8


def hanging_sbatch_bin(directory: Path) -> Path:
    """SLURM's client commands, with an sbatch that submits for real and then hangs before
    answering (a controller that took the job but whose answer was lost). Each call's arguments
    are logged (a staging job goes through it too)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("squeue", "scancel", "scontrol"):
        (directory / name).symlink_to(shutil.which(name))
    script = directory / "sbatch"
    log = directory / "sbatch.calls"
    script.write_text(
        f'#!/bin/bash\necho "$*" >> {log}\nout=$({shutil.which("sbatch")} "$@")\nrc=$?\n'
        f'sleep {SUBMIT_TIMEOUT_S * 4}\necho "$out"\nexit $rc\n'
    )
    script.chmod(0o755)
    return directory


def slurm_settings(slurm: PrivateSlurm, shared: Path, **extra: str) -> dict[str, str]:
    return {
        "slurm_conf": str(slurm.conf),
        "work_dir": str(shared / "work"),
        "scratch_dir": str(shared / "node-scratch"),
        **extra,
    }


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shared")


@pytest.fixture(scope="module")
def client(slurm: PrivateSlurm, shared: Path) -> Iterator[TestClient]:
    def cluster(name: str, **extra: str) -> ClusterConfig:
        # batch_letters: these few demo queries are one BLAST query batch, which the planner
        # would run as one task; the tests want an array of several tasks.
        settings = slurm_settings(slurm, shared, **{"batch_letters": "4000", **extra})
        return ClusterConfig(name=name, engine="slurm", slots=2, settings=settings)

    slow = str(wrapper_bin(shared / "slow-bin", 30))
    hung_sbatch = str(hanging_sbatch_bin(shared / "hung-sbatch-bin"))
    sleeper = str(wrapper_bin(shared / "sleep-bin", 600, then="exit"))
    env_dumper = str(env_dumping_bin(shared / "env-bin", shared / "task-env"))
    clusters = [
        cluster("hpc"),
        cluster("hpc-slow", blast_bin_dir=slow),
        cluster("hpc-env", blast_bin_dir=env_dumper),
        # SLURM's memory check samples each task once a second (JobAcctGatherFrequency=1): a
        # task must run for seconds to be caught, so this cluster's tasks are two big ones.
        cluster("hpc-oom", mem_per_task="10M", batch_letters="1000000"),
        # Its own node scratch: its job, submitted first (below), would otherwise stage the
        # database for every cluster, and the first job of the tests would find it warm.
        cluster(
            "hpc-timeout",
            time_limit="1",
            blast_bin_dir=sleeper,
            scratch_dir=str(shared / "timeout-scratch"),
        ),
        cluster("hpc-badpart", partition="no-such-partition"),
        cluster("hpc-hung-sbatch", slurm_bin_dir=hung_sbatch),
    ]
    down = shared / "down.conf"  # the same cluster, with a controller port nobody listens on
    text = slurm.conf.read_text().splitlines()
    port = str(free_port())
    down.write_text(
        "\n".join(f"SlurmctldPort={port}" if t.startswith("SlurmctldPort=") else t for t in text)
    )
    clusters.append(
        ClusterConfig(
            name="hpc-down",
            engine="slurm",
            slots=2,
            settings={**slurm_settings(slurm, shared), "slurm_conf": str(down)},
        )
    )
    settings = make_settings(
        shared / "data",
        clusters=clusters,
        retry_backoff_s=0.5,
        max_attempts=2,
        submit_timeout_s=SUBMIT_TIMEOUT_S,
    )
    with TestClient(create_app(settings)) as test_client:
        # The time limit (1 minute, enforced within ~30 s more) is the slowest thing here: its
        # job starts first and sleeps (no CPU) while the other tests run; test_timeout checks it.
        EARLY["timeout"] = submit(test_client, "hpc-timeout", fasta([("t1", "ACGT" * 50)]))
        yield test_client


def submit(client: TestClient, cluster: str, query: str, **extra: Any) -> str:
    body = {"program": "blastn", "database": "demo-16s", "query": query, "cluster": cluster}
    response = client.post("/api/jobs", json={**body, **extra})
    assert response.status_code == 202, response.text
    return response.json()["id"]


def finish(client: TestClient, job_id: str) -> dict[str, Any]:
    return wait_for_job(api_job(client), job_id, timeout=SLURM_TIMEOUT_S)


def step(job: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in job["steps"] if s["key"] == key)


def events(client: TestClient, job_id: str) -> list[dict[str, Any]]:
    return client.get(f"/api/jobs/{job_id}/events").json()["items"]


def slurm_names(job_id: str) -> tuple[str, str]:
    """The names the engine gives a job's array and staging job."""
    return f"blastdeck-{job_id[:8]}", f"blastdeck-stage-{job_id[:8]}"


def left_in_squeue(slurm: PrivateSlurm, job_id: str) -> list[str]:
    return [j for name in slurm_names(job_id) for j in slurm.active_jobs(name)]


def assert_nothing_left(slurm: PrivateSlurm, job_id: str) -> None:
    """Nothing of this job in squeue, and none of its processes alive. (Other jobs may be:
    the timeout test's job sleeps through the whole module.)"""
    deadline = time.monotonic() + 10
    while (left_in_squeue(slurm, job_id) or blast_processes(job_id)) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.2)
    assert left_in_squeue(slurm, job_id) == [], "squeue still lists the job"
    assert blast_processes(job_id) == [], "a process of the job kept running"


def assert_failed(job: dict[str, Any], code: str, failed_step: str) -> None:
    assert job["phase"] == "failed", job
    assert job["error_code"] == code, job["error"]
    assert [s["key"] for s in job["steps"] if s["status"] == "failed"] == [failed_step]


# -- pure parsing -------------------------------------------------------------------------------


def test_squeue_json_and_jobcomp_parsing() -> None:
    doc = {
        "jobs": [
            {"job_id": 7, "array_job_id": 5, "array_task_id": 1, "job_state": "FAILED",
             "state_reason": "NonZeroExitCode", "exit_code": 3 << 8},
            {"job_id": 8, "array_job_id": 5, "array_task_id": 2, "job_state": "RUNNING",
             "exit_code": 0},
            {"job_id": 5, "array_job_id": 5, "array_task_id": None,
             "array_task_string": "3-4%2", "job_state": "PENDING", "exit_code": 0},
            {"job_id": 9, "array_job_id": 0, "array_task_id": None, "job_state": "TIMEOUT",
             "exit_code": 143 << 8 | 0},
        ]
    }  # fmt: skip
    tasks = sc.array_tasks(doc, 5)
    assert sorted(tasks) == [1, 2, 3, 4]
    assert tasks[1] == sc.TaskRecord("FAILED", 3, None, "NonZeroExitCode")
    assert tasks[2].active and tasks[3].state == "PENDING" and not tasks[1].active
    doc["jobs"][2]["job_state"] = "CANCELLED"  # cancelled before they were split off
    assert sc.array_tasks(doc, 5)[4].state == "CANCELLED"
    assert sc.single_job(doc, 9) is not None and sc.single_job(doc, 9).state == "TIMEOUT"
    assert sc.decode_exit_code(9) == (0, 9) and sc.decode_exit_code(768) == (3, None)
    assert sc.decode_exit_code({"return_code": 2, "signal": {"id": 0}}) == (2, None)
    assert sc.expand_indices("0-3,7,10-14:2%4") == [0, 1, 2, 3, 7, 10, 12, 14]
    log = (
        "JobId=12 UserId=root(0) JobState=OUT_OF_MEMORY Partition=debug ArrayJobId=11 "
        "ArrayTaskId=1 DerivedExitCode=0:0 ExitCode=0:9 \n"
        "JobId=13 UserId=root(0) JobState=COMPLETED ArrayJobId=110 ArrayTaskId=0 ExitCode=0:0 \n"
    )
    assert sc.jobcomp_array_tasks(log, 11) == {1: sc.TaskRecord("OUT_OF_MEMORY", 0, 9)}
    assert sc.jobcomp_job(log, 13) == sc.TaskRecord("COMPLETED", 0, None)
    assert sc.sbatch_job_id("42;cluster\n") == 42
    assert sc.looks_unavailable("sbatch: error: Unable to contact slurm controller")
    assert sc.killed_for_memory("slurmstepd: error: Exceeded job memory limit")


def test_a_signal_slurm_sent_is_named_by_slurm_whatever_the_status_file_says(
    tmp_path: Path,
) -> None:
    """A time limit's SIGTERM can kill BLAST before the script is killed too: the script then
    writes status 143. SLURM's verdict (TIMEOUT) names the cause, not "killed by signal 15";
    until SLURM has said, the verdict waits (with the missing-status grace)."""
    files = [tmp_path / name for name in ("t.tsv", "t.status", "e", "l", "t.cpu")]
    task = SlurmTask(0, *files)
    task.status.write_text("143\n")
    conf = parse_settings("hpc", {"time_limit": "00:01:00"})

    def verdict(record: sc.TaskRecord | None, waits: dict | None = None):
        waits = {} if waits is None else waits
        return failures.task_error("hpc", conf, task, "batch 0", record, True, waits, ("j", 0))

    assert verdict(sc.TaskRecord("TIMEOUT", 0, 15)).code is ErrorCode.BLAST_TIMEOUT
    assert verdict(sc.TaskRecord("OUT_OF_MEMORY", 0, 9)).code is ErrorCode.BLAST_OUT_OF_MEMORY
    assert verdict(sc.TaskRecord("FAILED", 143, None)).code is ErrorCode.BLAST_SEARCH_FAILED
    assert verdict(sc.TaskRecord("RUNNING")) is None  # SLURM has not said yet: wait
    long_ago = {("j", 0): time.monotonic() - failures.MISSING_STATUS_GRACE_S - 1}
    assert verdict(sc.TaskRecord("RUNNING"), long_ago).code is ErrorCode.BLAST_SEARCH_FAILED
    task.status.write_text("2\n")  # BLAST's own error: no waiting for SLURM
    assert verdict(sc.TaskRecord("RUNNING")).code is ErrorCode.BLAST_SEARCH_FAILED


def test_bad_settings_are_refused_when_the_cluster_is_added(
    client: TestClient, slurm: PrivateSlurm, shared: Path
) -> None:
    for settings in ({"mem_per_task": "lots"}, {"partition": "a b"}, {"work_dir": "rel/dir"}):
        body = {"name": "bad-hpc", "engine": "slurm", "settings": settings}
        response = client.post("/api/clusters", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["error_code"] == "invalid_cluster_setting"
    good = {**slurm_settings(slurm, shared), "mem_per_task": "2G"}
    body = {"name": "ok-hpc", "engine": "slurm", "settings": good}
    assert client.post("/api/clusters", json=body).status_code == 201


# -- jobs on the real cluster -------------------------------------------------------------------


def test_job_on_slurm_has_the_hits_of_the_local_engine(
    client: TestClient, slurm: PrivateSlurm, shared: Path, demo_16s
) -> None:
    query = fasta([*demo_16s[:5], ("odd header; $(rm -rf /) `x`", demo_16s[7][1])])
    options = {"evalue": 1e-10, "max_target_seqs": 20}
    on_slurm = submit(client, "hpc", query, options=options)
    on_local = submit(client, "local", query, options=options)
    job, local = finish(client, on_slurm), finish(client, on_local)
    assert job["phase"] == "completed", job
    assert local["phase"] == "completed", local
    assert step(job, "staging_db")["status"] == "completed"  # the first job stages
    assert job["progress"]["batches_done"] == job["progress"]["batches_total"] > 1
    assert job["hsps_total"] == local["hsps_total"] > 5
    for fmt in ("tsv", "csv"):
        ours = client.get(f"/api/jobs/{on_slurm}/download?format={fmt}")
        theirs = client.get(f"/api/jobs/{on_local}/download?format={fmt}")
        assert ours.status_code == 200 and ours.text == theirs.text
    ours, theirs = (
        client.get(f"/api/jobs/{j}/hsps?limit=1000").json()["items"] for j in (on_slurm, on_local)
    )
    assert sorted(ours, key=json.dumps) == sorted(theirs, key=json.dumps)  # evalue ties: any order
    xml = client.get(f"/api/jobs/{on_slurm}/download?format=xml")
    assert xml.status_code == 200 and xml.text.count("<Iteration>") == 6
    submitted = [e["message"] for e in events(client, on_slurm) if e["step"] == "submitting"]
    assert any("(slurm:" in m for m in submitted), submitted
    script = (shared / "work" / on_slurm / "slurm" / "blast.sbatch").read_text()
    assert "$(rm" not in script and "odd header" not in script  # user text only via files
    assert "#!/bin/bash" in script and "mapfile -d ''" in script
    preview = client.get(f"/api/jobs/{on_slurm}/config").text  # the job's config preview
    assert script in preview and preview.count("-db demo-16s") == job["progress"]["batches_total"]
    # Each task left BLAST's CPU seconds where the local engine does (blastdeck_blast_cpu_seconds).
    cpu = [float(p.read_text()) for p in (shared / "work" / on_slurm).rglob("*.cpu")]
    assert len(cpu) == job["progress"]["batches_total"] and sum(cpu) > 0, cpu
    assert_nothing_left(slurm, on_slurm)


def test_several_databases_on_slurm_equal_raw_blast(
    client: TestClient, slurm: PrivateSlurm, shared: Path, demo_16s
) -> None:
    """A job of two databases (tests/test_multi_database.py): each staged to node scratch,
    the tasks search both as one; the TSV is what raw `blastn -db "a b"` prints."""
    prefixes = []
    for name, records in (("half-a", demo_16s[:100]), ("half-b", demo_16s[100:])):
        directory = shared / "dbs" / name
        directory.mkdir(parents=True)
        (directory / "in.fa").write_text(fasta(records))
        subprocess.run(
            ["makeblastdb", "-in", "in.fa", "-dbtype", "nucl", "-parse_seqids", "-out", name],
            check=True, capture_output=True, cwd=directory,
        )  # fmt: skip
        added = client.post("/api/databases", json={"name": name, "path": str(directory / name)})
        assert added.status_code in (200, 201), added.text
        prefixes.append(directory / name)
    query = fasta([(f"q{i}", demo_16s[i][1][50:650]) for i in (2, 30, 110, 150, 190)])
    options = {"evalue": 1e-10, "max_target_seqs": 30}
    job = finish(client, submit(client, "hpc", query, databases=["half-a", "half-b"],
                                database=None, options=options))  # fmt: skip
    assert job["phase"] == "completed", job
    assert job["databases"] == ["half-a", "half-b"]
    staging = step(job, "staging_db")
    assert staging["status"] == "completed"
    assert job["progress"]["batches_total"] > 1
    (shared / "q.fa").write_text(query)
    raw = subprocess.run(
        ["blastn", "-query", str(shared / "q.fa"), "-db", " ".join(map(str, prefixes)),
         "-outfmt", "6", "-evalue", "1e-10", "-max_target_seqs", "30"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    ours = client.get(f"/api/jobs/{job['id']}/download?format=tsv").text
    assert ours.partition("\n")[2] == raw and raw
    script = (shared / "work" / job["id"] / "slurm" / "blast.sbatch").read_text()
    assert "stage_db_0 && stage_db_1" in script
    assert_nothing_left(slurm, job["id"])


def test_a_task_gets_path_and_nothing_of_blastdecks_own_environment(
    client: TestClient, shared: Path, demo_16s, monkeypatch: pytest.MonkeyPatch
) -> None:
    # sbatch runs with a clean environment and exports all of it (--export=ALL): a list of
    # names instead made slurmd build each task's environment (the second task ~1 s later).
    monkeypatch.setenv("BLASTDECK_CANARY_SECRET", "never-on-a-node")
    job = finish(client, submit(client, "hpc-env", fasta(demo_16s[:2])))
    assert job["phase"] == "completed", job
    dumps = sorted((shared / "task-env").glob("task_*.env"))
    assert len(dumps) == 2, dumps
    for dump in dumps:
        env = dict(v.split("=", 1) for v in dump.read_text().split("\0") if "=" in v)
        assert "BLASTDECK_CANARY_SECRET" not in env
        assert not [name for name in env if name.startswith("BLASTDECK_")], sorted(env)
        assert env["PATH"] == os.environ["PATH"]
        assert env["SLURM_ARRAY_JOB_ID"]


def test_second_job_skips_staging(client: TestClient, demo_16s) -> None:
    job = finish(client, submit(client, "hpc", fasta(demo_16s[10:12])))
    assert job["phase"] == "completed", job
    staging = step(job, "staging_db")
    assert staging["status"] == "skipped" and "warm copy of demo-16s" in staging["skip_reason"]
    # The database's listing names the cluster, from the staging record (database_staging.py).
    staged = client.get("/api/databases/demo-16s").json()["staged"]
    assert ("hpc", True) in [(copy["cluster"], copy["current"]) for copy in staged], staged


def test_corrupt_database_fails_the_batch(client: TestClient, slurm: PrivateSlurm, demo_16s):
    response = client.post(
        "/api/databases",
        data={"name": "corrupt-hpc"},
        files={"file": ("c.fa", fasta(demo_16s[:30]).encode(), "text/plain")},
    )
    assert response.status_code == 201, response.text
    for f in Path(response.json()["path"]).parent.glob("corrupt-hpc.n[si][qn]"):
        f.write_bytes(b"\x00garbage" * 10)
    job_id = submit(client, "hpc", fasta(demo_16s[:1]), database="corrupt-hpc")
    job = finish(client, job_id)
    assert_failed(job, "blast_search_failed", "running")
    assert "BLAST exited with code" in job["error"] and "batch 0" in job["error"]
    assert_nothing_left(slurm, job_id)


def test_out_of_memory(client: TestClient, slurm: PrivateSlurm, demo_16s) -> None:
    # 100 queries, two tasks of 50: each would search for ~10 s, and is killed in about one
    # (12 queries a task ran 0.7 s on a fast host, between two samples, and completed).
    job_id = submit(client, "hpc-oom", fasta(demo_16s[:100]), options=SLOW_OPTIONS)
    job = finish(client, job_id)
    assert_failed(job, "blast_out_of_memory", "running")
    assert "mem_per_task" in job["error"] and "10M" in job["error"]
    assert_nothing_left(slurm, job_id)


def test_rejected_submit(client: TestClient, slurm: PrivateSlurm, demo_16s) -> None:
    job = finish(client, submit(client, "hpc-badpart", fasta(demo_16s[:1])))
    assert_failed(job, "slurm_submit_rejected", "submitting")
    assert "Invalid partition" in job["error"], job["error"]
    assert job["error_category"] == "permanent"
    assert left_in_squeue(slurm, job["id"]) == []


def test_a_submit_never_outlives_its_timeout_and_is_never_doubled(
    client: TestClient, shared: Path, demo_16s
) -> None:
    """sbatch reaches the controller but does not answer within the submit timeout: the submit
    gives up (submit_timeout, retried) before its lock could expire, and the retry adopts the
    array SLURM already has, by its name, instead of submitting it again."""
    calls = shared / "hung-sbatch-bin" / "sbatch.calls"
    job_id = submit(client, "hpc-hung-sbatch", fasta(demo_16s[:2]))
    job = finish(client, job_id)
    assert job["phase"] == "completed", job
    kinds = [(e["kind"], e["error_code"]) for e in events(client, job_id)]
    assert ("retry_scheduled", "submit_timeout") in kinds
    arrays = [line for line in calls.read_text().splitlines() if "--array=" in line]
    assert len(arrays) == 1, f"the batches were submitted {len(arrays)} times"
    submit_step = step(job, "submitting")
    assert submit_step["status"] == "completed"
    waited = [e for e in events(client, job_id) if e["kind"] == "retry_scheduled"]
    assert "sbatch did not return within 8 s (the submit timeout)" in waited[0]["message"]


def test_an_unreachable_controller_is_refused_when_the_cluster_is_added(
    client: TestClient, slurm: PrivateSlurm, shared: Path
) -> None:
    down = {**slurm_settings(slurm, shared), "slurm_conf": str(shared / "down.conf")}
    body = {"name": "hpc-added-down", "engine": "slurm", "slots": 2, "settings": down}
    response = client.post("/api/clusters", json=body)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["error_code"] == "invalid_cluster_setting"
    assert error["field"] == "settings.slurm_conf" and "does not answer" in error["message"]
    good = {**body, "name": "hpc-added", "settings": slurm_settings(slurm, shared)}
    assert client.post("/api/clusters", json=good).status_code == 201


def test_controller_unreachable_is_retried_then_fails(client: TestClient, demo_16s) -> None:
    job_id = submit(client, "hpc-down", fasta(demo_16s[:1]))
    job = finish(client, job_id)
    assert_failed(job, "slurm_unavailable", "submitting")
    assert job["error_category"] == "transient"
    assert any(e["kind"] == "retry_scheduled" for e in events(client, job_id))


def test_cancel_mid_run(client: TestClient, slurm: PrivateSlurm, demo_16s) -> None:
    job_id = submit(client, "hpc-slow", fasta(demo_16s[:4]))
    wait_for_job(api_job(client), job_id, until=lambda j: j["phase"] == "running", timeout=60)
    deadline = time.monotonic() + 30
    name = slurm_names(job_id)[0]
    while not any(j["job_state"] == "RUNNING" and j["name"] == name for j in slurm.squeue()):
        assert time.monotonic() < deadline, "no SLURM task started"
        time.sleep(0.2)
    assert client.post(f"/api/jobs/{job_id}/cancel").status_code in (200, 202)
    job = finish(client, job_id)
    assert job["phase"] == "cancelled", job
    assert_nothing_left(slurm, job_id)


def test_timeout(client: TestClient, slurm: PrivateSlurm) -> None:
    job_id = EARLY["timeout"]
    job = finish(client, job_id)
    assert_failed(job, "blast_timeout", "running")
    assert "time_limit" in job["error"]
    assert_nothing_left(slurm, job_id)
    assert slurm.active_jobs() == [], "the module's jobs all ended: squeue must be empty"


# -- a restart of BlastDeck mid-run --------------------------------------------------------------


def test_restart_mid_run_resumes_the_slurm_job(
    slurm: PrivateSlurm, tmp_path: Path, demo_16s
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    settings = slurm_settings(slurm, tmp_path, blast_bin_dir=str(wrapper_bin(tmp_path / "bin", 3)))
    lines = ["[[clusters]]", 'name = "hpc"', 'engine = "slurm"', "slots = 2"]
    lines.append("settings = " + json.dumps(settings).replace('": ', '" = '))
    (data / "blastdeck.toml").write_text("\n".join(lines) + "\n")
    query = fasta(demo_16s[:6])
    server = Server(data, None)
    server.start()
    try:
        body = {"program": "blastn", "database": "demo-16s", "query": query, "cluster": "hpc"}
        job_id = httpx.post(f"{server.url}/api/jobs", json=body, timeout=10).json()["id"]
        deadline = time.monotonic() + 60
        while server.job(job_id)["phase"] != "running":
            assert time.monotonic() < deadline, server.job(job_id)
            time.sleep(0.1)
        before = _submitted_handle(server, job_id)
        server.kill()  # SIGKILL: no chance to clean up
        assert slurm.active_jobs(), "the SLURM array should outlive BlastDeck"
        server.start()
        deadline = time.monotonic() + SLURM_TIMEOUT_S
        while (job := server.job(job_id))["phase"] not in ("completed", "failed", "cancelled"):
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        assert job["phase"] == "completed", job
        kinds = [e["kind"] for e in _events(server, job_id)]
        assert "resumed" in kinds
        assert _submitted_handle(server, job_id) == before  # never submitted twice
        body["cluster"] = "local"
        local_id = httpx.post(f"{server.url}/api/jobs", json=body, timeout=10).json()["id"]
        while server.job(local_id)["phase"] not in ("completed", "failed", "cancelled"):
            time.sleep(0.1)
        tsv = [
            httpx.get(f"{server.url}/api/jobs/{j}/download?format=tsv", timeout=30).text
            for j in (job_id, local_id)
        ]
        assert tsv[0] == tsv[1] and tsv[0].count("\n") > 6
    finally:
        if server.proc is not None and server.proc.poll() is None:
            server.kill()
        subprocess.run(["scancel", "--user=root"], env=slurm.env, check=False)


def _events(server: Server, job_id: str) -> list[dict[str, Any]]:
    return httpx.get(f"{server.url}/api/jobs/{job_id}/events", timeout=10).json()["items"]


def _submitted_handle(server: Server, job_id: str) -> list[str]:
    return [
        e["message"]
        for e in _events(server, job_id)
        if e["step"] == "submitting" and "slurm:" in e["message"]
    ]


def test_distributed_mode_runs_slurm_jobs(
    slurm: PrivateSlurm, shared: Path, tmp_path: Path, demo_16s
) -> None:
    """API + Celery worker processes + PostgreSQL + Redis, with a SLURM cluster: the worker
    submits the array and follows it; hits as on the embedded local engine."""
    query = fasta(demo_16s[20:24])
    hpc = ClusterConfig(name="hpc", engine="slurm", slots=2, settings=slurm_settings(slurm, shared))
    with pg_database() as url:
        settings = distributed_settings(tmp_path / "data", url)
        workers = Workers(settings)
        try:
            with TestClient(create_app(settings)) as client:
                # stored in the database, so the worker processes know it too
                added = client.post("/api/clusters", json=hpc.model_dump())
                assert added.status_code == 201, added.text
                workers.start(concurrency=1)
                on_slurm = finish(client, submit(client, "hpc", query))
                on_local = finish(client, submit(client, "local", query))
                assert on_slurm["phase"] == on_local["phase"] == "completed", (
                    on_slurm["error_code"],
                    on_slurm["error"],
                    on_local["error"],
                )
                assert on_slurm["hsps_total"] == on_local["hsps_total"] > 0
                tsv = [
                    client.get(f"/api/jobs/{j['id']}/download?format=tsv").text
                    for j in (on_slurm, on_local)
                ]
                assert tsv[0] == tsv[1]
                assert_nothing_left(slurm, on_slurm["id"])
        finally:
            workers.stop_all()
