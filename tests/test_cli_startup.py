"""The CLI starts fast (issue 16): with --server, and for --help, it imports none of the server
side (SQLAlchemy, Alembic, FastAPI, Celery, uvicorn ...); only the data-dir path does.

Each case runs the real command in a fresh interpreter (as the console script does) against a
real `blastdeck serve`, then reports which modules that process had imported."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import BLASTDECK, Server, fasta, wait_for_job

# Runs `blastdeck ARGS...` in this interpreter and writes its exit status and sys.modules.
PROBE = """
import json, sys
report, args = sys.argv[1], json.loads(sys.argv[2])
sys.argv = ["blastdeck", *args]
from blastdeck.cli import main
try:
    main()
    code = 0
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else 1
with open(report, "w") as fh:
    json.dump({"exit": code, "modules": sorted(sys.modules)}, fh)
"""
SERVER_SIDE = (
    "sqlalchemy",
    "alembic",
    "fastapi",
    "starlette",
    "uvicorn",
    "celery",
    "kombu",
    "redis",
    "psycopg",
    "pydantic_settings",
    "blastdeck.runtime",
    "blastdeck.store",
    "blastdeck.api",
    "blastdeck.config",
    "blastdeck.job_service",
    "blastdeck.client_local",
)


def probe(tmp_path: Path, *args: str) -> tuple[dict, subprocess.CompletedProcess]:
    report = tmp_path / "probe.json"
    report.unlink(missing_ok=True)
    run = subprocess.run(
        [sys.executable, "-c", PROBE, str(report), json.dumps(args)],
        capture_output=True,
        timeout=180,
    )
    assert report.exists(), run.stderr.decode()[-3000:]
    return json.loads(report.read_text()), run


def server_side(modules: list[str]) -> list[str]:
    return [
        m for m in modules if m in SERVER_SIDE or m.startswith(tuple(f"{p}." for p in SERVER_SIDE))
    ]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("startup") / "data", None)
    srv.start()
    yield srv
    srv.kill(signal.SIGTERM)


@pytest.fixture(scope="module")
def job_id(server: Server, demo_16s) -> str:
    body = {"program": "blastn", "database": "demo-16s", "query": fasta(demo_16s[:1])}
    job = httpx.post(f"{server.url}/api/jobs", json=body, timeout=30).json()
    assert wait_for_job(server.job, job["id"])["phase"] == "completed"
    return job["id"]


@pytest.mark.parametrize(
    "args, code, expected",
    [
        (["--help"], 0, "Commands"),
        (["db", "--help"], 0, "add"),
        (["status", "{job}", "--server", "{url}"], 0, "Complete"),
        (["status", "{job}", "--json", "--server", "{url}"], 0, '"phase": "completed"'),
        (["results", "{job}", "--server", "{url}"], 0, "qaccver"),
        (["submit", "{query}", "--db", "demo-16s", "--wait", "--server", "{url}"], 0, "hits"),
        (["db", "list", "--server", "{url}"], 0, "demo-16s"),
        (["cluster", "list", "--server", "{url}"], 0, "local"),
        (["status", "no-such-job", "--server", "{url}"], 2, "job_not_found"),
        (["cancel", "{job}", "--server", "{url}"], 2, "job_already_finished"),
    ],
    ids=lambda v: " ".join(v[:2]) if isinstance(v, list) else None,
)
def test_the_http_path_imports_no_server_side_module(
    server: Server, job_id: str, demo_16s, tmp_path: Path, args: list[str], code: int, expected: str
) -> None:
    query = tmp_path / "q.fa"
    query.write_text(fasta(demo_16s[1:2]))
    values = {"{job}": job_id, "{url}": server.url, "{query}": str(query)}
    report, run = probe(tmp_path, *[values.get(a, a) for a in args])
    output = (run.stdout + run.stderr).decode()
    assert report["exit"] == code, output
    assert expected in output
    assert server_side(report["modules"]) == []


def test_the_probe_sees_the_data_dir_path_import_the_server_side(tmp_path: Path) -> None:
    """The check above could not pass by accident: the local path does import them."""
    report, run = probe(tmp_path, "db", "list", "--data-dir", str(tmp_path / "data"))
    assert report["exit"] == 0, run.stderr.decode()
    found = server_side(report["modules"])
    assert "sqlalchemy" in found and "alembic" in found and "blastdeck.runtime" in found


def test_python_dash_m_is_the_console_script() -> None:
    module = subprocess.run(
        [sys.executable, "-m", "blastdeck.cli", "--help"], capture_output=True, timeout=60
    )
    script = subprocess.run([BLASTDECK, "--help"], capture_output=True, timeout=60)
    assert module.returncode == script.returncode == 0
    assert module.stdout == script.stdout and b"submit" in script.stdout
