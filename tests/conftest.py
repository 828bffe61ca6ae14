"""Shared fixtures: a real BlastDeck app on SQLite or PostgreSQL, real BLAST+, tiny databases."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from blastdeck.blast_tools import run_tool
from blastdeck.config import Settings
from tests.support import httpx_tls
from tests.support.private_redis import PrivateRedis

httpx_tls.install()  # tests/support/httpx_tls.py says why

TERMINAL = {"completed", "failed", "cancelled"}
PG_ADMIN_URL = os.environ.get("BLASTDECK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DEMO_DIR = Path(__file__).resolve().parents[1] / "blastdeck" / "demo"


# The modules that take longest, slowest first (seconds each in one `make test` run on this
# 2-core host, 2026-12-03, the whole suite ~1,900 s), run before the rest. With two xdist
# workers (make test, which passes --no-loadscope-reorder: pytest-xdist otherwise orders
# modules by how many tests they hold) each worker takes the next module when it is free, so
# the run ends on short modules rather than on one of these alone on one worker.
SLOW_MODULES_FIRST = (
    "test_cli_admin",  # 107
    "test_slurm",  # 107
    "test_faults",  # 98
    "test_fuzz",  # 88
    "test_notifications",  # 80
    "test_upgrade",  # 74
    "test_cli",  # 69
    "test_web_e2e",  # 69
    "test_recovery",  # 63
    "test_restart",  # 60
    "test_hostile_input",  # 52
    "test_distributed_faults",  # 44
    "test_web_share_e2e",  # 42
    "test_import",  # 38
    "test_cli_markup",  # 36
    "test_cluster_pause",  # 35
    "test_ebi_api",  # 35
    "test_ncbi_formats",  # 34
    "test_cli_taxonomy",  # 34
    "test_web_narrow_e2e",  # 31
    "test_multi_database",  # 29
    "test_web_serving",  # 27
    "test_api_bad_input",  # 25
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow modules first; a stable sort, so every module keeps its own order."""
    rank = {name: n for n, name in enumerate(SLOW_MODULES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))


def pytest_sessionstart(session: pytest.Session) -> None:
    if not shutil.which("blastn"):
        raise pytest.UsageError(
            "BLAST+ is not installed: apt-get install ncbi-blast+ (make test does)"
        )


def read_fasta(path: Path) -> list[tuple[str, str]]:
    records: list[tuple[str, str]] = []
    for block in path.read_text().split(">")[1:]:
        header, _, seq = block.partition("\n")
        records.append((header.strip(), seq.replace("\n", "")))
    return records


def fasta(records: list[tuple[str, str]]) -> str:
    return "".join(f">{h}\n{s}\n" for h, s in records)


# The standard genetic code's codons for each amino acid, the first of each a fixed choice.
CODONS: dict[str, tuple[str, ...]] = {
    "A": ("GCT", "GCC", "GCA", "GCG"), "R": ("CGT", "CGC", "CGA", "CGG", "AGA", "AGG"),
    "N": ("AAT", "AAC"), "D": ("GAT", "GAC"), "C": ("TGT", "TGC"), "Q": ("CAA", "CAG"),
    "E": ("GAA", "GAG"), "G": ("GGT", "GGC", "GGA", "GGG"), "H": ("CAT", "CAC"),
    "I": ("ATT", "ATC", "ATA"), "L": ("CTG", "CTT", "CTC", "CTA", "TTA", "TTG"),
    "K": ("AAA", "AAG"), "M": ("ATG",), "F": ("TTT", "TTC"), "P": ("CCG", "CCT", "CCC", "CCA"),
    "S": ("TCT", "TCC", "TCA", "TCG", "AGT", "AGC"), "T": ("ACC", "ACT", "ACA", "ACG"),
    "W": ("TGG",), "Y": ("TAT", "TAC"), "V": ("GTT", "GTC", "GTA", "GTG"),
}  # fmt: skip


def back_translate(protein: str, rng: random.Random | None = None, reverse: bool = False) -> str:
    """A coding sequence for `protein` (NNN for a letter that is no amino acid): each codon the
    first of its amino acid's, or one drawn by `rng`; `reverse`: its reverse complement."""
    codons = [CODONS.get(a, ("NNN",)) for a in protein]
    coding = "".join(rng.choice(c) if rng else c[0] for c in codons)
    return coding[::-1].translate(str.maketrans("ACGTN", "TGCAN")) if reverse else coding


@pytest.fixture(scope="session")
def demo_16s() -> list[tuple[str, str]]:
    return read_fasta(DEMO_DIR / "demo-16s.fa")


@pytest.fixture(scope="session")
def demo_proteins() -> list[tuple[str, str]]:
    return read_fasta(DEMO_DIR / "demo-proteins.fa")


@contextmanager
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (SQLAlchemy URL), dropped afterwards."""
    name = f"blastdeck_test_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(backend_name: str) -> Iterator[str | None]:
    """None (SQLite under the data dir) or a fresh PostgreSQL database, per test."""
    if backend_name == "sqlite":
        yield None
    else:
        with pg_database() as url:
            yield url


def make_settings(data_dir: Path, database_url: str | None = None, **overrides: Any) -> Settings:
    return Settings(data_dir=data_dir, database_url=database_url, **overrides)


def add_split_cluster(client: Any, name: str = "split", batch_letters: int = 4000) -> str:
    """A local cluster whose `batch_letters` splits even a few demo queries into several
    batches (the planner keeps a job within one BLAST query batch whole otherwise)."""
    body = {
        "name": name,
        "engine": "local",
        "slots": 3,
        "settings": {"batch_letters": str(batch_letters)},
    }
    response = client.post("/api/clusters", json=body)
    assert response.status_code in (200, 201), response.text
    return name


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "distributed"])
def backend_name(request: pytest.FixtureRequest) -> str:
    """Embedded on SQLite, embedded on PostgreSQL, distributed (PostgreSQL, Redis, Celery)."""
    return request.param


REDIS_URL = os.environ.get("BLASTDECK_TEST_REDIS", "redis://127.0.0.1:6379/0")
TEST_PLUGINS = "tests.support.barrier_engine"


def distributed_settings(data_dir: Path, database_url: str, **overrides: Any) -> Settings:
    """Settings for one isolated distributed deployment: its own queue and lock prefix."""
    tag = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "broker_url": REDIS_URL,
        "queue": f"blastdeck-test-{tag}",
        "lock_prefix": f"test:{tag}:elb:blast:elastic-blast-submit",
        "lease_s": 4,
        "reconcile_interval_s": 1.0,
        "visibility_timeout_s": 30,
        "plugins": TEST_PLUGINS,
        **overrides,
    }
    return make_settings(data_dir, database_url, **values)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a worker or beat process the same settings."""
    env = dict(os.environ)
    repo = str(Path(__file__).resolve().parents[1])  # so workers can import the test plugin
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, env.get("PYTHONPATH")]))
    for name, value in settings.model_dump(exclude={"clusters"}).items():
        if value is not None:
            env[f"BLASTDECK_{name.upper()}"] = str(value)
    return env


class Workers:
    """Real `blastdeck worker` (and `beat`) processes for one distributed deployment."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.procs: list[subprocess.Popen] = []

    def start(self, concurrency: int = 2, command: str = "worker") -> subprocess.Popen:
        args = [BLASTDECK, command] + (
            ["--concurrency", str(concurrency)] if command == "worker" else []
        )
        proc = subprocess.Popen(
            args,
            env=settings_env(self.settings),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.procs.append(proc)
        if command == "worker":
            self._wait_ready(proc)
        return proc

    def _wait_ready(self, proc: subprocess.Popen) -> None:
        from blastdeck.executors.celery import make_client

        app = make_client(self.settings)
        name = f"blastdeck-{proc.pid}@{socket.gethostname()}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"worker exited: {proc.stderr.read().decode()[-3000:]}")
            replies = app.control.ping(destination=[name], timeout=0.5)
            if any(name in reply for reply in replies):
                return
        raise AssertionError("worker not ready in 60 s")

    def kill(self, proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        """Signal the worker's whole process group: the main process and its pool children."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        proc.wait(timeout=30)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                self.kill(proc, signal.SIGTERM)
        self.procs.clear()


@pytest.fixture(scope="module")
def client(backend_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One running deployment per test module and backend, with the demo databases."""
    data_dir = tmp_path_factory.mktemp(f"data-{backend_name}")
    with ExitStack() as stack:
        url = stack.enter_context(pg_database()) if backend_name != "sqlite" else None
        if backend_name == "distributed":
            settings = distributed_settings(data_dir, url, max_upload_bytes=2_000_000)
        else:
            settings = make_settings(data_dir, url, max_upload_bytes=2_000_000)
        test_client = stack.enter_context(TestClient(create_app(settings)))
        if backend_name == "distributed":
            workers = Workers(settings)
            stack.callback(workers.stop_all)
            workers.start(concurrency=2)
        yield test_client


def wait_for_job(
    get: Callable[[str], dict[str, Any]],
    job_id: str,
    until: Callable[[dict[str, Any]], bool] = lambda j: j["phase"] in TERMINAL,
    timeout: float = 120,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = get(job_id)
        if until(job):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['phase']} after {timeout} s: {job}")
        time.sleep(0.05)


def api_job(client: TestClient) -> Callable[[str], dict[str, Any]]:
    def get(job_id: str) -> dict[str, Any]:
        response = client.get(f"/api/jobs/{job_id}")
        assert response.status_code == 200, response.text
        return response.json()

    return get


def blast_processes(marker: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


BLASTDECK = str(Path(sys.executable).parent / "blastdeck")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, data_dir: Path, database_url: str | None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.env = dict(os.environ, BLASTDECK_DATA_DIR=str(data_dir))
        if database_url:
            self.env["BLASTDECK_DATABASE_URL"] = database_url
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [BLASTDECK, "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("server did not start in 60 s")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(timeout=30)

    def job(self, job_id: str) -> dict:
        return httpx.get(f"{self.url}/api/jobs/{job_id}", timeout=10).json()


# Long enough to kill, cancel or restart mid-run (several batches, seconds of BLAST), cheap
# enough that the suite can run it a few dozen times: 24 demo 16S queries take ~4.7 CPU-seconds
# with BLAST+ 2.12 (4,588 rows). Megablast with its own seeds and scores, so a job of them is
# still split into several BLAST processes (`search_split.batch_bound_reason`: `-task blastn
# -word_size 6`, used until the twenty-first session, now runs BLAST's own single batch); its
# rows are the same in every split (checked by hand: halves to single queries, 2 threads).
SLOW_OPTIONS = {"evalue": 1e5, "max_target_seqs": 5000, "xdrop_gap_final": 1000}
_RAW_HIT_COUNTS: dict[str, int] = {}


def raw_hit_count(tmp_dir: Path, query: str, data_dir: Path) -> int:
    """Rows plain blastn prints for the slow workload on the demo 16S database: the reference
    a job interrupted by a restart must still reach. The demo database is built from the same
    FASTA in every data dir, so a query's count is computed once per test process."""
    if query in _RAW_HIT_COUNTS:
        return _RAW_HIT_COUNTS[query]
    query_file = tmp_dir / "raw-query.fa"
    query_file.write_text(query)
    db = data_dir / "databases" / "demo-16s" / "demo-16s"
    args = ["-query", str(query_file), "-db", str(db), "-outfmt", "6", "-num_threads", "2"]
    for option, value in SLOW_OPTIONS.items():
        args += [f"-{option}", str(value)]
    count = len(run_tool("blastn", args).strip().splitlines())
    _RAW_HIT_COUNTS[query] = count
    return count


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    yield server
    server.kill()
