"""Usage API benchmark: `GET /api/usage` over many jobs, on SQLite and PostgreSQL.

    .venv/bin/python bench/usage.py [--sizes 20000,100000] [--backends sqlite,postgresql]
                                    [--requests 20] [--keep] [--out FILE]

Per backend and size: a fresh data dir (and, for PostgreSQL, a fresh database on
127.0.0.1:5432) is migrated by a real `blastdeck serve`, which is stopped; the jobs are then
bulk-inserted (realistic rows across 90 days: 8 users, 3 clusters of 2 namespaces, 6 databases,
every job's 8 step rows, phases mostly completed, some failed and cancelled, a few still
queued or running today; queue waits, submit-slot waits, run times and BLAST CPU drawn per
cluster; PostgreSQL then ANALYZEd, as autovacuum would), the server is started again and
`GET /api/usage` is timed over HTTP:
- `cold`: the first request after the start;
- `warm`: p50/p95 of `--requests` (20) more;
for the default period (the last 30 days) and for the whole 90 days (every job).
Target: every warm p95 and every cold request <= 500 ms. Figures go to bench/results/usage.json.
Exit status: 0 pass, 1 fail, 2 could not run.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from _common import (
    BENCH_DIR,
    BenchError,
    Server,
    environment,
    median,
    nearest_rank,
    r3,
    shown_path,
    write_json,
)
from sqlalchemy import create_engine, insert

from blastdeck.domain.pipeline_model import STEPS
from blastdeck.store.models import Job, JobStep, User

RESULTS = BENCH_DIR / "results" / "usage.json"
TARGET_MS = 500.0
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DAYS = 90
USERS = [f"user{i}" for i in range(8)]
# cluster -> (namespaces, median queue wait s, median slot wait s, median run s)
CLUSTERS = {
    "local": (("default", "fast"), 0.05, 0.0, 20.0),
    "hpc-a": (("default", "long"), 2.0, 5.0, 600.0),
    "hpc-b": (("default", "gpu"), 1.0, 30.0, 120.0),
}
DATABASES = ["nt", "16s", "refseq_protein", "swissprot", "lab/plasmids", "@core/viral"]
CHUNK = 20_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20000,100000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-usage-"))
    runs: list[dict[str, Any]] = []
    env: dict[str, Any] = {}
    try:
        for backend in args.backends.split(","):
            for size in (int(s) for s in args.sizes.split(",")):
                run, env = measure(work, backend, size, args.requests)
                runs.append(run)
                print(summary(run), flush=True)
    except (BenchError, psycopg.Error) as exc:
        print(f"bench/usage.py could not run: {exc}", file=sys.stderr)
        return 2
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    passed = all(r["passed"] for r in runs)
    write_json(
        args.out,
        {"target_ms": TARGET_MS, "passed": passed, "environment": env, "runs": runs},
    )
    print(f"{'PASS' if passed else 'FAIL'}; figures in {shown_path(args.out)}")
    return 0 if passed else 1


def measure(work: Path, backend: str, size: int, requests: int) -> tuple[dict[str, Any], dict]:
    name = f"{backend}-{size}"
    settings: dict[str, str] = {}
    pg_name = None
    if backend == "postgresql":
        pg_name = f"blastdeck_bench_usage_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{pg_name}"')
        settings["BLASTDECK_DATABASE_URL"] = (
            f"postgresql+psycopg://postgres@127.0.0.1:5432/{pg_name}"
        )
    server = Server(work, name=name, settings=settings)
    try:
        server.start()  # migrates the new database
        server.stop()
        url = settings.get("BLASTDECK_DATABASE_URL") or (
            f"sqlite:///{server.data_dir / 'blastdeck.sqlite3'}"
        )
        started = time.monotonic()
        fill(url, size)
        fill_s = time.monotonic() - started
        server.start()
        env = environment(server.health())
        periods = {"30 days (default)": {}, "90 days (all jobs)": _whole_period()}
        figures = {}
        for label, params in periods.items():
            figures[label] = time_requests(server, params, requests)
        server.stop()
        # The first request of each period after a start: again, one server per period.
        for label, params in periods.items():
            server.start()
            figures[label]["cold_ms"] = r3(time_one(server, params)[0])
            server.stop()
    finally:
        server.stop()
        if pg_name is not None:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    passed = all(
        f["warm_p95_ms"] <= TARGET_MS and f["cold_ms"] <= TARGET_MS for f in figures.values()
    )
    run = {
        "backend": backend,
        "jobs": size,
        "fill_s": round(fill_s, 1),
        "periods": figures,
        "passed": passed,
    }
    return run, env


def _whole_period() -> dict[str, str]:
    today = datetime.now(UTC).date()
    return {"from": (today - timedelta(days=DAYS - 1)).isoformat(), "to": today.isoformat()}


def time_one(server: Server, params: dict[str, str]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    body = server.request("GET", "/api/usage", params=params).json()
    return (time.perf_counter() - started) * 1000, body


def time_requests(server: Server, params: dict[str, str], n: int) -> dict[str, Any]:
    time_one(server, params)  # warms this period's plan and pages
    times, body = [], {}
    for _ in range(n):
        ms, body = time_one(server, params)
        times.append(ms)
    return {
        "params": params,
        "jobs_in_period": body.get("jobs"),
        "warm_p50_ms": r3(median(times)),
        "warm_p95_ms": r3(nearest_rank(times, 0.95)),
        "warm_max_ms": r3(max(times)),
    }


def fill(url: str, size: int) -> None:
    """`size` jobs created over the last DAYS days, with their step rows, in a few big inserts."""
    rng = random.Random(size)
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    now = datetime.now(UTC)
    users = [{"id": str(uuid.UUID(int=i + 1)), "name": n} for i, n in enumerate(USERS)]
    with engine.begin() as conn:
        conn.execute(insert(User), [{**u, "is_admin": False, "groups": []} for u in users])
    for offset in range(0, size, CHUNK):
        jobs, steps = [], []
        for _ in range(min(CHUNK, size - offset)):
            job, job_steps = _job(rng, now, users)
            jobs.append(job)
            steps.extend(job_steps)
        with engine.begin() as conn:
            conn.execute(insert(Job), jobs)
            conn.execute(insert(JobStep), steps)
    if engine.dialect.name == "postgresql":
        # What autovacuum does within a minute of a bulk insert: without statistics the
        # planner guesses 47 rows and sorts 100,000 on disk. SQLite gets no ANALYZE: BlastDeck
        # never runs one, and the report's plans do not depend on it.
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def _job(rng: random.Random, now: datetime, users: list[dict[str, str]]) -> tuple[dict, list]:
    job_id = str(uuid.UUID(int=rng.getrandbits(128)))
    cluster = rng.choice(list(CLUSTERS))
    namespaces, queue_s, slot_s, run_s = CLUSTERS[cluster]
    created = now - timedelta(seconds=rng.uniform(0, DAYS * 86400))
    roll = rng.random()
    recent = now - created < timedelta(hours=2)
    phase = (
        ("queued" if roll < 0.5 else "running")
        if recent and roll < 0.8
        else "failed"
        if roll < 0.08
        else "cancelled"
        if roll < 0.12
        else "completed"
    )
    queue = rng.lognormvariate(0, 1) * queue_s
    slot = rng.lognormvariate(0, 1) * slot_s if slot_s and rng.random() < 0.4 else 0.0
    run = rng.lognormvariate(0, 0.8) * run_s
    threads = rng.choice((1, 2, 4, 8))
    done = phase in ("completed", "failed", "cancelled")
    job = {
        "id": job_id,
        "title": "bench",
        "program": rng.choice(("blastn", "blastp", "blastx")),
        "database": rng.choice(DATABASES),
        "cluster": cluster,
        "namespace": rng.choice(namespaces),
        "options": {"num_threads": threads},
        "query_count": rng.randint(1, 500),
        "query_letters": rng.randint(100, 500_000),
        "phase": phase,
        "owner_id": rng.choice(users)["id"],
        "created_at": created,
        "updated_at": created,
        "finished_at": created + timedelta(seconds=queue + slot + run) if done else None,
        "queue_wait_ms": round(queue * 1000) if done else None,
        "submit_wait_ms": round(slot * 1000) if phase != "queued" else None,
        "run_ms": round(run * 1000) if phase == "completed" else None,
        "cpu_seconds": run * threads * rng.uniform(0.7, 1.0) if phase == "completed" else None,
    }
    steps, at = [], created + timedelta(seconds=queue)
    for position, step in enumerate(STEPS):
        seconds = {"submitting": slot + 0.2, "running": run}.get(step.value, 0.05)
        started = at if phase != "queued" else None
        ended = at + timedelta(seconds=seconds) if done and phase == "completed" else None
        steps.append(
            {
                "job_id": job_id,
                "key": step.value,
                "position": position,
                "status": "completed" if ended else "pending",
                "started_at": started if phase == "completed" or position == 0 else None,
                "completed_at": ended,
                "duration_ms": round(seconds * 1000) if ended else None,
            }
        )
        at += timedelta(seconds=seconds)
    return job, steps


def summary(run: dict[str, Any]) -> str:
    parts = [f"{run['backend']} {run['jobs']} jobs (filled in {run['fill_s']} s):"]
    for label, f in run["periods"].items():
        parts.append(
            f"  {label}: {f['jobs_in_period']} jobs, cold {f['cold_ms']} ms, "
            f"warm p50 {f['warm_p50_ms']} / p95 {f['warm_p95_ms']} ms"
        )
    return "\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
