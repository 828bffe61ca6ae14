"""Helpers shared by the bench scripts: a real `blastdeck serve`, /proc, statistics, output.

Not a benchmark itself (`run_all.py` skips `_*.py`). The scripts run as `python bench/X.py`, so
this directory is on `sys.path` and they `import _common`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent

HEALTH_DEADLINE_S = 180.0
TERMINAL = frozenset({"completed", "failed", "cancelled"})


class BenchError(RuntimeError):
    pass


# -- data --------------------------------------------------------------------------------------


def fasta_records(path: Path, limit: int) -> Iterator[str]:
    """The first `limit` FASTA records of a file, each as text ending in a newline."""
    record: list[str] = []
    count = 0
    with path.open() as fh:
        for line in fh:
            if line.startswith(">"):
                if record:
                    yield "".join(record)
                    count += 1
                    if count >= limit:
                        return
                record = []
            if record or line.startswith(">"):
                record.append(line)
    if record and count < limit:
        yield "".join(record)


# -- processes ---------------------------------------------------------------------------------


def descendants(root: int) -> list[int]:
    """Every live descendant of `root`, from the parent pids in /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_pids(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def stop_process_group(proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    """SIGTERM the process group `proc` leads (it was started with start_new_session=True),
    SIGKILL it when it has not exited in `timeout_s`, and kill any descendant that left the
    group (the local engine starts BLAST in its own sessions)."""
    leftovers = descendants(proc.pid) if proc.poll() is None else []
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # group members that outlived their leader
    kill_pids(leftovers)


# -- the server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def blastdeck_command() -> str:
    venv = REPO / ".venv" / "bin" / "blastdeck"
    for candidate in (venv, Path(sys.executable).parent / "blastdeck"):
        if candidate.is_file():
            return str(candidate)
    raise BenchError("blastdeck command not found; run `make run` or install the venv first")


def blastdeck_env(data_dir: Path, settings: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without any BLASTDECK_* setting (except where BLAST+ lives),
    plus the data dir and the given settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLASTDECK_")}
    if "BLASTDECK_BLAST_BIN_DIR" in os.environ:
        env["BLASTDECK_BLAST_BIN_DIR"] = os.environ["BLASTDECK_BLAST_BIN_DIR"]
    env["BLASTDECK_DATA_DIR"] = str(data_dir)
    env.update(settings or {})
    return env


class Server:
    """`blastdeck serve` as a subprocess on 127.0.0.1 with a fresh data dir.

    Without `settings` it is the embedded default (SQLite, the in-process executor); `settings`
    adds BLASTDECK_* variables (e.g. a broker and a PostgreSQL URL for distributed mode).
    """

    def __init__(
        self, work: Path, name: str = "server", settings: Mapping[str, str] | None = None
    ) -> None:
        self.name = name
        self.data_dir = work / f"{name}-data"
        self.log_path = work / f"{name}.log"
        self.settings = dict(settings or {})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.client: httpx.Client | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        # The embedded default: no BLASTDECK_* setting from the caller's environment leaks in,
        # except where BLAST+ lives (the raw runs use the same binaries).
        env = blastdeck_env(self.data_dir, self.settings)
        argv = [blastdeck_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.data_dir.parent,
                start_new_session=True,
            )
        # trust_env=False: never route 127.0.0.1 through a proxy from the environment.
        self.client = httpx.Client(base_url=self.url, timeout=120.0, trust_env=False)
        deadline = time.monotonic() + HEALTH_DEADLINE_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"server exited with {self.proc.returncode}\n{self.log_tail()}")
            with contextlib.suppress(httpx.TransportError):
                if self.client.get("/api/health").status_code == 200:
                    return
            time.sleep(0.2)
        raise BenchError(f"server not healthy after {HEALTH_DEADLINE_S:.0f} s\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        return file_tail(self.log_path, lines)

    def stop(self, group: bool = False) -> None:
        """SIGTERM the server (SIGKILL its group after 20 s) and kill its BLAST processes;
        `group=True`: SIGTERM its whole process group instead (`stop_process_group`)."""
        if self.client is not None:
            self.client.close()
        if self.proc is None:
            return
        if group:
            stop_process_group(self.proc, timeout_s=20)
            return
        if self.proc.poll() is not None:
            return
        leftovers = descendants(self.proc.pid)  # BLAST processes run in their own sessions
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        kill_pids(leftovers)

    # -- API -----------------------------------------------------------------------------------

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        assert self.client is not None
        response = self.client.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise BenchError(f"{method} {path} -> {response.status_code}: {response.text[:500]}")
        return response

    def health(self) -> dict[str, Any]:
        return self.request("GET", "/api/health").json()

    def register(self, name: str, prefix: Path) -> dict[str, Any]:
        body = {"name": name, "path": str(prefix.resolve())}
        return self.request("POST", "/api/databases", json=body).json()


def file_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# -- time and statistics -----------------------------------------------------------------------


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def ms_between(a: datetime | None, b: datetime | None) -> float | None:
    return round((b - a).total_seconds() * 1000, 1) if a and b else None


def median(values: list[float]) -> float:
    return statistics.median(values)


def nearest_rank(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` 0.9 for p90) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def r3(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


# -- output ------------------------------------------------------------------------------------


def environment(health: dict[str, Any]) -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            return subprocess.run(
                ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=30, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git("rev-parse", "HEAD"),
        "tree_dirty": bool(status) if status is not None else None,
        "host_cpus": os.cpu_count(),
        "python": platform.python_version(),
        "blast": health.get("blast"),
        "blastdeck_version": health.get("version"),
        "server_database": health.get("database"),
        "loadavg_start": list(os.getloadavg()),
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(data, indent=1) + "\n")
    partial.replace(path)


def shown_path(path: Path) -> Path:
    """`path` relative to the current directory when it is below it (for printing)."""
    shown = path.resolve()
    with contextlib.suppress(ValueError):
        shown = shown.relative_to(Path.cwd())
    return shown


def children_cpu_s() -> float:
    """CPU seconds of this process's children that it has waited for (e.g. a raw BLAST run)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def server_cpu_s(pid: int) -> tuple[float, float]:
    """CPU seconds of the server process itself and of the children it has waited for (its
    BLAST processes): utime + stime, cutime + cstime of /proc/PID/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    ticks = [int(f) for f in stat[stat.rfind(")") + 2 :].split()[11:15]]
    hz = os.sysconf("SC_CLK_TCK")
    return (ticks[0] + ticks[1]) / hz, (ticks[2] + ticks[3]) / hz
