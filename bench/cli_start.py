"""CLI start-up benchmark: how long `blastdeck --help` and `blastdeck status ID --server URL` take.

    .venv/bin/python bench/cli_start.py [--runs N] [--out FILE] [--keep]

Starts a real `blastdeck serve` (embedded default) on a free 127.0.0.1 port with a fresh
temporary data dir, runs one small job on the demo database to completion, then times the two
commands as a user runs them (the venv's `blastdeck` console script, a new process each time,
output captured and checked): two warm-up runs each, then N runs of each, interleaved, so load
drifting during the run hits both alike. Wall time per run (fork to exit) and the process's CPU
time (user + system, from wait4) are recorded; the targets are on the median wall time:

- `blastdeck --help`                       <= 0.3 s
- `blastdeck status ID --server URL`       <= 0.5 s

`python -c pass` (the interpreter alone) is timed the same way for reference. Timings need a
quiet machine: the load average at start and end is recorded, and the summary says when the
1-minute load was above 1. Figures go to bench/results/cli_start.json. Exit status: 0 all
targets pass, 1 a target fails, 2 the benchmark could not run. `--data` (from run_all.py) is
accepted and ignored: the demo database is enough.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _common import (
    BENCH_DIR,
    TERMINAL,
    BenchError,
    Server,
    blastdeck_command,
    blastdeck_env,
    environment,
    median,
    r3,
    shown_path,
    write_json,
)

RESULTS = BENCH_DIR / "results" / "cli_start.json"
RUNS = 10
WARMUPS = 2
HELP_MAX_S = 0.3
STATUS_MAX_S = 0.5
QUIET_LOAD = 1.0
QUERY = ">q1\nAGAGTTTGATCATGGCTCAGAGTGAACGCTGGCGGCATGGTTAAGACATGCAAGTCGAACG\n"
JOB_DEADLINE_S = 300.0


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, str, int]:
    """Run `argv` once: (wall seconds, CPU seconds of the process, its stdout, exit status)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.stdout:
        proc.stdout.close()
    return wall, usage.ru_utime + usage.ru_stime, out.decode(errors="replace"), proc.returncode


def finished_job(server: Server) -> str:
    body = {"program": "blastn", "database": "demo-16s", "query": QUERY}
    job_id = server.request("POST", "/api/jobs", json=body).json()["id"]
    deadline = time.monotonic() + JOB_DEADLINE_S
    while time.monotonic() < deadline:
        job = server.request("GET", f"/api/jobs/{job_id}").json()
        if job["phase"] in TERMINAL:
            if job["phase"] != "completed":
                raise BenchError(f"the job ended {job['phase']}: {job.get('error')}")
            return job_id
        time.sleep(0.2)
    raise BenchError(f"the job did not end in {JOB_DEADLINE_S:.0f} s")


def summarize(samples: list[tuple[float, float]]) -> dict[str, Any]:
    walls = [w for w, _ in samples]
    cpus = [c for _, c in samples]
    return {
        "runs": len(samples),
        "median_s": r3(median(walls)),
        "min_s": r3(min(walls)),
        "max_s": r3(max(walls)),
        "cpu_median_s": r3(median(cpus)),
        "wall_s": [r3(w) for w in walls],
    }


def measure(server: Server, job_id: str, runs: int, work: Path) -> dict[str, Any]:
    command = blastdeck_command()
    env = blastdeck_env(work / "cli-data")  # the HTTP path never reads it
    env.pop("COLUMNS", None)
    cases = {
        "help": ([command, "--help"], "Commands"),
        "status_server": ([command, "status", job_id, "--server", server.url], "Complete"),
        "python_startup": ([sys.executable, "-c", "pass"], ""),
    }
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    for round_ in range(WARMUPS + runs):
        for name, (argv, expected) in cases.items():
            wall, cpu, out, code = timed(argv, env)
            if code != 0 or expected not in out:
                raise BenchError(f"{' '.join(argv)} exited {code}:\n{out[-2000:]}")
            if round_ >= WARMUPS:
                samples[name].append((wall, cpu))
    results = {name: summarize(values) for name, values in samples.items()}
    results["help"]["command"] = "blastdeck --help"
    results["status_server"]["command"] = "blastdeck status JOB_ID --server URL"
    results["python_startup"]["command"] = f"{Path(sys.executable).name} -c pass"
    return results


def judge(figures: dict[str, Any]) -> dict[str, Any]:
    help_s, status_s = figures["help"]["median_s"], figures["status_server"]["median_s"]
    return {
        "help_median_s": {"value": help_s, "max": HELP_MAX_S, "pass": help_s <= HELP_MAX_S},
        "status_server_median_s": {
            "value": status_s,
            "max": STATUS_MAX_S,
            "pass": status_s <= STATUS_MAX_S,
        },
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="blastdeck-bench-cli-"))
    server = Server(work)
    try:
        server.start()
        env = environment(server.health())
        job_id = finished_job(server)
        figures = measure(server, job_id, args.runs, work)
    finally:
        server.stop()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    env["loadavg_end"] = list(os.getloadavg())
    env["machine"] = f"{os.cpu_count()} CPUs; nothing else of BlastDeck runs while timing"
    results: dict[str, Any] = {
        "bench": "cli_start",
        "settings": {"runs": args.runs, "warmups": WARMUPS},
        "env": env,
        "figures": figures,
        "bench_seconds": round(time.monotonic() - started, 1),
    }
    results["targets"] = judge(figures)
    return results


def summary_lines(results: dict[str, Any]) -> list[str]:
    lines = []
    for name, target in results["targets"].items():
        figure = results["figures"][name.removesuffix("_median_s")]
        verdict = "PASS" if target["pass"] else "FAIL"
        lines.append(
            f"{figure['command']:40} median {figure['median_s']:.3f} s (cpu "
            f"{figure['cpu_median_s']:.3f} s, min {figure['min_s']:.3f}, max "
            f"{figure['max_s']:.3f})  target <= {target['max']} s  {verdict}"
        )
    floor = results["figures"]["python_startup"]
    lines.append(f"{floor['command']:40} median {floor['median_s']:.3f} s (the interpreter alone)")
    load = results["env"]["loadavg_start"][0], results["env"]["loadavg_end"][0]
    quiet = "" if max(load) <= QUIET_LOAD else "  -- NOT a quiet machine: figures are inflated"
    lines.append(f"load average (1 min): {load[0]:.2f} at start, {load[1]:.2f} at end{quiet}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=RUNS, help=f"timed runs per command ({RUNS})")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"JSON output ({RESULTS})")
    parser.add_argument("--data", type=Path, help="ignored (the demo database is enough)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work dir")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))
    try:
        results = run(args)
    except (BenchError, subprocess.SubprocessError, httpx.HTTPError, OSError) as exc:
        print(f"cli_start bench failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    write_json(args.out, results)
    print("\n".join(summary_lines(results)))
    print(f"results: {shown_path(args.out)}")
    return 0 if all(t["pass"] for t in results["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
