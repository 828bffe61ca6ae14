"""Recovery without a babysitter, with the default settings: `serve` + workers, no `beat`.

Each round starts a distributed deployment (PostgreSQL, Redis, `blastdeck serve`, one
`blastdeck worker --concurrency 2`) with the defaults for the lease (30 s), the reconcile
interval (25 s) and the broker's visibility timeout (1 hour), submits two slow jobs, kills the
worker's whole process group with SIGKILL once both run, and starts a new worker at once (as a
process supervisor would). It measures, per job, the time from the kill to the job's
`recovered` event and to its completion.

Target (issue 11): every job resumes within lease + reconcile interval (<= 60 s) and completes.

    .venv/bin/python bench/recovery.py [--rounds N] [--keep]
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
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _common as c
import psycopg

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379/0"
SLOW_OPTIONS = {"task": "blastn", "word_size": 4}  # several CPU-seconds for 12 demo 16S genes
TARGET_S = 60.0
RESULTS = c.BENCH_DIR / "results" / "recovery.json"


def demo_queries(count: int, start: int) -> str:
    demo = c.REPO / "blastdeck" / "demo" / "demo-16s.fa"
    return "".join(list(c.fasta_records(demo, start + count))[start:])


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [c.blastdeck_command(), "worker", "--concurrency", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def one_round(work: Path, n: int) -> list[dict[str, Any]]:
    db_name = f"blastdeck_bench_recovery_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')
    settings = {
        "BLASTDECK_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{db_name}",
        "BLASTDECK_BROKER_URL": REDIS,
        "BLASTDECK_QUEUE": f"bench-recovery-{uuid.uuid4().hex[:8]}",
    }
    server = c.Server(work, f"round{n}", settings)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        server.start()
        env = c.blastdeck_env(server.data_dir, settings)
        log = work / f"round{n}-workers.log"
        workers.append(start_worker(env, log))
        ids = [
            server.request(
                "POST",
                "/api/jobs",
                json={
                    "program": "blastn",
                    "database": "demo-16s",
                    "query": demo_queries(12, 12 * i),
                    "options": SLOW_OPTIONS,
                },
            ).json()["id"]
            for i in range(2)
        ]
        deadline = time.monotonic() + 120
        while any(
            server.request("GET", f"/api/jobs/{j}").json()["phase"] != "running" for j in ids
        ):
            if time.monotonic() > deadline:
                raise c.BenchError("the jobs did not start running in 120 s")
            time.sleep(0.2)
        time.sleep(1.0)
        os.killpg(workers[0].pid, signal.SIGKILL)  # the worker and its pool, mid-run
        workers[0].wait(timeout=30)
        killed, killed_at = time.monotonic(), datetime.now(UTC)
        workers.append(start_worker(env, log))
        results = {}
        deadline = killed + 600
        while len(results) < len(ids):
            for job_id in ids:
                job = server.request("GET", f"/api/jobs/{job_id}").json()
                if job["phase"] in c.TERMINAL and job_id not in results:
                    results[job_id] = (job, time.monotonic() - killed)
            if time.monotonic() > deadline:
                raise c.BenchError("the jobs did not end within 600 s of the kill")
            time.sleep(0.2)
        rows = []
        for job_id, (job, ended_s) in results.items():
            events = server.request("GET", f"/api/jobs/{job_id}/events").json()["items"]
            recovered = [c.parse_time(e["at"]) for e in events if e["kind"] == "recovered"]
            rows.append(
                {
                    "job": job_id,
                    "phase": job["phase"],
                    "recovered_after_kill_s": (
                        round((recovered[0] - killed_at).total_seconds(), 1) if recovered else None
                    ),
                    "completed_after_kill_s": round(ended_s, 1),
                }
            )
        return rows
    finally:
        for proc in workers:
            if proc.poll() is None:
                c.stop_process_group(proc, timeout_s=20)
        server.stop(group=True)
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-recovery-"))
    try:
        rows = [row for n in range(args.rounds) for row in one_round(work, n)]
    except c.BenchError as exc:
        print(f"recovery bench could not run: {exc}", file=sys.stderr)
        return 2
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    completed = all(r["phase"] == "completed" for r in rows)
    recovered = [r["recovered_after_kill_s"] for r in rows]
    worst = max((r for r in recovered if r is not None), default=None)
    passed = completed and None not in recovered and worst is not None and worst <= TARGET_S
    for r in rows:
        print(
            f"{r['job'][:8]}  {r['phase']:9}  recovered {r['recovered_after_kill_s']} s and "
            f"completed {r['completed_after_kill_s']} s after the worker was killed"
        )
    print(f"worst recovery {worst} s (target <= {TARGET_S:g} s): {'PASS' if passed else 'FAIL'}")
    c.write_json(
        RESULTS,
        {
            "settings": {"lease_s": 30, "reconcile_interval_s": 25, "visibility_timeout_s": 3600},
            "rows": rows,
            "worst_recovery_s": worst,
            "target_s": TARGET_S,
            "pass": passed,
        },
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
