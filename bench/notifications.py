"""Notification latency: from a job's end (its `finished_at`) to the notification's arrival at
a real HTTP receiver (http.server on a thread) and a real SMTP server (aiosmtpd), against a real
deployment: `embedded` (`blastdeck serve` on SQLite: its own delivery loop sends the outbox,
woken by the job's end) and `distributed` (`blastdeck serve` + 2 x `blastdeck worker` on
PostgreSQL and Redis: each worker's main process sends the outbox, looking every 0.5 s).

    .venv/bin/python bench/notifications.py [--modes embedded,distributed] [--bench-data DIR]
                                            [--jobs N] [--out FILE]

Cases, per mode: two data sets (n3000-s7, n10000-s19 of the 16S bench data: queries-16s-50.fa,
the first 5 queries) x two option sets (megablast defaults; blastn evalue 1e-20,
max_target_seqs 50), N jobs each (default 5), one after another. Every job notifies three
targets: a signed JSON webhook, a Slack-format webhook and an e-mail. Per target kind: the
median, p90 and max of (arrival - finished_at) in seconds; target: every one <= 2 s. Figures go
to bench/results/notifications.json. Exit status: 0 the target holds, 1 it fails, 2 the
benchmark could not run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import _common
import distributed
from _common import BENCH_DIR, REPO, BenchError, median, nearest_rank, parse_time, write_json

sys.path.insert(0, str(REPO))
from tests.support.notify_receivers import HttpReceiver, SmtpReceiver

RESULTS = BENCH_DIR / "results" / "notifications.json"
DEFAULT_BENCH_DATA = Path("/work/bench-data")
TARGET_S = 2.0
DATA_SETS = ("n3000-s7", "n10000-s19")
OPTION_SETS = {
    "megablast": {},
    "blastn-strict": {"task": "blastn", "evalue": 1e-20, "max_target_seqs": 50},
}
KINDS = ("webhook-json", "webhook-slack", "email")


def queries(data: Path, count: int) -> str:
    return "".join(_common.fasta_records(data / "queries-16s-50.fa", count))


def run_case(
    server: _common.Server,
    db: str,
    query: str,
    options: dict[str, Any],
    hooks: dict[str, HttpReceiver],
    smtp: SmtpReceiver,
) -> dict[str, float]:
    """One job to its end and its three notifications' arrivals: seconds after finished_at."""
    seen = {kind: len(hook.received) for kind, hook in hooks.items()}
    mails = len(smtp.messages)
    notify = [
        {"type": "webhook", "url": hooks["webhook-json"].url, "secret": "bench"},
        {"type": "webhook", "url": hooks["webhook-slack"].url, "format": "slack"},
        {"type": "email", "to": "bench@example.org"},
    ]
    body = {"program": "blastn", "database": db, "query": query, "options": options}
    job = server.request("POST", "/api/jobs", json={**body, "notify": notify}).json()
    deadline = time.monotonic() + 600
    while job["phase"] not in _common.TERMINAL:
        if time.monotonic() > deadline:
            raise BenchError(f"job {job['id']} did not end in 600 s")
        time.sleep(0.2)
        job = server.request("GET", f"/api/jobs/{job['id']}").json()
    if job["phase"] != "completed":
        raise BenchError(f"job on {db} ended {job['phase']}: {job.get('error')}")
    finished = parse_time(job["finished_at"])
    assert finished is not None
    arrivals: dict[str, float] = {}
    deadline = time.monotonic() + 60
    while len(arrivals) < len(KINDS):
        if time.monotonic() > deadline:
            raise BenchError(f"notifications of job {job['id']} missing: got {sorted(arrivals)}")
        for kind, hook in hooks.items():
            if kind not in arrivals and len(hook.received) > seen[kind]:
                arrivals[kind] = hook.received[seen[kind]].at
        if "email" not in arrivals and len(smtp.messages) > mails:
            arrivals["email"] = smtp.messages[mails][1]
        time.sleep(0.01)
    return {kind: at - finished.timestamp() for kind, at in arrivals.items()}


def start(mode: str, work: Path, stack: ExitStack, notify: dict[str, str]) -> _common.Server:
    """An embedded server, or a distributed deployment (its own PostgreSQL database, queue and
    lock prefix, dropped afterwards; the helpers of bench/distributed.py)."""
    if mode == "embedded":
        server = _common.Server(work, "embedded", notify)
        stack.callback(server.stop, group=True)
        server.start()
        return server
    tag = uuid.uuid4().hex[:8]
    db_name, queue = f"blastdeck_bench_{tag}", f"blastdeck-bench-{tag}"
    lock_prefix = f"bench:{tag}:elb:blast:elastic-blast-submit"
    stack.callback(distributed.drop_distributed_state, db_name, queue, lock_prefix, {})
    distributed.create_pg_database(db_name)
    settings = {
        **notify,
        "BLASTDECK_DATABASE_URL": f"{distributed.PG_URL_BASE}/{db_name}",
        "BLASTDECK_BROKER_URL": distributed.REDIS_URL,
        "BLASTDECK_QUEUE": queue,
        "BLASTDECK_LOCK_PREFIX": lock_prefix,
    }
    server = _common.Server(work, "distributed", settings)
    stack.callback(server.stop, group=True)
    server.start()
    workers = [distributed.Worker(work, i + 1, server.data_dir, settings) for i in range(2)]
    for worker in workers:
        stack.callback(worker.stop)
        worker.start()
    distributed.wait_workers_ready(workers, server.data_dir, settings)
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default="embedded,distributed")
    parser.add_argument("--bench-data", "--data", type=Path, default=DEFAULT_BENCH_DATA)
    parser.add_argument("--jobs", type=int, default=5, help="jobs per case")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    hooks = {kind: HttpReceiver().start() for kind in KINDS if kind != "email"}
    smtp = SmtpReceiver(_common.free_port()).start()
    settings: dict[str, str] = {
        "BLASTDECK_WEBHOOK_ALLOW_PRIVATE": "on",  # the receivers listen on 127.0.0.1
        "BLASTDECK_SMTP_HOST": "127.0.0.1",
        "BLASTDECK_SMTP_PORT": str(smtp.port),
        "BLASTDECK_DEMO_DATABASES": "false",
    }
    cases: list[dict[str, Any]] = []
    all_latencies: dict[str, list[float]] = {}
    env: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-notify-") as tmp, ExitStack() as stack:
        stack.callback(smtp.stop)
        for hook in hooks.values():
            stack.callback(hook.stop)
        server = None
        try:
            for mode in args.modes.split(","):
                mode_stack = stack.enter_context(ExitStack())  # this mode's processes
                server = start(mode, Path(tmp), mode_stack, settings)
                env[mode] = _common.environment(server.health())
                for name in DATA_SETS:
                    data = args.bench_data / name
                    server.register(name, next(data.glob("16s-*.nsq")).with_suffix(""))
                    query = queries(data, 5)
                    for option_name, options in OPTION_SETS.items():
                        rows = [
                            run_case(server, name, query, options, hooks, smtp)
                            for _ in range(args.jobs)
                        ]
                        summary = {}
                        for kind in KINDS:
                            values = [row[kind] for row in rows]
                            all_latencies.setdefault(f"{mode}/{kind}", []).extend(values)
                            summary[kind] = {
                                "median_s": round(median(values), 3),
                                "p90_s": round(nearest_rank(values, 0.9), 3),
                                "max_s": round(max(values), 3),
                            }
                        cases.append({"mode": mode, "data": name, "options": option_name,
                                      "jobs": len(rows), "latency": summary})  # fmt: skip
                        print(mode, name, option_name, summary, flush=True)
                env[mode]["loadavg_end"] = list(os.getloadavg())
                mode_stack.close()
        except BenchError as exc:
            tail = server.log_tail() if server is not None else ""
            print(f"benchmark could not run: {exc}\n{tail}", file=sys.stderr)
            return 2
    worst = max(max(values) for values in all_latencies.values())
    overall = {
        key: {"median_s": round(median(v), 3), "max_s": round(max(v), 3), "n": len(v)}
        for key, v in all_latencies.items()
    }
    passed = worst <= TARGET_S
    write_json(
        args.out,
        {
            "bench": "notifications",
            "env": env,
            "target_s": TARGET_S,
            "settings": {"jobs_per_case": args.jobs, "queries_per_job": 5, "modes": args.modes},
            "cases": cases,
            "overall": overall,
            "worst_s": round(worst, 3),
            "passed": passed,
        },
    )
    print(f"worst {worst:.3f} s (target <= {TARGET_S} s): {'ok' if passed else 'FAILED'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
