"""SLURM bench: the same 50-query job on a one-node SLURM cluster and on the local engine.

    .venv/bin/python bench/slurm.py [--runs N] [--data DIR]

Starts a private single-node SLURM (tests/support/slurm_cluster.py: munged, slurmctld,
slurmd under a temp dir, sched_interval=1) and a real `blastdeck serve` with a `slurm` cluster
on it, registers the 10,000-sequence 16S database (bench data from make-bench-data, shared
with foundation.py) and runs the 50-query workload: a cold job on each cluster (the SLURM one
stages the database), then N interleaved warm pairs. Reported: median SLURM wall / local wall
(target <= 1.3) and where the difference goes (per-step medians; SLURM's queue wait per task
from the jobcomp log: submit to start; poll lag: last task's end to the end of BlastDeck's
running step). Figures go to bench/results/slurm.json. Exit 0 pass, 1 fail, 2 could not run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import _common
import httpx
from _common import BENCH_DIR, REPO, TERMINAL, BenchError, environment, median, r3, write_json
from foundation import BIG_DB, DEFAULT_DATA, QUERIES, ensure_data

sys.path.insert(0, str(REPO))  # the private-cluster fixture lives with the tests
from tests.support.slurm_cluster import PrivateSlurm, SlurmUnavailable

RESULTS = BENCH_DIR / "results" / "slurm.json"
TARGET_RATIO = 1.3
JOB_DEADLINE_S = 1800.0
POLL_S = 0.05
DB_NAME = "bench-16s-10000"


def run_job(server: _common.Server, cluster: str, query: str) -> dict[str, Any]:
    body = {"program": "blastn", "database": DB_NAME, "query": query, "cluster": cluster}
    started = time.perf_counter()
    job = server.request("POST", "/api/jobs", json=body).json()
    deadline = time.monotonic() + JOB_DEADLINE_S
    while job["phase"] not in TERMINAL:
        if time.monotonic() > deadline:
            raise BenchError(f"job {job['id']} still {job['phase']} after {JOB_DEADLINE_S} s")
        time.sleep(POLL_S)
        job = server.request("GET", f"/api/jobs/{job['id']}").json()
    wall = time.perf_counter() - started
    if job["phase"] != "completed":
        raise BenchError(f"job {job['id']} {job['phase']}: {job['error_code']}: {job['error']}")
    events = server.request("GET", f"/api/jobs/{job['id']}/events").json()["items"]
    handle = next((e["message"] for e in events if "(slurm:" in e["message"]), "")
    return {
        "id": job["id"],
        "cluster": cluster,
        "wall_s": r3(wall),
        "batches": job["progress"]["batches_total"],
        "hits": job["hsps_total"],
        "steps_ms": {s["key"]: s["duration_ms"] for s in job["steps"]},
        "staging": next(s["status"] for s in job["steps"] if s["key"] == "staging_db"),
        "running_ended": next(s["completed_at"] for s in job["steps"] if s["key"] == "running"),
        "slurm_job": int(handle.split("(slurm:")[1].split(")")[0].split("+")[0])
        if handle
        else None,
    }


def slurm_timing(jobcomp: Path, run: dict[str, Any]) -> dict[str, Any]:
    """Per-task queue wait (submit to start) and the lag from the last task's end to the end of
    BlastDeck's running step, from SLURM's jobcomp log (whole seconds)."""
    waits, ends = [], []
    for line in jobcomp.read_text().splitlines():
        fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
        if fields.get("ArrayJobId") != str(run["slurm_job"]):
            continue
        submit, start, end = (
            datetime.fromisoformat(fields[k]) for k in ("SubmitTime", "StartTime", "EndTime")
        )
        waits.append((start - submit).total_seconds())
        ends.append(end)
    if not ends:
        return {}
    ended = datetime.fromisoformat(run["running_ended"]).replace(tzinfo=None)
    return {
        "tasks": len(waits),
        "queue_wait_s_mean": r3(sum(waits) / len(waits)),
        "queue_wait_s_max": max(waits),
        "poll_lag_s": r3((ended - max(ends)).total_seconds()),
    }


def medians(runs: list[dict[str, Any]]) -> dict[str, float]:
    keys = runs[0]["steps_ms"].keys()
    return {k: median([r["steps_ms"][k] or 0 for r in runs]) for k in keys}


def bench(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    data = args.data.resolve()
    ensure_data(data)
    query = (data / QUERIES).read_text()
    work = Path(tempfile.mkdtemp(prefix="blastdeck-slurm-bench-"))
    slurm = PrivateSlurm(work / "slurm")
    server = _common.Server(work)
    try:
        (work / "slurm").mkdir()
        slurm.start()
        server.data_dir.mkdir(parents=True)
        settings = {
            "slurm_conf": str(slurm.conf),
            "work_dir": str(work / "shared"),
            "scratch_dir": str(work / "node-scratch"),
        }
        toml = '[[clusters]]\nname = "hpc"\nengine = "slurm"\nsettings = '
        toml += json.dumps(settings).replace('": ', '" = ') + "\n"
        (server.data_dir / "blastdeck.toml").write_text(toml)
        server.start()
        env = environment(server.health())
        server.register(DB_NAME, data / BIG_DB)
        print("cold jobs (SLURM stages the database) ...", flush=True)
        cold = {c: run_job(server, c, query) for c in ("local", "hpc")}
        pairs = []
        for i in range(args.runs):
            order = ("local", "hpc") if i % 2 == 0 else ("hpc", "local")
            runs = {c: run_job(server, c, query) for c in order}
            runs["hpc"]["slurm"] = slurm_timing(slurm.jobcomp, runs["hpc"])
            if runs["hpc"]["hits"] != runs["local"]["hits"]:
                raise BenchError(f"hit counts differ: {runs['hpc']['hits']} vs local")
            ratio = runs["hpc"]["wall_s"] / runs["local"]["wall_s"]
            pairs.append({"local": runs["local"], "slurm": runs["hpc"], "ratio": r3(ratio)})
            print(
                f"pair {i + 1}: local {runs['local']['wall_s']:.2f} s, "
                f"slurm {runs['hpc']['wall_s']:.2f} s, ratio {ratio:.3f}",
                flush=True,
            )
        slurm_runs = [p["slurm"] for p in pairs]
        local_runs = [p["local"] for p in pairs]
        ratio = median([p["ratio"] for p in pairs])
        return {
            "bench": "slurm",
            "workload": f"{QUERIES} vs {BIG_DB}, blastn defaults",
            "env": env,
            "cold": {c: {k: cold[c][k] for k in ("wall_s", "staging", "steps_ms")} for c in cold},
            "pairs": pairs,
            "median_local_s": median([r["wall_s"] for r in local_runs]),
            "median_slurm_s": median([r["wall_s"] for r in slurm_runs]),
            "median_ratio": ratio,
            "steps_median_ms": {"local": medians(local_runs), "slurm": medians(slurm_runs)},
            "slurm_median": {
                k: median([r["slurm"][k] for r in slurm_runs if r["slurm"]])
                for k in ("queue_wait_s_mean", "queue_wait_s_max", "poll_lag_s")
                if all(r["slurm"] for r in slurm_runs)
            },
            "batches": {"local": local_runs[0]["batches"], "slurm": slurm_runs[0]["batches"]},
            "target": f"median_ratio <= {TARGET_RATIO}",
            "pass": ratio <= TARGET_RATIO,
            "bench_seconds": round(time.monotonic() - started, 1),
        }
    except BaseException:
        print(f"--- server log ---\n{server.log_tail()}\n{slurm.log_tail()}", file=sys.stderr)
        raise
    finally:
        server.stop()
        slurm.stop()
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="warm pairs (3)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="bench data dir")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON output")
    args = parser.parse_args(argv)
    try:
        results = bench(args)
    except (BenchError, SlurmUnavailable, subprocess.SubprocessError, httpx.HTTPError) as exc:
        print(f"slurm bench failed: {exc}", file=sys.stderr)
        return 2
    write_json(args.out, results)
    steps = results["steps_median_ms"]
    print(
        f"\nSLURM/local median wall {results['median_ratio']:.3f} "
        f"({results['median_slurm_s']:.2f} s / {results['median_local_s']:.2f} s) "
        f"target <= {TARGET_RATIO}: {'PASS' if results['pass'] else 'FAIL'}"
    )
    for name in ("staging_db", "submitting", "running", "exporting_results"):
        local, on_slurm = steps["local"][name], steps["slurm"][name]
        print(f"  {name:18} local {local:>7.0f} ms   slurm {on_slurm:>7.0f} ms")
    print(f"  slurm queue/poll: {results['slurm_median']}; batches {results['batches']}")
    cold = results["cold"]
    print(
        f"  cold: {cold['hpc']['wall_s']} s on SLURM (staging "
        f"{cold['hpc']['steps_ms']['staging_db']} ms), {cold['local']['wall_s']} s local"
    )
    return 0 if results["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
