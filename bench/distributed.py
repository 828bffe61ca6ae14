"""Distributed-mode benchmark: the Redis submit lock, and throughput distributed vs embedded.

    .venv/bin/python bench/distributed.py [--iterations N] [--jobs J] [--rounds R] [--keep]

1. lock        - latency of `RedisSubmitLock` acquire + release against the local Redis, N pairs
                 on one throwaway key (and of `InProcessSubmitLock`, for context).
                 Target: p99 of the pair < 2 ms.
2. throughput  - the same J one-query blastn jobs (records of blastdeck/demo/demo-16s.fa against
                 the demo database demo-16s), round-robin over clusters c1..c4 (engine local,
                 1 slot each), on the embedded default (SQLite, BLASTDECK_WORKERS=2) and on a
                 distributed deployment (PostgreSQL, Redis broker, `blastdeck serve` + 2 x
                 `blastdeck worker --concurrency 2`); R interleaved rounds. No target: jobs per
                 minute, per-job latency, where the time goes and submit-slot waits, side by side.

Only 127.0.0.1 is contacted. Everything made here is removed at the end, also on errors: the
processes (by process group), the temporary dir, the PostgreSQL database and the Redis keys of
this run's queue and lock prefixes. Figures go to bench/results/distributed.json; a summary is
printed. Exit status: 0 the lock target passes and no job failed, 1 otherwise, 2 the benchmark
could not run. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
from _common import (
    BENCH_DIR,
    REPO,
    TERMINAL,
    BenchError,
    Server,
    blastdeck_command,
    blastdeck_env,
    descendants,
    environment,
    fasta_records,
    file_tail,
    median,
    ms_between,
    nearest_rank,
    parse_time,
    r3,
    server_cpu_s,
    shown_path,
    stop_process_group,
    write_json,
)

from blastdeck.config import Settings
from blastdeck.domain.pipeline_model import STEPS
from blastdeck.executors.celery import make_client
from blastdeck.locks import (
    InProcessSubmitLock,
    RedisSubmitLock,
    SubmitLock,
    new_lock_token,
    submit_lock_key,
)

RESULTS = BENCH_DIR / "results" / "distributed.json"
DEMO_FASTA = REPO / "blastdeck" / "demo" / "demo-16s.fa"
DEMO_DB = "demo-16s"

REDIS_URL = "redis://127.0.0.1:6379/0"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432"

# The lock measurement.
LOCK_ITERATIONS = 10_000
LOCK_WARMUP = 100  # pairs before the measured ones (connection, script load), not counted
LOCK_TTL_S = 60  # short: a crashed run's key expires on its own
LOCK_P99_MAX_MS = 2.0
LOCK_CLUSTER = "bench-cluster"

# The throughput measurement.
JOBS = 40
ROUNDS = 2
CLUSTERS = ("c1", "c2", "c3", "c4")
CLUSTER_SLOTS = 1
WORKER_PROCESSES = 2
WORKER_CONCURRENCY = 2
EMBEDDED_WORKERS = 2  # BLASTDECK_WORKERS default
POLL_INTERVAL_S = 0.100

# Loops are bounded by these.
WORKER_READY_DEADLINE_S = 120.0
PROBE_DEADLINE_S = 300.0
ROUND_DEADLINE_S = 1200.0
STOP_TIMEOUT_S = 30.0

STEP_KEYS = tuple(step.value for step in STEPS)
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- 1. the submit lock ------------------------------------------------------------------------


def latency_stats(samples_ns: list[int]) -> dict[str, Any]:
    ms = [v / 1e6 for v in samples_ns]
    return {
        "n": len(ms),
        "p50_ms": round(median(ms), 4),
        "p90_ms": round(nearest_rank(ms, 0.90), 4),
        "p99_ms": round(nearest_rank(ms, 0.99), 4),
        "max_ms": round(max(ms), 4),
        "mean_ms": round(sum(ms) / len(ms), 4),
    }


def time_lock(lock: SubmitLock, key: str, iterations: int, warmup: int) -> dict[str, Any]:
    """`iterations` acquire + release pairs on `key` after `warmup` uncounted ones."""
    acquire, release, pair = [], [], []
    failures = 0
    first_pair_ms = None
    for i in range(warmup + iterations):
        token = new_lock_token(f"bench-{i}")
        t0 = time.perf_counter_ns()
        got = lock.acquire(key, token, LOCK_TTL_S)
        t1 = time.perf_counter_ns()
        released = lock.release(key, token)
        t2 = time.perf_counter_ns()
        if not (got and released):
            failures += 1
        if i == 0:
            first_pair_ms = round((t2 - t0) / 1e6, 3)
        if i >= warmup:
            acquire.append(t1 - t0)
            release.append(t2 - t1)
            pair.append(t2 - t0)
    return {
        "acquire_release": latency_stats(pair),
        "acquire": latency_stats(acquire),
        "release": latency_stats(release),
        "pairs_over_target": sum(1 for v in pair if v / 1e6 >= LOCK_P99_MAX_MS),
        "failed_pairs": failures,
        "first_pair_ms": first_pair_ms,
    }


def time_ping(client: redis.Redis, iterations: int) -> dict[str, Any]:
    """Round trips of a bare PING on the same Redis: the floor under any lock call."""
    for _ in range(LOCK_WARMUP):
        client.ping()
    samples = []
    for _ in range(iterations):
        t0 = time.perf_counter_ns()
        client.ping()
        samples.append(time.perf_counter_ns() - t0)
    return latency_stats(samples)


def delete_keys(client: redis.Redis, patterns: Iterable[str]) -> int:
    deleted = 0
    for pattern in patterns:
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            deleted += client.delete(*keys)
    return deleted


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(
        REDIS_URL, socket_timeout=5.0, socket_connect_timeout=5.0, decode_responses=True
    )


def measure_lock(iterations: int) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    prefix = f"bench:{tag}:elb:blast:elastic-blast-submit"
    key = submit_lock_key(LOCK_CLUSTER, "default", prefix)
    print(f"lock: {iterations} acquire+release pairs on {key} ...", flush=True)
    client = redis_client()
    try:
        started = time.monotonic()
        redis_lock = RedisSubmitLock.from_url(REDIS_URL)
        measured = time_lock(redis_lock, key, iterations, LOCK_WARMUP)
        redis_s = time.monotonic() - started
        ping = time_ping(client, iterations)
        in_process = time_lock(InProcessSubmitLock(), key, iterations, LOCK_WARMUP)
        server = client.info("server")
    finally:
        left = delete_keys(client, [f"{prefix}*"])
        remaining = sum(1 for _ in client.scan_iter(match=f"{prefix}*"))
        client.close()
    p99 = measured["acquire_release"]["p99_ms"]
    print(
        f"  redis p50 {measured['acquire_release']['p50_ms']:.3f} ms, p99 {p99:.3f} ms "
        f"({redis_s:.1f} s)",
        flush=True,
    )
    return {
        "key": key,
        "redis_url": REDIS_URL,
        "redis_version": server.get("redis_version"),
        "iterations": iterations,
        "warmup_pairs_not_counted": LOCK_WARMUP,
        "ttl_s": LOCK_TTL_S,
        "timed": "time.perf_counter_ns around lock.acquire(key, token, ttl) and "
        "lock.release(key, token); pair = both; p50 = median, p90/p99 nearest rank",
        "redis": measured,
        "redis_ping_rtt": ping,
        "in_process": in_process,
        "keys_left_before_cleanup": left,
        "keys_left_after_cleanup": remaining,
        "target": f"redis.acquire_release.p99_ms < {LOCK_P99_MAX_MS}",
        "pass": p99 < LOCK_P99_MAX_MS
        and measured["failed_pairs"] == 0
        and in_process["failed_pairs"] == 0,
    }


# -- 2. the deployments ------------------------------------------------------------------------


class Worker:
    """`blastdeck worker` in its own session; stopped by signalling its process group."""

    def __init__(self, work: Path, index: int, data_dir: Path, settings: dict[str, str]) -> None:
        self.log_path = work / f"worker-{index}.log"
        self.data_dir = data_dir
        self.settings = settings
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def celery_name(self) -> str:
        return f"blastdeck-{self.pid}@{socket.gethostname()}"

    def start(self) -> None:
        argv = [blastdeck_command(), "worker", "--concurrency", str(WORKER_CONCURRENCY)]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=blastdeck_env(self.data_dir, self.settings),
                cwd=self.data_dir.parent,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self.proc is not None:
            stop_process_group(self.proc, STOP_TIMEOUT_S)


@dataclass
class Deployment:
    mode: str
    server: Server
    workers: list[Worker]
    details: dict[str, Any]
    probe: dict[str, Any] | None = None

    def root_pids(self) -> dict[str, list[int]]:
        roots = {"server": [self.server.pid]}
        if self.workers:
            roots["workers"] = [w.pid for w in self.workers]
        return roots

    def log_tails(self) -> str:
        parts = [f"--- {self.server.log_path.name} ---\n{self.server.log_tail()}"]
        parts += [f"--- {w.log_path.name} ---\n{file_tail(w.log_path)}" for w in self.workers]
        return "\n".join(parts)


def add_clusters(server: Server) -> None:
    for name in CLUSTERS:
        body = {"name": name, "engine": "local", "namespace": "default", "slots": CLUSTER_SLOTS}
        server.request("POST", "/api/clusters", json=body)


def start_embedded(work: Path, stack: ExitStack) -> Deployment:
    server = Server(work, "embedded")
    stack.callback(server.stop, group=True)
    print(f"embedded: blastdeck serve on {server.url} (SQLite) ...", flush=True)
    server.start()
    add_clusters(server)
    health = server.health()
    return Deployment(
        "embedded",
        server,
        [],
        {
            "processes": "blastdeck serve (the embedded thread-pool executor runs the jobs)",
            "job_threads": EMBEDDED_WORKERS,
            "database": health.get("database"),
            "health": health,
        },
    )


def create_pg_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_pg_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_distributed(work: Path, stack: ExitStack, cleanup: dict[str, Any]) -> Deployment:
    tag = uuid.uuid4().hex[:8]
    db_name = f"blastdeck_bench_{tag}"
    queue = f"blastdeck-bench-{tag}"
    lock_prefix = f"bench:{tag}:elb:blast:elastic-blast-submit"
    # Registered first, so they run last: after every process is gone.
    stack.callback(drop_distributed_state, db_name, queue, lock_prefix, cleanup)
    create_pg_database(db_name)
    settings = {
        "BLASTDECK_DATABASE_URL": f"{PG_URL_BASE}/{db_name}",
        "BLASTDECK_BROKER_URL": REDIS_URL,
        "BLASTDECK_QUEUE": queue,
        "BLASTDECK_LOCK_PREFIX": lock_prefix,
    }
    server = Server(work, "distributed", settings)
    stack.callback(server.stop, group=True)
    print(f"distributed: blastdeck serve on {server.url} (PostgreSQL {db_name}) ...", flush=True)
    server.start()  # migrates the schema and builds the demo databases in the shared data dir
    workers = [Worker(work, i + 1, server.data_dir, settings) for i in range(WORKER_PROCESSES)]
    for worker in workers:
        stack.callback(worker.stop)
        worker.start()
    print(
        f"distributed: {WORKER_PROCESSES} x blastdeck worker --concurrency {WORKER_CONCURRENCY}"
        f" (queue {queue}) ...",
        flush=True,
    )
    ready_s = wait_workers_ready(workers, server.data_dir, settings)
    add_clusters(server)
    health = server.health()
    if health.get("mode") != "distributed" or health.get("broker") != "ok":
        raise BenchError(f"the distributed server is not in distributed mode: {health}")
    return Deployment(
        "distributed",
        server,
        workers,
        {
            "processes": f"blastdeck serve + {WORKER_PROCESSES} x blastdeck worker "
            f"--concurrency {WORKER_CONCURRENCY} (Celery prefork)",
            "job_slots": WORKER_PROCESSES * WORKER_CONCURRENCY,
            "database": health.get("database"),
            "pg_database": db_name,
            "queue": queue,
            "lock_prefix": lock_prefix,
            "workers_ready_s": round(ready_s, 2),
            "health": health,
        },
    )


def wait_workers_ready(workers: list[Worker], data_dir: Path, env: dict[str, str]) -> float:
    """Ping each worker by its Celery name until it answers (tests/conftest.py `Workers`)."""
    started = time.monotonic()
    settings = Settings(
        data_dir=data_dir,
        database_url=env["BLASTDECK_DATABASE_URL"],
        broker_url=env["BLASTDECK_BROKER_URL"],
        queue=env["BLASTDECK_QUEUE"],
        lock_prefix=env["BLASTDECK_LOCK_PREFIX"],
    )
    app = make_client(settings)
    try:
        deadline = started + WORKER_READY_DEADLINE_S
        for worker in workers:
            while True:
                assert worker.proc is not None
                if worker.proc.poll() is not None:
                    raise BenchError(
                        f"worker exited with {worker.proc.returncode}\n{file_tail(worker.log_path)}"
                    )
                replies = app.control.ping(destination=[worker.celery_name], timeout=0.5)
                if any(worker.celery_name in reply for reply in replies):
                    break
                if time.monotonic() > deadline:
                    raise BenchError(
                        f"worker {worker.celery_name} not ready after "
                        f"{WORKER_READY_DEADLINE_S:.0f} s\n{file_tail(worker.log_path)}"
                    )
    finally:
        app.close()
    return time.monotonic() - started


def drop_distributed_state(db_name: str, queue: str, prefix: str, cleanup: dict[str, Any]) -> None:
    """Drop the PostgreSQL database and delete the Redis keys of this run's queue and prefix."""
    try:
        drop_pg_database(db_name)
        cleanup["pg_database_dropped"] = db_name
    except psycopg.Error as exc:
        cleanup["pg_database_drop_error"] = str(exc)
        print(f"could not drop PostgreSQL database {db_name}: {exc}", file=sys.stderr)
    try:
        client = redis_client()
        patterns = [f"*{queue}*", f"{prefix}*"]
        cleanup["redis_keys_deleted"] = delete_keys(client, patterns)
        cleanup["redis_keys_left"] = sum(
            1 for pattern in patterns for _ in client.scan_iter(match=pattern)
        )
        client.close()
    except redis.RedisError as exc:
        cleanup["redis_cleanup_error"] = str(exc)
        print(f"could not delete the Redis keys of {queue}: {exc}", file=sys.stderr)


# -- 2. the jobs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    index: int
    cluster: str
    job_id: str
    sent: float  # time.time() just before the POST


def submit(server: Server, index: int, fasta: str, cluster: str) -> Submitted:
    body = {"program": "blastn", "database": DEMO_DB, "query": fasta, "cluster": cluster}
    sent = time.time()
    job = server.request("POST", "/api/jobs", json=body).json()
    return Submitted(index, cluster, job["id"], sent)


def run_probe(dep: Deployment, fasta: str) -> None:
    """One job on c1 before the measured rounds (warms up the processes); not counted."""
    sub = submit(dep.server, -1, fasta, CLUSTERS[0])
    deadline = time.monotonic() + PROBE_DEADLINE_S
    while True:
        job = dep.server.request("GET", f"/api/jobs/{sub.job_id}").json()
        if job["phase"] in TERMINAL:
            break
        if time.monotonic() > deadline:
            raise BenchError(
                f"probe job {sub.job_id} still {job['phase']} after {PROBE_DEADLINE_S} s"
            )
        time.sleep(POLL_INTERVAL_S)
    wall = time.time() - sub.sent
    if job["phase"] != "completed":
        raise BenchError(
            f"{dep.mode} probe job {job['phase']}: {job['error_code']}: {job['error']}"
        )
    dep.probe = {
        "job_id": sub.job_id,
        "cluster": sub.cluster,
        "client_wall_s": r3(wall),
        "steps_ms": {s["key"]: s["duration_ms"] for s in job["steps"]},
        "staging_db": next(s["status"] for s in job["steps"] if s["key"] == "staging_db"),
    }
    print(f"  {dep.mode} probe job: {wall:.2f} s", flush=True)


def count_active(server: Server) -> int:
    """Jobs not yet terminal: the totals of the queued and running filters (one job each)."""
    return sum(
        server.request("GET", "/api/jobs", params={"status": s, "limit": 1}).json()["total"]
        for s in ("queued", "running")
    )


def cpu_seconds(pid: int) -> tuple[float, float] | None:
    """`server_cpu_s` of any process (its own CPU, its reaped children's); None once gone."""
    try:
        return server_cpu_s(pid)
    except OSError:
        return None


def host_cpu_ticks() -> tuple[int, int]:
    """(busy, total) ticks of the whole host from /proc/stat."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # without guest time, already in user
    return total - idle, total


class CpuMeter:
    """CPU seconds used by the deployment's process trees (Python vs the BLAST+ tools they
    reaped) and by the whole host, between `start()` and `stop()`."""

    def __init__(self, roots: dict[str, list[int]]) -> None:
        self.roots = roots
        self.before: dict[int, tuple[float, float]] = {}
        self.host_before = (0, 0)
        self.client_before = 0.0
        self.wall_before = 0.0

    def _snapshot(self) -> dict[int, tuple[float, float]]:
        found: dict[int, tuple[float, float]] = {}
        for pids in self.roots.values():
            for root in pids:
                for pid in [root, *descendants(root)]:
                    spent = cpu_seconds(pid)
                    if spent is not None:
                        found[pid] = spent
        return found

    def start(self) -> None:
        self.before = self._snapshot()
        self.host_before = host_cpu_ticks()
        self.client_before = time.process_time()
        self.wall_before = time.monotonic()

    def stop(self) -> dict[str, Any]:
        after = self._snapshot()
        busy, total = host_cpu_ticks()
        wall = time.monotonic() - self.wall_before
        out: dict[str, Any] = {}
        for role, pids in self.roots.items():
            own = tools = 0.0
            for root in pids:
                for pid in {root, *descendants(root)}:
                    if pid not in after:
                        continue
                    a_own, a_kids = after[pid]
                    b_own, b_kids = self.before.get(pid, (0.0, 0.0))
                    own += a_own - b_own
                    tools += a_kids - b_kids
            out[role] = {
                "python_cpu_s": round(own, 2),
                "reaped_children_cpu_s": round(tools, 2),
            }
        host_busy = (busy - self.host_before[0]) / CLK_TCK
        host_total = (total - self.host_before[1]) / CLK_TCK
        client = time.process_time() - self.client_before
        counted = sum(v["python_cpu_s"] + v["reaped_children_cpu_s"] for v in out.values())
        out["bench_client_cpu_s"] = round(client, 2)
        # PostgreSQL, Redis, the kernel and anything else running on the host.
        out["other_cpu_s"] = round(host_busy - counted - client, 2)
        out["host_busy_cpu_s"] = round(host_busy, 2)
        out["host_busy_fraction"] = round(host_busy / host_total, 3) if host_total else None
        out["wall_s"] = round(wall, 2)
        return out


def run_round(dep: Deployment, queries: list[str], round_no: int) -> dict[str, Any]:
    """Submit every query as fast as possible, wait until all jobs are terminal, analyse."""
    meter = CpuMeter(dep.root_pids())
    meter.start()
    subs = [
        submit(dep.server, i, fasta, CLUSTERS[i % len(CLUSTERS)]) for i, fasta in enumerate(queries)
    ]
    submit_s = time.time() - subs[0].sent
    deadline = time.monotonic() + ROUND_DEADLINE_S
    polls = 0
    while count_active(dep.server) > 0:
        if time.monotonic() > deadline:
            raise BenchError(
                f"{dep.mode} round {round_no}: jobs still active after {ROUND_DEADLINE_S:.0f} s"
            )
        time.sleep(POLL_INTERVAL_S)
        polls += 1
    seen_done = time.time()
    cpu = meter.stop()
    jobs = [dep.server.request("GET", f"/api/jobs/{s.job_id}").json() for s in subs]
    events = [
        dep.server.request("GET", f"/api/jobs/{s.job_id}/events").json()["items"] for s in subs
    ]
    not_done = [j["id"] for j in jobs if j["phase"] not in TERMINAL]
    if not_done:
        raise BenchError(
            f"{dep.mode}: the status filters said no job is active, but {len(not_done)} are not "
            f"terminal (e.g. {not_done[0]})"
        )
    result = analyse(subs, jobs, events)
    result.update(
        {
            "round": round_no,
            "mode": dep.mode,
            "client_submit_span_s": r3(submit_s),
            "client_saw_all_done_s": r3(seen_done - subs[0].sent),
            "polls": polls,
            "cpu": cpu,
        }
    )
    print(
        f"  round {round_no} {dep.mode:11} {num(result['jobs_per_minute'], '7.1f')} jobs/min, "
        f"p50 {num(result['latency_s']['p50'], '.2f')} s, "
        f"p95 {num(result['latency_s']['p95'], '.2f')} s, "
        f"failures {result['failures']}, waited {result['submit_slot_waits']['jobs_waited']}",
        flush=True,
    )
    return result


def num(value: float | None, spec: str) -> str:
    """`value` formatted with `spec`, or "-" when there is none (e.g. every job failed)."""
    return "-" if value is None else format(value, spec)


def max_overlap(intervals: list[tuple[datetime, datetime]]) -> int:
    points = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])
    best = now = 0
    for _, delta in points:  # at equal times the end (-1) sorts first
        now += delta
        best = max(best, now)
    return best


def analyse(
    subs: list[Submitted], jobs: list[dict[str, Any]], events: list[list[dict[str, Any]]]
) -> dict[str, Any]:
    first_sent = min(s.sent for s in subs)
    completed = [
        (s, j, e) for s, j, e in zip(subs, jobs, events, strict=True) if j["phase"] == "completed"
    ]
    failed = [
        {"job_id": j["id"], "phase": j["phase"], "error_code": j["error_code"], "error": j["error"]}
        for j in jobs
        if j["phase"] != "completed"
    ]
    finished = [parse_time(j["finished_at"]) for j in jobs if j["finished_at"]]
    last_finish = max(finished).timestamp() if finished else first_sent
    makespan = last_finish - first_sent
    latency = [parse_time(j["finished_at"]).timestamp() - s.sent for s, j, _ in completed]
    server_total = [
        ms_between(parse_time(j["created_at"]), parse_time(j["finished_at"])) / 1000
        for _, j, _ in completed
    ]

    steps: dict[str, list[float]] = {k: [] for k in STEP_KEYS}
    queued, steps_sum, between, lives, blast_runs = [], [], [], [], []
    for _, job, _ in completed:
        rows = {row["key"]: row for row in job["steps"]}
        for key in STEP_KEYS:
            if rows.get(key, {}).get("duration_ms") is not None:
                steps[key].append(rows[key]["duration_ms"])
        created, done = parse_time(job["created_at"]), parse_time(job["finished_at"])
        starts = [parse_time(r["started_at"]) for r in rows.values() if r["started_at"]]
        first = min(starts)
        summed = sum(r["duration_ms"] or 0 for r in rows.values())
        q = ms_between(created, first)
        total = ms_between(created, done)
        queued.append(q)
        steps_sum.append(summed)
        between.append(total - q - summed)
        lives.append((first, done))
        run = rows["running"]
        blast_runs.append((parse_time(run["started_at"]), parse_time(run["completed_at"])))

    step_medians: dict[str, float | None] = {
        k: (round(median(v), 1) if v else None) for k, v in steps.items()
    }
    step_medians["[queued_ms]"] = round(median(queued), 1) if queued else None
    step_medians["[between_steps_ms]"] = round(median(between), 1) if between else None
    step_medians["[steps_sum_ms]"] = round(median(steps_sum), 1) if steps_sum else None
    step_medians["[server_total_ms]"] = (
        round(median(server_total) * 1000, 1) if server_total else None
    )

    waited = []
    wait_ms = []
    waiting_events = 0
    for _, job, evs in zip(subs, jobs, events, strict=True):
        waits = [
            e for e in evs if e["kind"] == "waiting" or e["phase"] == "waiting_for_submit_slot"
        ]
        waiting_events += len(waits)
        if waits:
            waited.append(job["id"])
            sub_row = next(r for r in job["steps"] if r["key"] == "submitting")
            if sub_row["completed_at"]:
                wait_ms.append(
                    ms_between(parse_time(waits[0]["at"]), parse_time(sub_row["completed_at"]))
                )
    staging = Counter(
        next(r["status"] for r in j["steps"] if r["key"] == "staging_db") for j in jobs
    )
    first_job = next((j for s, j, _ in completed if s.index == 0), None)
    first_queued = None
    if first_job is not None:
        starts = [parse_time(r["started_at"]) for r in first_job["steps"] if r["started_at"]]
        first_queued = ms_between(parse_time(first_job["created_at"]), min(starts))
    return {
        "jobs": len(jobs),
        "failures": len(failed),
        "failed_jobs": failed[:10],
        "makespan_s": r3(makespan),
        "jobs_per_minute": round(len(jobs) / makespan * 60, 1) if makespan > 0 else None,
        "latency_s": {
            "definition": "client submit time (time.time() just before the POST) -> the job's "
            "finished_at from the API (same host clock)",
            "p50": r3(median(latency)) if latency else None,
            "p95": r3(nearest_rank(latency, 0.95)) if latency else None,
            "max": r3(max(latency)) if latency else None,
        },
        "server_latency_s": {
            "definition": "created_at -> finished_at, both from the API",
            "p50": r3(median(server_total)) if server_total else None,
            "p95": r3(nearest_rank(server_total, 0.95)) if server_total else None,
        },
        "job_steps_median_ms": step_medians,
        "first_job_queued_ms": first_queued,
        "submit_slot_waits": {
            "jobs_waited": len(waited),
            "waiting_events": waiting_events,
            "median_wait_ms": round(median(wait_ms), 1) if wait_ms else None,
            "max_wait_ms": max(wait_ms) if wait_ms else None,
            "definition": "a job waited when its events include one in phase "
            "waiting_for_submit_slot; wait = that event -> submitting completed",
        },
        "staging_db": dict(sorted(staging.items())),
        "max_jobs_in_pipeline": max_overlap(lives) if lives else 0,
        "max_jobs_in_running_step": max_overlap(blast_runs) if blast_runs else 0,
        "hsps_total": [j["hsps_total"] for j in jobs],
    }


# -- main --------------------------------------------------------------------------------------


def summary_lines(results: dict[str, Any]) -> list[str]:
    lock, rounds = results["lock"], results["throughput"]["rounds"]

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    red, inp = lock["redis"], lock["in_process"]
    pair = red["acquire_release"]
    jobs_total = sum(r["jobs"] for r in rounds)
    failures = sum(r["failures"] for r in rounds)
    lines = [
        f"BlastDeck distributed bench - {results['env']['blast']}, "
        f"{results['env']['host_cpus']} CPUs, Redis {lock['redis_version']}, "
        f"took {results['bench_seconds']:.0f} s",
        f"lock      {verdict(lock['pass'])}  Redis acquire+release p50 {pair['p50_ms']:.3f} ms, "
        f"p90 {pair['p90_ms']:.3f}, p99 {pair['p99_ms']:.3f}, max {pair['max_ms']:.2f} ms "
        f"(acquire p99 {red['acquire']['p99_ms']:.3f}, release p99 {red['release']['p99_ms']:.3f};"
        f" PING p50 {lock['redis_ping_rtt']['p50_ms']:.3f}; {pair['n']} pairs)  "
        f"target p99 < {LOCK_P99_MAX_MS:g} ms",
        f"          in-process acquire+release p50 {inp['acquire_release']['p50_ms']:.4f} ms, "
        f"p99 {inp['acquire_release']['p99_ms']:.4f} ms, max {inp['acquire_release']['max_ms']:.3f}"
        " ms",
        f"jobs      {verdict(failures == 0)}  {failures} of {jobs_total} jobs failed",
        f"throughput, no target: {results['settings']['jobs']} one-query blastn jobs round-robin "
        f"over {','.join(CLUSTERS)} (1 slot each); latency = client submit -> finished_at",
    ]
    for r in rounds:
        waits = r["submit_slot_waits"]
        lines.append(
            f"  round {r['round']} {r['mode']:11} {num(r['jobs_per_minute'], '6.1f')} jobs/min  "
            f"makespan {num(r['makespan_s'], '6.2f')} s  "
            f"p50 {num(r['latency_s']['p50'], '6.2f')} s  "
            f"p95 {num(r['latency_s']['p95'], '6.2f')} s  failures {r['failures']}  "
            f"waited {waits['jobs_waited']}/{r['jobs']}  "
            f"staged {r['staging_db'].get('completed', 0)}"
        )
    last = {r["mode"]: r for r in rounds}
    for mode, r in last.items():
        steps = ", ".join(
            f"{k} {v:g}" for k, v in r["job_steps_median_ms"].items() if v is not None
        )
        lines.append(f"{mode} round {r['round']}, median ms per step: {steps}")
    for mode, r in last.items():
        cpu = r["cpu"]
        roles = ", ".join(
            f"{role} {v['python_cpu_s']:g} + BLAST+ tools {v['reaped_children_cpu_s']:g}"
            for role, v in cpu.items()
            if isinstance(v, dict)
        )
        lines.append(
            f"{mode} round {r['round']}, CPU s: {roles}, bench client {cpu['bench_client_cpu_s']:g}"
            f", other (PostgreSQL, Redis, ...) {cpu['other_cpu_s']:g}; host busy "
            f"{cpu['host_busy_cpu_s']:g} of {cpu['wall_s']:g} s wall x {os.cpu_count()} CPUs"
        )
    return lines


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    records = list(fasta_records(DEMO_FASTA, args.jobs + 1))
    if len(records) < args.jobs + 1:
        raise BenchError(f"{DEMO_FASTA} has fewer than {args.jobs + 1} records")
    queries, probe_query = records[: args.jobs], records[args.jobs]
    lock = measure_lock(args.iterations)

    work = Path(tempfile.mkdtemp(prefix="blastdeck-bench-dist-"))
    cleanup: dict[str, Any] = {}
    deployments: list[Deployment] = []
    try:
        with ExitStack() as stack:
            embedded = start_embedded(work, stack)
            deployments.append(embedded)
            distributed = start_distributed(work, stack, cleanup)
            deployments.append(distributed)
            env = environment(embedded.details["health"])
            env["distributed_server_database"] = distributed.details["database"]
            print("throughput: one probe job per mode (not counted) ...", flush=True)
            for dep in deployments:
                run_probe(dep, probe_query)
            print(
                f"throughput: {args.rounds} round(s) of {args.jobs} jobs per mode, interleaved ...",
                flush=True,
            )
            rounds = []
            for round_no in range(1, args.rounds + 1):
                for dep in deployments:
                    rounds.append(run_round(dep, queries, round_no))
            env["loadavg_end"] = list(os.getloadavg())
            deployment_info = {
                d.mode: {k: v for k, v in d.details.items() if k != "health"} | {"probe": d.probe}
                for d in deployments
            }
    except BaseException:
        for dep in deployments:
            print(dep.log_tails(), file=sys.stderr)
        raise
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    hits = {tuple(r["hsps_total"]) for r in rounds}
    for r in rounds:
        r["hits_total_sum"] = sum(h or 0 for h in r.pop("hsps_total"))
    return {
        "bench": "distributed",
        "settings": {
            "lock_iterations": args.iterations,
            "jobs": args.jobs,
            "rounds": args.rounds,
            "clusters": list(CLUSTERS),
            "cluster_slots": CLUSTER_SLOTS,
            "queries": f"records 1-{args.jobs} of blastdeck/demo/demo-16s.fa, one per job; probe "
            f"job: record {args.jobs + 1}",
            "database": DEMO_DB,
            "poll": f"GET /api/jobs?status=queued|running&limit=1 every "
            f"{round(POLL_INTERVAL_S * 1000)} ms until both totals are 0",
            "order": "embedded and distributed up at once; probes, then rounds interleaved "
            "(embedded, distributed, embedded, ...)",
        },
        "env": env,
        "lock": lock,
        "throughput": {
            "deployments": deployment_info,
            "rounds": rounds,
            "hits_total_identical_in_every_round": len(hits) == 1,
        },
        "cleanup": cleanup,
        "bench_seconds": round(time.monotonic() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--iterations", type=int, default=LOCK_ITERATIONS, help="lock pairs (10000)"
    )
    parser.add_argument("--jobs", type=int, default=JOBS, help="jobs per round and mode (40)")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="rounds per mode (2)")
    parser.add_argument("--data", type=Path, help="ignored (run_all.py passes it to every script)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"JSON output ({RESULTS})")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work dir")
    args = parser.parse_args(argv)
    if args.iterations < 1 or args.jobs < 1 or args.rounds < 1:
        parser.error("--iterations, --jobs and --rounds must be at least 1")
    if args.jobs >= 200:
        parser.error("--jobs must be below 200 (the demo FASTA has 200 records, one is the probe)")
    try:
        results = run(args)
    except (
        BenchError,
        subprocess.SubprocessError,
        httpx.HTTPError,
        redis.RedisError,
        psycopg.Error,
        OSError,
    ) as exc:
        print(f"distributed bench failed: {exc}", file=sys.stderr)
        return 2
    write_json(args.out, results)
    print()
    print("\n".join(summary_lines(results)))
    print(f"results: {shown_path(args.out)}")
    failures = sum(r["failures"] for r in results["throughput"]["rounds"])
    return 0 if results["lock"]["pass"] and failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
