"""Real faults against real processes: BLAST running out of memory, a full disk, a PostgreSQL
server restarted mid-job, and how fast a server killed with -9 serves again.

Every test runs `blastdeck serve` as a subprocess with real BLAST+; nothing under test is mocked.
After each fault every job must be settled (completed, failed with a code, or cancelled) and no
job may be lost.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import (
    BLASTDECK,
    SLOW_OPTIONS,
    TERMINAL,
    Server,
    blast_processes,
    fasta,
    free_port,
    pg_database,
    raw_hit_count,
    wait_for_job,
)

REPO = Path(__file__).resolve().parents[1]
RESTART_RESULTS = REPO / "bench" / "results" / "restart.json"


# -- helpers ---------------------------------------------------------------------------------


class LoggedServer(Server):
    """conftest's Server with its stderr in a file: a server that logs a lot through a fault
    must not block on a full pipe, and the log tells what happened when a test fails."""

    def __init__(self, data_dir: Path, database_url: str | None, log: Path) -> None:
        super().__init__(data_dir, database_url)
        self.log = log

    def start(self) -> None:
        self.proc = self._spawn()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return
            time.sleep(0.05)
        raise AssertionError("server did not start in 60 s")

    def _spawn(self) -> subprocess.Popen:
        with self.log.open("ab") as err:
            return subprocess.Popen(
                [BLASTDECK, "serve", "--port", str(self.port)],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


@pytest.fixture
def servers() -> Iterator[list[LoggedServer]]:
    """Servers a test starts; each still running at the end is stopped."""
    started: list[LoggedServer] = []
    yield started
    stop_all(started)


def stop_all(servers: list[LoggedServer]) -> None:
    for server in servers:
        if server.proc and server.proc.poll() is None:
            server.kill(signal.SIGTERM)


@contextlib.contextmanager
def stopped_at_exit(servers: list[LoggedServer]) -> Iterator[None]:
    """Stop the servers when the block ends (before the filesystem under them is unmounted)."""
    try:
        yield
    finally:
        stop_all(servers)


def start_server(
    servers: list[LoggedServer],
    data_dir: Path,
    database_url: str | None = None,
    log_dir: Path | None = None,
) -> LoggedServer:
    log = (log_dir or data_dir.parent) / f"server-{len(servers)}.log"
    server = LoggedServer(data_dir, database_url, log)
    servers.append(server)
    server.start()
    return server


def submit(server: LoggedServer, query: str, **extra: Any) -> str:
    body = {"program": "blastn", "database": "demo-16s", "query": query, **extra}
    response = httpx.post(f"{server.url}/api/jobs", json=body, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def all_jobs(server: Server) -> dict[str, dict[str, Any]]:
    response = httpx.get(f"{server.url}/api/jobs", params={"limit": 500}, timeout=30)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == len(page["items"]), "more jobs than one page"
    return {job["id"]: job for job in page["items"]}


def assert_settled(server: Server, known: set[str]) -> dict[str, dict[str, Any]]:
    """No job lost, none left running: each ended completed, failed with a code, or cancelled."""
    jobs = all_jobs(server)
    assert known <= set(jobs), f"jobs lost: {known - set(jobs)}"
    for job in jobs.values():
        assert job["phase"] in TERMINAL, job
        if job["phase"] == "failed":
            assert job["error_code"] and job["error"], job
        assert not any(s["status"] == "running" for s in job["steps"]), job
    return jobs


def event_kinds(server: Server, job_id: str) -> list[str]:
    response = httpx.get(f"{server.url}/api/jobs/{job_id}/events", timeout=30)
    return [event["kind"] for event in response.json()["items"]]


def all_hits(server: Server, job_id: str) -> list[dict[str, Any]]:
    hits: list[dict[str, Any]] = []
    while True:
        page = httpx.get(
            f"{server.url}/api/jobs/{job_id}/hsps",
            params={"sort": "query", "limit": 1000, "offset": len(hits)},
            timeout=30,
        ).json()
        hits += page["items"]
        if len(hits) >= page["total"]:
            return hits


def download(server: Server, job_id: str, fmt: str = "tsv") -> httpx.Response:
    return httpx.get(
        f"{server.url}/api/jobs/{job_id}/download", params={"format": fmt}, timeout=120
    )


def wait_gone(marker: str, timeout: float = 10) -> list[int]:
    deadline = time.monotonic() + timeout
    while (pids := blast_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return pids


# -- 1. BLAST out of memory ------------------------------------------------------------------


def add_cluster(server: Server, name: str, **settings: str) -> None:
    body = {"name": name, "engine": "local", "slots": 1, "settings": settings}
    response = httpx.post(f"{server.url}/api/clusters", json=body, timeout=30)
    assert response.status_code == 201, response.text
    assert response.json()["settings"] == settings


def test_blast_out_of_memory_fails_with_a_readable_code(
    servers: list[LoggedServer], tmp_path: Path, demo_16s
) -> None:
    """A cluster whose memory limit is too small for the search: BLAST really runs out of memory
    (RLIMIT_DATA in the child), and the job says so, naming the limit to raise."""
    server = start_server(servers, tmp_path / "data")
    add_cluster(server, "tiny", memory_limit_mb="12")
    add_cluster(server, "roomy", memory_limit_mb="1024")
    query = fasta(demo_16s[:24])

    job_id = submit(server, query, cluster="tiny")
    job = wait_for_job(server.job, job_id, timeout=120)
    assert job["phase"] == "failed", job
    assert job["error_code"] == "blast_out_of_memory", job["error"]
    assert job["error_category"] == "capacity"
    message = job["error"]
    assert "out of memory" in message and "12 MB" in message and "memory_limit_mb" in message
    assert "tiny" in message
    assert "exited with code" not in message and "signal 9" not in message, message
    print(f"\nout-of-memory job: {message}")
    assert [s["key"] for s in job["steps"] if s["status"] == "failed"] == ["running"]
    assert wait_gone(job_id) == [], "a BLAST process outlived its job"

    # The same search under a limit it fits in completes: the limit, not the query, failed it.
    roomy = wait_for_job(server.job, submit(server, query, cluster="roomy"), timeout=180)
    assert roomy["phase"] == "completed", roomy
    assert roomy["hsps_total"] > 0

    # A limit that is not a number is refused when the cluster is added.
    body = {"name": "sloppy", "engine": "local", "settings": {"memory_limit_mb": "lots"}}
    added = httpx.post(f"{server.url}/api/clusters", json=body, timeout=30)
    known = {job_id, roomy["id"]}
    assert added.status_code == 422, added.text
    assert added.json()["error_code"] == "invalid_cluster_setting", added.text
    assert "memory_limit_mb" in added.json()["message"]

    assert_settled(server, known)


# -- 2. disk full ----------------------------------------------------------------------------


@contextlib.contextmanager
def tmpfs(mount_point: Path, size_mb: int) -> Iterator[Path]:
    """A small tmpfs of our own, unmounted at the end even when the test failed."""
    mount_point.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(mount_point)],
        check=True,
    )
    try:
        yield mount_point
    finally:
        for pid in blast_processes(str(mount_point)):  # BLAST outlives a stopped server
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if subprocess.run(["umount", str(mount_point)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mount_point)], check=False)


def free_bytes(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bfree * stat.f_frsize  # root's view: BLAST runs as this user


def fill_to(path: Path, filler: Path, leave_bytes: int) -> None:
    """Take all but `leave_bytes` of the filesystem's free space with one real file."""
    size = free_bytes(path) - leave_bytes
    if leave_bytes == 0 and size <= 0:
        return  # full already (the failed job's finished batches took the rest)
    assert size > 0, "the tmpfs is too small for this test"
    with filler.open("wb") as out:
        chunk = b"\0" * (1 << 20)
        while size > 0:
            size -= out.write(chunk[: min(size, len(chunk))])


class Prober:
    """Asks the server for its health and its job list every 0.1 s from a thread, and notes
    every answer that is not a 200: does the server keep serving through a fault?"""

    def __init__(self, server: LoggedServer) -> None:
        self.server = server
        self.failures: list[str] = []
        self.calls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._probe, daemon=True)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _probe(self) -> None:
        with httpx.Client(base_url=self.server.url, timeout=30) as client:
            while not self._stop.wait(0.1):
                for path in ("/api/health", "/api/jobs"):
                    self.calls += 1
                    try:
                        response = client.get(path)
                    except httpx.HTTPError as exc:
                        self.failures.append(f"{path}: {exc!r}")
                        continue
                    if response.status_code != 200:
                        self.failures.append(f"{path}: {response.status_code} {response.text}")


def wait_through(server: LoggedServer, job_id: str, timeout: float = 180) -> dict[str, Any]:
    """wait_for_job that tolerates error answers meanwhile (the Prober counts those)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            response = httpx.get(f"{server.url}/api/jobs/{job_id}", timeout=30)
            if response.status_code == 200 and response.json()["phase"] in TERMINAL:
                return response.json()
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} not ended after {timeout} s: {server.log_tail()}")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_disk_full_fails_the_job_and_the_server_keeps_serving(
    servers: list[LoggedServer], tmp_path: Path, demo_16s, backend: str
) -> None:
    """The data dir is on a 24 MB tmpfs (with SQLite in it, as in the default deployment, or
    with the database on PostgreSQL). With the disk nearly full, a job whose results cannot fit
    fails with storage_full; the server keeps serving what it had; with space freed, jobs
    complete again."""
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(pg_database()) if backend == "postgresql" else None
        mount = stack.enter_context(tmpfs(tmp_path / "mnt", 24))
        stack.enter_context(stopped_at_exit(servers))
        data = mount / "data"
        server = start_server(servers, data, url, log_dir=tmp_path)  # the log off the small disk

        earlier = wait_for_job(server.job, submit(server, fasta(demo_16s[:3])))
        assert earlier["phase"] == "completed", earlier
        hits_before = all_hits(server, earlier["id"])
        tsv_before = download(server, earlier["id"])
        assert tsv_before.status_code == 200 and hits_before
        known = set(all_jobs(server))

        # 1 MB left; the big job's hit tables need about 3 MB (100 queries, every subject).
        filler = mount / "filler"
        fill_to(mount, filler, 1 << 20)
        with Prober(server) as probe:
            big_options = {"evalue": 10, "max_target_seqs": 500}
            big_id = submit(server, fasta(demo_16s[:100]), options=big_options)
            known.add(big_id)
            big = wait_through(server, big_id)
        assert big["phase"] == "failed", big
        assert big["error_code"] == "storage_full", big["error"]
        assert big["error_category"] == "capacity"
        assert "no space left" in big["error"].lower(), big["error"]
        # writing its query file, its batch files or BLAST's output, whichever hits the full
        # disk first (how much of the disk SQLite's WAL holds at that moment decides)
        failed_steps = [s["key"] for s in big["steps"] if s["status"] == "failed"]
        assert failed_steps in (["preparing"], ["configuring"], ["running"]), failed_steps
        assert wait_gone(big_id) == [], "a BLAST process outlived its job"
        problems = []  # ways the server stopped serving; none allowed on PostgreSQL
        if probe.failures:
            problems.append(
                f"{len(probe.failures)} of {probe.calls} health/list requests failed while "
                f"BLAST filled the disk: {probe.failures[:2]}"
            )

        # No half-written output where a reader would take it as whole: BLAST writes to
        # `.part`, only a finished table is renamed, and a failed batch leaves no table.
        batches = data / "jobs" / big_id / "batches"
        leftovers = sorted(p.name for p in batches.glob("*.part"))
        assert leftovers == [], f"partial files left behind: {leftovers}"
        for table in batches.glob("*.hits.tsv"):
            assert table.read_text().rstrip().splitlines()[-1].startswith("# BLAST processed")

        # The server still serves, and what it served before is unchanged.
        assert httpx.get(f"{server.url}/api/health", timeout=30).status_code == 200
        assert all_hits(server, earlier["id"]) == hits_before
        tsv_during = download(server, earlier["id"])
        assert tsv_during.status_code == 200 and tsv_during.content == tsv_before.content
        assert_settled(server, known)

        # Not one byte free: the cached download is still served; one that must write a new
        # file says storage_full and leaves no partial file behind.
        fill_to(mount, mount / "filler-2", 0)
        if problem := full_disk_download_problem(server, earlier["id"], tsv_before.content):
            problems.append(problem)
        exports = data / "jobs" / earlier["id"] / "exports"
        assert sorted(p.name for p in exports.iterdir()) == ["results.tsv"]
        (mount / "filler-2").unlink(missing_ok=True)

        # Space freed: new jobs complete again, and the download works.
        filler.unlink()
        after = wait_for_job(server.job, submit(server, fasta(demo_16s[:3])))
        assert after["phase"] == "completed", after
        assert after["hsps_total"] == earlier["hsps_total"]
        known.add(after["id"])
        assert download(server, earlier["id"], "csv").status_code == 200
        assert_settled(server, known)
        assert problems == [], problems  # SQLite too: store/database.py keeps its files open


def test_a_full_disk_answers_storage_full_and_deleting_a_job_makes_room(
    servers: list[LoggedServer], tmp_path: Path, demo_16s
) -> None:
    """SQLite in a data dir whose disk is full: a submit is refused with 507 storage_full
    (not 503 database_unavailable: waiting does not free a disk), nothing is stored, and
    deleting a job, what that answer tells the user to do, works on the full disk (the job's
    own files make room for the database to record the delete)."""
    with contextlib.ExitStack() as stack:
        mount = stack.enter_context(tmpfs(tmp_path / "mnt", 24))
        stack.enter_context(stopped_at_exit(servers))
        data = mount / "data"
        server = start_server(servers, data, None, log_dir=tmp_path)
        old_id = submit(server, fasta(demo_16s[:40]), options={"evalue": 10})
        old = wait_for_job(server.job, old_id)
        assert old["phase"] == "completed", old
        assert download(server, old_id).status_code == 200  # its files: hits, index, a TSV
        known = set(all_jobs(server))

        fill_to(mount, mount / "filler", 0)
        # SQLite writes into WAL pages it already has until they run out: a few submits may
        # still be taken (each then settles), then every one is refused.
        answers = []
        for _ in range(30):
            response = httpx.post(
                f"{server.url}/api/jobs",
                json={"program": "blastn", "database": "demo-16s", "query": fasta(demo_16s[:1])},
                timeout=30,
            )
            answers.append(response)
            if response.status_code != 202:
                break
            known.add(response.json()["id"])
        refused = answers[-1]
        assert refused.status_code == 507, [(a.status_code, a.text[:200]) for a in answers]
        body = refused.json()
        assert body["error_code"] == "storage_full", body
        assert "disk holding the job database is full" in body["message"], body
        assert set(all_jobs(server)) == known, "a refused submit stored a job"

        deleted = httpx.delete(f"{server.url}/api/jobs/{old_id}", timeout=30)
        assert deleted.status_code == 204, deleted.text
        assert httpx.get(f"{server.url}/api/jobs/{old_id}", timeout=30).status_code == 404
        assert not (data / "jobs" / old_id).exists()
        known.discard(old_id)
        assert set(all_jobs(server)) == known

        # The room it made takes a new job, and whatever was taken on the full disk settled.
        after = wait_for_job(server.job, submit(server, fasta(demo_16s[:1])))
        assert after["phase"] == "completed", after
        known.add(after["id"])
        for job in assert_settled(server, known).values():
            assert job["phase"] == "completed" or job["error_code"] == "storage_full", job


def full_disk_download_problem(server: LoggedServer, job_id: str, tsv: bytes) -> str | None:
    """What goes wrong, if anything, downloading a job's results with 0 bytes free."""
    cached = download(server, job_id)
    if cached.status_code != 200 or cached.content != tsv:
        return f"cached tsv download: {cached.status_code} {cached.text[:200]}"
    new = download(server, job_id, "csv")
    if new.status_code == 500 or new.json().get("error_code") != "storage_full":
        return f"csv download: {new.status_code} {new.text[:200]}"
    return None


# -- 3. PostgreSQL restarted mid-job ---------------------------------------------------------


def _pg_bin() -> Path:
    versions = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name),
    )
    if not versions:
        pytest.fail("PostgreSQL server binaries not found under /usr/lib/postgresql")
    return versions[-1]


class PrivatePostgres:
    """A PostgreSQL server of our own (initdb in a temp dir, a free port).

    Restarting it is the same fault as restarting the shared server, without breaking other
    tests (or other sessions) that use the shared one meanwhile.
    """

    def __init__(self) -> None:
        self.bin = _pg_bin()
        self.root = Path(tempfile.mkdtemp(prefix="blastdeck-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        user = pwd.getpwnam("postgres")
        os.chown(self.root, user.pw_uid, user.pw_gid)

    def _run(self, tool: str, *args: str) -> None:
        argv = ["runuser", "-u", "postgres", "--", str(self.bin / tool), *args]
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{tool} {args}: {result.stdout}{result.stderr}"

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def is_up(self) -> bool:
        try:
            with psycopg.connect(
                f"postgresql://postgres@127.0.0.1:{self.port}/postgres", connect_timeout=2
            ):
                return True
        except psycopg.OperationalError:
            return False

    def destroy(self) -> None:
        with contextlib.suppress(AssertionError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.mark.parametrize("down_s", [0.0, 5.0], ids=["restart", "down-5s"])
def test_postgresql_restart_mid_job(
    servers: list[LoggedServer], tmp_path: Path, private_postgres: PrivatePostgres, demo_16s, down_s
) -> None:
    """The job's database goes away under a running job (fast shutdown: sessions terminated),
    then comes back. The job completes once, with every hit; the server serves again."""
    pg = private_postgres
    server = start_server(servers, tmp_path / "data", pg.url)
    warm = wait_for_job(server.job, submit(server, fasta(demo_16s[:2])))  # stages the database
    assert warm["phase"] == "completed", warm
    query = fasta(demo_16s[:24])
    job_id = submit(server, query, options=SLOW_OPTIONS)
    wait_for_job(server.job, job_id, until=lambda j: j["phase"] == "running", timeout=60)
    time.sleep(1.0)  # batches mid-run
    assert blast_processes(job_id), "the job's BLAST processes are not running"

    pg.stop("fast")
    try:
        time.sleep(down_s)
        assert httpx.get(f"{server.url}/api/health", timeout=30).status_code >= 500
    finally:
        pg.start()
    assert pg.is_up()

    done = wait_for_job(server.job, job_id, timeout=240)
    assert done["phase"] == "completed", done
    assert event_kinds(server, job_id).count("completed") == 1
    data = tmp_path / "data"
    assert done["hsps_total"] == raw_hit_count(tmp_path, query, data)
    assert len(all_hits(server, job_id)) == done["hsps_total"]
    assert wait_gone(job_id) == [], "a BLAST process outlived its job"
    assert httpx.get(f"{server.url}/api/health", timeout=30).status_code == 200
    assert_settled(server, {warm["id"], job_id})


# -- restart time after kill -9 --------------------------------------------------------------


def time_to_serving(server: LoggedServer, timeout: float = 60) -> float:
    """Start the server process and return the seconds until /api/health first answers 200."""
    started = time.monotonic()
    server.proc = server._spawn()
    with httpx.Client(timeout=1) as client:
        while time.monotonic() - started < timeout:
            assert server.proc.poll() is None, "the server exited while starting"
            with contextlib.suppress(httpx.HTTPError):
                if client.get(f"{server.url}/api/health").status_code == 200:
                    return time.monotonic() - started
            time.sleep(0.02)
    raise AssertionError(f"not serving {timeout} s after start")


def test_time_to_serve_again_after_kill_9(
    servers: list[LoggedServer], tmp_path: Path, demo_16s
) -> None:
    server = start_server(servers, tmp_path / "data")
    finished = [submit(server, fasta(demo_16s[i : i + 2])) for i in range(0, 8, 2)]
    for job_id in finished:
        assert wait_for_job(server.job, job_id)["phase"] == "completed"

    timings = []
    for _ in range(5):
        server.kill(signal.SIGKILL)
        timings.append(time_to_serving(server))
    figures = {
        "median": round(statistics.median(timings), 3),
        "max": round(max(timings), 3),
        "n": len(timings),
    }
    print(f"\nkill -9 -> serving again: {figures} (each: {[round(t, 3) for t in timings]})")
    RESTART_RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESTART_RESULTS.write_text(json.dumps({"kill9_restart_to_serving_s": figures}, indent=2) + "\n")
    assert figures["max"] < 15, figures
    assert_settled(server, set(finished))


def test_sigterm_mid_export_leaves_no_blast_behind(
    servers: list[LoggedServer], tmp_path: Path, demo_16s
) -> None:
    """A download that re-runs BLAST (XML) is cut off by SIGTERM of the server: its BLAST
    processes end with the server, the log holds no traceback, and after a restart the same
    download works."""
    data = tmp_path / "data"
    server = start_server(servers, data)
    job_id = submit(server, fasta(demo_16s[:24]), options=SLOW_OPTIONS)
    assert wait_for_job(server.job, job_id, timeout=240)["phase"] == "completed"

    def download() -> None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"{server.url}/api/jobs/{job_id}/download?format=xml", timeout=120)

    thread = threading.Thread(target=download, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not blast_processes(job_id):
        assert time.monotonic() < deadline, "the XML export never started BLAST"
        time.sleep(0.05)
    server.kill(signal.SIGTERM)
    time.sleep(0.5)
    assert blast_processes(job_id) == [], "a BLAST process outlived its server"
    log = server.log.read_text(errors="replace")
    assert "Traceback" not in log and "CancelledError" not in log, log[-3000:]

    server.start()
    response = httpx.get(f"{server.url}/api/jobs/{job_id}/download?format=xml", timeout=240)
    assert response.status_code == 200 and "</BlastOutput>" in response.text
