"""Web app benchmark: how fast the page shows phase changes, the hits tab, the bundle size.

    .venv/bin/python bench/web.py [--jobs N] [--loads L] [--data DIR] [--keep] [--verbose]

Drives Debian's Chromium (/usr/bin/chromium, headless) with Playwright against a real
`blastdeck serve` and measures:

1. phase latency - a phase change on the server -> the job page rendering it (the page's
                   `window.__blastdeckPhaseLog`), with the server-sent-events stream and with
                   polling only (the stream blocked). The job is held in waiting_for_submit_slot
                   by holding its Redis submit lock from here, and released while the page is
                   open. Targets: polling, early phases (1 s cadence): max <= 1000 ms;
                   stream: p95 <= 300 ms.
2. hits tab      - navigation to /jobs/<id>?tab=hits of a job with >= 100,000 HSPs -> the first
                   page of the hits table rendered, fresh browser context per load.
                   Target: median <= 1000 ms.
3. bundle        - raw and gzip -9 size of every .js and .css under blastdeck/static/assets.

Figures go to bench/results/web.json; a summary with PASS/FAIL per target is printed. Exit
status: 0 all targets pass, 1 a target fails, 2 the benchmark could not run (web app not built,
Redis unreachable, the page lacks a hook it should have, ...). See bench/README.md.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import redis
from _common import (
    BENCH_DIR,
    REPO,
    TERMINAL,
    BenchError,
    Server,
    environment,
    fasta_records,
    median,
    nearest_rank,
    parse_time,
    shown_path,
    write_json,
)
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

RESULTS = BENCH_DIR / "results" / "web.json"
DEFAULT_DATA = BENCH_DIR / ".data"
MAKE_DATA = REPO.parent / "shared" / "scripts" / "make-bench-data"
STATIC_DIR = REPO / "blastdeck" / "static"
ASSETS_DIR = STATIC_DIR / "assets"
WEB_DIR = REPO / "web"
DEMO_FASTA = REPO / "blastdeck" / "demo" / "demo-16s.fa"
DEMO_DB = "demo-16s"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
]
REDIS_URL = "redis://127.0.0.1:6379/0"

# 1. Phase latency.
JOBS_PER_MODE = 20
MODES = ("stream", "poll")
STREAM_ROUTE = "**/api/jobs/*/stream"
PHASE_QUERIES = 8  # demo-16s records; with the options below `running` lasts a few seconds
PHASE_OPTIONS = {"task": "blastn", "word_size": 4}
HOLD_S = (1.5, 3.0)  # the lock is released this long after the page first rendered the job
SUBMIT_BACKOFF_MAX_S = "0.2"
LOCK_HOLDER = "bench:hold"
LOCK_TTL_S = 120
WAITING = "waiting_for_submit_slot"
DROP_HOLD = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# What the page polls at when the stream is down (web/src/live/polling.ts): a change seen while
# the page shows a FAST phase is found by a 1 s poll, one seen in a STEADY phase by a 3 s poll.
FAST_PHASES = frozenset(
    {
        "queued",
        "preparing",
        "warming_up",
        "configuring",
        "staging_db",
        "submitting",
        WAITING,
    }
)
STEADY_PHASES = frozenset({"running", "exporting_results", "cancelling"})

# 2. Hits tab.
HITS_DB = "bench-16s-10000"
HITS_DB_PREFIX = "16s-10000"
HITS_QUERIES_FILE = "queries-16s-50.fa"
HITS_TITLE = "bench-web 100k hits"
HITS_MIN = 100_000
HITS_QUERY_COUNTS = (25, 50)  # 25 queries give ~111,000 HSPs; 50 if that is not enough
HITS_OPTIONS = {"max_target_seqs": 5000, "evalue": 10}
HITS_PAGE_ROWS = 50  # the table's page size (server-paged)
HITS_LOADS = 7
HITS_SERVER_DIR = BENCH_DIR / ".data"  # its data dir web-hits-data is kept for the next run

# Targets.
POLL_EARLY_MAX_MS = 1000.0
STREAM_P95_MAX_MS = 300.0
HITS_MEDIAN_MAX_MS = 1000.0

# Loops are bounded by these.
PAGE_READY_TIMEOUT_MS = 30_000
PHASE_JOB_DEADLINE_S = 300.0
HITS_JOB_DEADLINE_S = 3600.0
HITS_LOAD_TIMEOUT_MS = 60_000
WEB_BUILD_TIMEOUT_S = 900.0

# Records when the hits table first shows a full page of rows (not the "Loading hits..."
# placeholder row): performance.now() is ms since the navigation started. `frame_ms` is the
# next animation frame, the one that paints the rows.
HITS_OBSERVER = """
(() => {
  const rows = () => {
    const table = document.querySelector('[data-testid="hits-table"]');
    return table ? table.querySelectorAll('tbody tr').length : 0;
  };
  const observer = new MutationObserver(() => {
    if (window.__benchHits) return;
    const n = rows();
    if (n >= __ROWS__) {
      const mark = { dom_ms: performance.now(), rows: n };
      window.__benchHits = mark;
      observer.disconnect();
      requestAnimationFrame(() => { mark.frame_ms = performance.now(); });
    }
  });
  observer.observe(document, { childList: true, subtree: true });
})();
""".replace("__ROWS__", str(HITS_PAGE_ROWS))

PAGE_HOOKS = """
() => ({
  phase_log: Array.isArray(window.__blastdeckPhaseLog) ? window.__blastdeckPhaseLog : null,
  body_phase: document.body ? (document.body.dataset.phase ?? null) : null,
  phase_element: (() => {
    const el = document.querySelector('[data-testid="job-phase"]');
    return el ? el.textContent : null;
  })(),
  ui_error: (() => {
    const el = document.querySelector('[data-testid="ui-error"], [data-testid="job-error"]');
    return el ? el.textContent : null;
  })(),
})
"""

HITS_DIAGNOSIS = """
() => {
  const q = (s) => document.querySelector(s);
  const table = q('[data-testid="hits-table"]');
  return {
    url: location.href,
    job_page: !!q('[data-testid="job-page"]'),
    panel_hits: !!q('[data-testid="panel-hits"]'),
    hits_table: !!table,
    tbody_rows: table ? table.querySelectorAll('tbody tr').length : null,
    error: (q('[role="alert"]') || {}).textContent || null,
  };
}
"""


# -- bundle ------------------------------------------------------------------------------------


def measure_bundle() -> dict[str, Any]:
    files = []
    for path in sorted(ASSETS_DIR.rglob("*")):
        if not path.is_file() or path.suffix not in (".js", ".css"):
            continue
        data = path.read_bytes()
        files.append(
            {
                "file": str(path.relative_to(ASSETS_DIR)),
                "kind": path.suffix[1:],
                "raw_bytes": len(data),
                "gzip9_bytes": len(gzip.compress(data, compresslevel=9)),
            }
        )
    if not files:
        raise BenchError(f"no .js or .css files under {ASSETS_DIR}")
    totals: dict[str, dict[str, int]] = {}
    for kind in ("js", "css", "all"):
        chosen = [f for f in files if kind in ("all", f["kind"])]
        totals[kind] = {
            "files": len(chosen),
            "raw_bytes": sum(f["raw_bytes"] for f in chosen),
            "gzip9_bytes": sum(f["gzip9_bytes"] for f in chosen),
        }
    others = sorted(
        str(p.relative_to(ASSETS_DIR))
        for p in ASSETS_DIR.rglob("*")
        if p.is_file() and p.suffix not in (".js", ".css")
    )
    return {
        "dir": str(ASSETS_DIR.relative_to(REPO)),
        "gzip": "python gzip.compress(data, compresslevel=9)",
        "files": files,
        "total": totals,
        "other_files_not_counted": others,
    }


# -- the web app -------------------------------------------------------------------------------


def ensure_web_app(wait_s: float, build: bool) -> None:
    """The built page must exist before the server starts (it mounts it at startup)."""
    index = STATIC_DIR / "index.html"
    if build:
        if not (WEB_DIR / "package.json").is_file():
            raise BenchError(f"--build: {WEB_DIR / 'package.json'} not found")
        print(f"building the web app (cd {WEB_DIR} && npm run build) ...", flush=True)
        subprocess.run(
            ["npm", "run", "build"], cwd=WEB_DIR, check=True, timeout=WEB_BUILD_TIMEOUT_S
        )
    deadline = time.monotonic() + wait_s
    while not index.is_file():
        if time.monotonic() >= deadline:
            raise BenchError(
                f"the web app is not built ({index} missing): run `cd web && npm run build` "
                "(or pass --build)"
            )
        time.sleep(5)
    if not ASSETS_DIR.is_dir():
        raise BenchError(f"{ASSETS_DIR} missing: the web app build is incomplete")


def launch(p: Any) -> Browser:
    return p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def report_server(server: Server) -> None:
    """After a failure: whether the server still ran (something else may have killed it), and
    its log's last lines."""
    code = server.proc.poll() if server.proc else None
    state = "still running" if server.proc and code is None else f"exited with {code}"
    print(f"--- {server.name} server ({state}), log {server.log_path} ---", file=sys.stderr)
    print(server.log_tail(), file=sys.stderr)


# -- 1. phase latency --------------------------------------------------------------------------


def epoch_ms(iso: str) -> float:
    stamp = parse_time(iso)
    assert stamp is not None
    return stamp.timestamp() * 1000


def server_timeline(events: list[dict[str, Any]]) -> list[tuple[str, float]]:
    """(phase, start in epoch ms) in order: an event whose `phase` differs from the previous
    phase starts it (step_started, waiting, created, the terminal event)."""
    timeline: list[tuple[str, float]] = []
    for event in events:
        phase = event.get("phase")
        if phase and (not timeline or timeline[-1][0] != phase):
            timeline.append((phase, epoch_ms(event["at"])))
    return timeline


def cadence(previous_phase: str) -> str:
    if previous_phase in FAST_PHASES:
        return "early"
    if previous_phase in STEADY_PHASES:
        return "steady"
    return "other"


def match_samples(
    log: list[dict[str, Any]], timeline: list[tuple[str, float]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Latency samples: each phase the open page rendered after its first render, matched in
    order to the server phase it shows; counted only when the server entered that phase after
    the page's first render (a change the page had to discover live).

    A phase the page shows that has no server start after the previous match (e.g. `submitting`
    again after waiting for the submit slot, which writes no event) is reported as unmatched."""
    samples: list[dict[str, Any]] = []
    other: list[dict[str, Any]] = []
    if not log:
        return samples, other
    ready_at = log[0]["at"]
    first = [
        i
        for i, (phase, start) in enumerate(timeline)
        if phase == log[0]["phase"] and start <= ready_at
    ]
    pos = first[-1] if first else -1
    for prev, cur in pairwise(log):
        j = next((k for k in range(pos + 1, len(timeline)) if timeline[k][0] == cur["phase"]), None)
        entry = {"from": prev["phase"], "phase": cur["phase"]}
        if j is None:
            other.append(entry | {"why": "no server start of this phase after the previous one"})
            continue
        pos = j
        start = timeline[j][1]
        latency = round(cur["at"] - start, 1)
        if start <= ready_at:
            other.append(entry | {"why": "started before the page first rendered the job"})
        elif latency < 0:
            other.append(
                entry | {"why": "page shows it before the server started it", "ms": latency}
            )
        else:
            samples.append(entry | {"latency_ms": latency, "cadence": cadence(prev["phase"])})
    return samples, other


def latency_summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "max_ms": None}
    return {
        "n": len(values),
        "p50_ms": round(median(values), 1),
        "p95_ms": round(nearest_rank(values, 0.95), 1),
        "max_ms": round(max(values), 1),
        "min_ms": round(min(values), 1),
    }


def read_hooks(page: Page) -> dict[str, Any]:
    return page.evaluate(PAGE_HOOKS)


def missing_hooks(hooks: dict[str, Any]) -> list[str]:
    missing = []
    if hooks["phase_log"] is None:
        missing.append("window.__blastdeckPhaseLog (not an array)")
    elif not hooks["phase_log"]:
        missing.append("window.__blastdeckPhaseLog has no entry")
    if not hooks["body_phase"]:
        missing.append("document.body.dataset.phase")
    if hooks["phase_element"] is None:
        missing.append("an element [data-testid=job-phase]")
    return missing


def wait_page_ready(page: Page, job_id: str) -> dict[str, Any]:
    """Until the page has rendered the job once (its phase log has an entry)."""
    try:
        page.wait_for_function(
            "() => (window.__blastdeckPhaseLog || []).length > 0",
            timeout=PAGE_READY_TIMEOUT_MS,
            polling=20,
        )
    except PlaywrightError as exc:
        hooks = read_hooks(page)
        raise BenchError(
            f"job page /jobs/{job_id} did not render the job within "
            f"{PAGE_READY_TIMEOUT_MS / 1000:.0f} s; missing: {', '.join(missing_hooks(hooks))}; "
            f"page state {hooks}"
        ) from exc
    hooks = read_hooks(page)
    missing = missing_hooks(hooks)
    if missing:
        raise BenchError(f"job page /jobs/{job_id} lacks: {', '.join(missing)}; state {hooks}")
    return hooks


def clock_offset_ms(page: Page) -> float:
    """Page clock (performance.timeOrigin + now) minus this process's time.time()."""
    before = time.time() * 1000
    page_now = page.evaluate("performance.timeOrigin + performance.now()")
    after = time.time() * 1000
    return round(page_now - (before + after) / 2, 2)


class PhaseBench:
    def __init__(
        self, browser: Browser, server: Server, lock: redis.Redis, key: str, query: str
    ) -> None:
        self.browser = browser
        self.server = server
        self.lock = lock
        self.key = key
        self.query = query

    def wait_server_phase(
        self, job_id: str, phases: set[str], deadline_s: float, page: Page | None = None
    ) -> dict:
        """Poll the job every 50 ms until it is in one of `phases`. With a `page`, wait with
        page.wait_for_timeout so Playwright keeps serving its route handler meanwhile."""
        deadline = time.monotonic() + deadline_s
        while True:
            job = self.server.request("GET", f"/api/jobs/{job_id}").json()
            if job["phase"] in phases:
                return job
            if job["phase"] in TERMINAL:
                raise BenchError(
                    f"job {job_id} ended {job['phase']} ({job.get('error_code')}: "
                    f"{job.get('error')}) while waiting for {sorted(phases)}"
                )
            if time.monotonic() > deadline:
                raise BenchError(f"job {job_id} still {job['phase']}, expected {sorted(phases)}")
            if page is None:
                time.sleep(0.05)
            else:
                page.wait_for_timeout(50)

    def drop_hold(self) -> None:
        """Delete the lock key if it is still the bench's hold (never a job's own lock)."""
        self.lock.eval(DROP_HOLD, 1, self.key, LOCK_HOLDER)

    def run_job(self, mode: str, label: str, hold_s: float) -> dict[str, Any]:
        """Hold the submit lock, submit, open the page, release after `hold_s`, wait for the
        page to show the end, then match its phase log against the job's events."""
        if not self.lock.set(self.key, LOCK_HOLDER, nx=True, ex=LOCK_TTL_S):
            raise BenchError(f"submit lock {self.key} is already held by {self.lock.get(self.key)}")
        context = self.browser.new_context()
        requests: Counter[str] = Counter()
        try:
            body = {
                "program": "blastn",
                "database": DEMO_DB,
                "query": self.query,
                "options": PHASE_OPTIONS,
                "title": f"bench-web {label}",
            }
            job = self.server.request("POST", "/api/jobs", json=body).json()
            job_id = job["id"]
            page = context.new_page()
            if mode == "poll":
                page.route(STREAM_ROUTE, lambda route: route.abort())

            def count(request: Any, outcome: str = "sent") -> None:
                path = urlsplit(request.url).path
                if path == f"/api/jobs/{job_id}":
                    requests[f"job_get_{outcome}"] += 1
                elif path == f"/api/jobs/{job_id}/stream":
                    requests[f"stream_{outcome}"] += 1

            page.on("request", count)
            page.on("requestfailed", lambda request: count(request, "failed"))
            page.goto(f"{self.server.url}/jobs/{job_id}")
            first = wait_page_ready(page, job_id)
            ready_at = first["phase_log"][0]["at"]
            offset = clock_offset_ms(page)
            self.wait_server_phase(job_id, {WAITING}, 30.0, page)
            # Not time.sleep: the sync API runs route handlers only while Playwright waits, so
            # a sleep would leave the page's stream retries pending instead of aborted at once
            # (and so change when the page polls).
            page.wait_for_timeout(max(0.0, ready_at + hold_s * 1000 - time.time() * 1000))
            released = time.time() * 1000
            self.lock.delete(self.key)
            try:
                page.wait_for_function(
                    "(ends) => { const log = window.__blastdeckPhaseLog || [];"
                    " return log.length > 0 && ends.includes(log[log.length - 1].phase); }",
                    arg=sorted(TERMINAL),
                    timeout=PHASE_JOB_DEADLINE_S * 1000,
                    polling=100,
                )
            except PlaywrightError as exc:
                state = self.server.request("GET", f"/api/jobs/{job_id}").json()["phase"]
                raise BenchError(
                    f"page of job {job_id} did not show its end (server: {state}); "
                    f"page {read_hooks(page)}"
                ) from exc
            hooks = read_hooks(page)
        finally:
            self.drop_hold()
            context.close()
        final = self.wait_server_phase(job_id, set(TERMINAL), 60.0)
        if final["phase"] != "completed":
            raise BenchError(f"job {job_id} {final['phase']}: {final.get('error')}")
        events = self.server.request("GET", f"/api/jobs/{job_id}/events").json()["items"]
        timeline = server_timeline(events)
        log = hooks["phase_log"]
        samples, unmatched = match_samples(log, timeline)
        after_release = next((e for e in log if e["at"] > released), None)
        return {
            "job_id": job_id,
            "mode": mode,
            "hold_s": round(hold_s, 3),
            "clock_offset_ms": offset,
            "released_after_render_ms": round(released - ready_at, 1),
            "loadavg_1min": round(os.getloadavg()[0], 2),
            "release_to_page": {
                "phase": after_release["phase"],
                "ms": round(after_release["at"] - released, 1),
            }
            if after_release
            else None,
            "page_first_phase": log[0]["phase"],
            "page_phases": [e["phase"] for e in log],
            "server_phases": [p for p, _ in timeline],
            "final_body_phase": hooks["body_phase"],
            "final_phase_element": hooks["phase_element"],
            "requests": dict(sorted(requests.items())),
            "samples": samples,
            "not_counted": unmatched,
            "events": events,
        }


def summarize_mode(jobs: list[dict[str, Any]]) -> dict[str, Any]:
    samples = [s for j in jobs for s in j["samples"]]
    by_transition: dict[str, list[float]] = {}
    for s in samples:
        by_transition.setdefault(f"{s['from']} -> {s['phase']}", []).append(s["latency_ms"])
    not_counted = Counter(
        f"{u['from']} -> {u['phase']}: {u['why']}" for j in jobs for u in j["not_counted"]
    )
    request_keys = sorted({k for j in jobs for k in j["requests"]})
    return {
        "jobs": len(jobs),
        "all": latency_summary([s["latency_ms"] for s in samples]),
        "early": latency_summary([s["latency_ms"] for s in samples if s["cadence"] == "early"]),
        "steady": latency_summary([s["latency_ms"] for s in samples if s["cadence"] == "steady"]),
        "by_transition": {k: latency_summary(v) for k, v in sorted(by_transition.items())},
        "lock_release_to_page": latency_summary(
            [j["release_to_page"]["ms"] for j in jobs if j["release_to_page"]]
        ),
        "not_counted": dict(sorted(not_counted.items())),
        "requests_per_job_median": {
            k: median([j["requests"].get(k, 0) for j in jobs]) for k in request_keys
        },
        "clock_offset_ms_max_abs": max(abs(j["clock_offset_ms"]) for j in jobs),
        "final_phase_shown": dict(Counter(j["final_phase_element"] for j in jobs)),
    }


def measure_phases(
    browser: Browser, work: Path, jobs_per_mode: int, seed: int, verbose: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    lock_client = redis.Redis.from_url(REDIS_URL, socket_timeout=5.0, socket_connect_timeout=5.0)
    lock_client.ping()
    prefix = f"bench-web-{uuid.uuid4().hex[:8]}"
    key = f"{prefix}:local:default"
    settings = {
        "BLASTDECK_REDIS_URL": REDIS_URL,
        "BLASTDECK_LOCK_PREFIX": prefix,
        "BLASTDECK_SUBMIT_BACKOFF_MAX_S": SUBMIT_BACKOFF_MAX_S,
    }
    server = Server(work, "phases", settings)
    rng = random.Random(seed)
    query = "".join(fasta_records(DEMO_FASTA, PHASE_QUERIES))
    try:
        print(f"phases: blastdeck serve on {server.url} (Redis submit lock {key}) ...", flush=True)
        server.start()
        health = server.health()
        bench = PhaseBench(browser, server, lock_client, key, query)
        print("phases: one warm-up job (stages demo-16s; not counted) ...", flush=True)
        warmup = bench.run_job("stream", "warm-up", rng.uniform(*HOLD_S))
        if verbose:
            print("  events of the warm-up job (GET /api/jobs/<id>/events):")
            for event in warmup["events"]:
                print(f"    {event}")
        order = [MODES[i % 2] for i in range(2 * jobs_per_mode)]
        print(f"phases: {len(order)} jobs, modes interleaved {', '.join(order[:4])}, ...")
        runs: list[dict[str, Any]] = []
        for i, mode in enumerate(order, 1):
            run = bench.run_job(mode, f"{mode} {i}", rng.uniform(*HOLD_S))
            runs.append(run)
            shown = ", ".join(
                f"{s['from']}->{s['phase']} {s['latency_ms']:.0f}" for s in run["samples"]
            )
            print(f"  job {i:2}/{len(order)} {mode:6} ms: {shown or '-'}", flush=True)
            if verbose:
                print(f"    page {run['page_phases']}; requests {run['requests']}")
                if run["not_counted"]:
                    print(f"    not counted: {run['not_counted']}")
        for run in runs:  # the warm-up job's events stay in the JSON, as an example
            run.pop("events")
        modes = {m: summarize_mode([r for r in runs if r["mode"] == m]) for m in MODES}
        result = {
            "server": "blastdeck serve, embedded (SQLite), Redis submit lock "
            f"(BLASTDECK_REDIS_URL, BLASTDECK_LOCK_PREFIX={prefix}, "
            f"BLASTDECK_SUBMIT_BACKOFF_MAX_S={SUBMIT_BACKOFF_MAX_S})",
            "workload": f"first {PHASE_QUERIES} records of blastdeck/demo/demo-16s.fa vs "
            f"{DEMO_DB}, options {PHASE_OPTIONS}",
            "definition": "latency = page time of a phase in window.__blastdeckPhaseLog "
            "(performance.timeOrigin + performance.now()) - the server's start of that phase "
            "(`at` of the first event of GET /api/jobs/<id>/events carrying it); counted only "
            "when the server entered the phase after the page first rendered the job. `early` = "
            "changes found while the page showed a 1 s-poll phase (queued ... submitting, "
            "waiting_for_submit_slot), `steady` = while it showed running/exporting_results "
            "(3 s polls by design)",
            "modes": modes,
            "warmup_job": warmup,
            "jobs": runs,
        }
        return result, health
    except BaseException:
        report_server(server)
        raise
    finally:
        server.stop()  # first: no job of it can take the lock after this
        for leftover in lock_client.scan_iter(match=f"{prefix}*"):
            lock_client.delete(leftover)
        lock_client.close()


# -- 2. hits tab -------------------------------------------------------------------------------


def ensure_bench_data(data_dir: Path) -> None:
    needed = [data_dir / f"{HITS_DB_PREFIX}.nsq", data_dir / HITS_QUERIES_FILE]
    if all(p.is_file() for p in needed):
        return
    if not MAKE_DATA.is_file():
        raise BenchError(f"bench data missing in {data_dir} and {MAKE_DATA} not found")
    print(f"building bench data in {data_dir} (make-bench-data, takes a while) ...", flush=True)
    subprocess.run([str(MAKE_DATA), str(data_dir), "10000", "42"], check=True, timeout=3600)
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise BenchError(f"make-bench-data did not produce {', '.join(missing)}")


def ensure_hits_job(server: Server, data_dir: Path) -> dict[str, Any]:
    """A completed job with >= HITS_MIN HSPs on the kept data dir: reused, or made once."""
    found = server.request("GET", "/api/jobs", params={"q": HITS_TITLE, "limit": 50}).json()
    for job in found["items"]:
        done = job["title"] == HITS_TITLE and job["phase"] == "completed"
        if done and job["hsps_total"] >= HITS_MIN:
            print(
                f"hits: reusing job {job['id']} ({job['hits_total']} hits, "
                f"{job['hsps_total']} HSPs)",
                flush=True,
            )
            return job
    names = {d["name"] for d in server.request("GET", "/api/databases").json()["items"]}
    if HITS_DB not in names:
        server.register(HITS_DB, data_dir / HITS_DB_PREFIX)
    for n in HITS_QUERY_COUNTS:
        query = "".join(fasta_records(data_dir / HITS_QUERIES_FILE, n))
        body = {
            "program": "blastn",
            "database": HITS_DB,
            "query": query,
            "options": HITS_OPTIONS,
            "title": HITS_TITLE,
        }
        print(f"hits: running a {n}-query job with {HITS_OPTIONS} (once; kept) ...", flush=True)
        job = server.request("POST", "/api/jobs", json=body).json()
        deadline = time.monotonic() + HITS_JOB_DEADLINE_S
        while job["phase"] not in TERMINAL:
            if time.monotonic() > deadline:
                raise BenchError(
                    f"job {job['id']} still {job['phase']} after {HITS_JOB_DEADLINE_S} s"
                )
            time.sleep(1.0)
            job = server.request("GET", f"/api/jobs/{job['id']}").json()
        if job["phase"] != "completed":
            raise BenchError(f"hits job {job['id']} {job['phase']}: {job.get('error')}")
        print(f"  job {job['id']}: {job['hits_total']} hits, {job['hsps_total']} HSPs", flush=True)
        if job["hsps_total"] >= HITS_MIN:
            return job
    raise BenchError(f"no job reached {HITS_MIN} HSPs with {HITS_QUERY_COUNTS} queries")


def load_hits_tab(browser: Browser, url: str, job_id: str) -> dict[str, Any]:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.add_init_script(HITS_OBSERVER)
        started = time.perf_counter()
        page.goto(f"{url}/jobs/{job_id}?tab=hits", wait_until="commit")
        try:
            page.wait_for_function(
                "() => window.__benchHits && window.__benchHits.frame_ms !== undefined",
                timeout=HITS_LOAD_TIMEOUT_MS,
                polling=20,
            )
        except PlaywrightError as exc:
            raise BenchError(
                f"/jobs/{job_id}?tab=hits showed no page of {HITS_PAGE_ROWS} rows in "
                f"[data-testid=hits-table] tbody within {HITS_LOAD_TIMEOUT_MS / 1000:.0f} s: "
                f"{page.evaluate(HITS_DIAGNOSIS)}"
            ) from exc
        client_ms = (time.perf_counter() - started) * 1000
        mark = page.evaluate("window.__benchHits")
        timing = page.evaluate(
            """() => {
              const nav = performance.getEntriesByType('navigation')[0] || {};
              const hits = performance.getEntriesByType('resource')
                .filter((e) => new URL(e.name).pathname.endsWith('/hits'))
                .map((e) => ({ start_ms: e.startTime, end_ms: e.responseEnd,
                               duration_ms: e.duration }));
              const api = performance.getEntriesByType('resource')
                .filter((e) => new URL(e.name).pathname.startsWith('/api/'))
                .map((e) => ({ path: new URL(e.name).pathname, start_ms: Math.round(e.startTime),
                               end_ms: Math.round(e.responseEnd) }));
              return { html_ms: nav.responseEnd,
                       dom_content_loaded_ms: nav.domContentLoadedEventEnd, hits_api: hits, api };
            }"""
        )
    finally:
        context.close()
    first_api = timing["hits_api"][0] if timing["hits_api"] else None
    return {
        "rendered_ms": round(mark["frame_ms"], 1),
        "rows_in_dom_ms": round(mark["dom_ms"], 1),
        "rows": mark["rows"],
        "client_goto_to_detected_ms": round(client_ms, 1),
        "html_ms": round(timing["html_ms"] or 0, 1),
        "dom_content_loaded_ms": round(timing["dom_content_loaded_ms"] or 0, 1),
        "hits_api_requests": len(timing["hits_api"]),
        "first_hits_api_start_ms": round(first_api["start_ms"], 1) if first_api else None,
        "first_hits_api_duration_ms": round(first_api["duration_ms"], 1) if first_api else None,
        "api_requests": timing["api"],
        "loadavg_1min": round(os.getloadavg()[0], 2),
    }


def measure_hits(browser: Browser, data_dir: Path, loads: int) -> dict[str, Any]:
    ensure_bench_data(data_dir)
    HITS_SERVER_DIR.mkdir(parents=True, exist_ok=True)
    server = Server(HITS_SERVER_DIR, "web-hits")
    try:
        print(f"hits: blastdeck serve on {server.url} (data dir {server.data_dir}, kept) ...")
        server.start()
        job = ensure_hits_job(server, data_dir)
        print(f"hits: 1 warm-up load (not counted), then {loads} loads, fresh context each ...")
        warmup = load_hits_tab(browser, server.url, job["id"])
        runs = [load_hits_tab(browser, server.url, job["id"]) for _ in range(loads)]
        for i, r in enumerate(runs, 1):
            print(
                f"  load {i}: rendered {r['rendered_ms']:.0f} ms (hits API "
                f"{r['first_hits_api_duration_ms']} ms, {r['rows']} rows)",
                flush=True,
            )
    except BaseException:
        report_server(server)
        raise
    finally:
        server.stop()
    rendered = [r["rendered_ms"] for r in runs]
    return {
        "job_id": job["id"],
        "hits_total": job["hits_total"],
        "hsps_total": job["hsps_total"],
        "query_count": job.get("query_count"),
        "options": job.get("options"),
        "database": f"{HITS_DB} ({data_dir / HITS_DB_PREFIX})",
        "server_data_dir": str(server.data_dir),
        "definition": "fresh browser context per load; ms from the navigation start "
        "(performance.timeOrigin) to the animation frame after [data-testid=hits-table] tbody "
        f"first holds >= {HITS_PAGE_ROWS} rows (a MutationObserver added by an init script)",
        "warmup_load": warmup,
        "loads": runs,
        "median_ms": round(median(rendered), 1),
        "max_ms": round(max(rendered), 1),
        "min_ms": round(min(rendered), 1),
        "median_hits_api_ms": round(
            median([r["first_hits_api_duration_ms"] or 0 for r in runs]), 1
        ),
        "median_dom_content_loaded_ms": round(
            median([r["dom_content_loaded_ms"] for r in runs]), 1
        ),
    }


# -- main --------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def judge(results: dict[str, Any]) -> dict[str, Any]:
    poll = results["phase_latency"]["modes"]["poll"]["early"]
    stream = results["phase_latency"]["modes"]["stream"]["all"]
    hits = results["hits_tab"]
    return {
        "poll_early_max": {
            "target": f"poll mode, early phases: max <= {POLL_EARLY_MAX_MS:g} ms",
            "value_ms": poll["max_ms"],
            "p95_ms": poll["p95_ms"],
            "n": poll["n"],
            "pass": poll["n"] > 0 and poll["max_ms"] <= POLL_EARLY_MAX_MS,
        },
        "stream_p95": {
            "target": f"stream mode, all phases: p95 <= {STREAM_P95_MAX_MS:g} ms",
            "value_ms": stream["p95_ms"],
            "n": stream["n"],
            "pass": stream["n"] > 0 and stream["p95_ms"] <= STREAM_P95_MAX_MS,
        },
        "hits_median": {
            "target": f"hits tab first page: median <= {HITS_MEDIAN_MAX_MS:g} ms",
            "value_ms": hits["median_ms"],
            "max_ms": hits["max_ms"],
            "n": len(hits["loads"]),
            "pass": hits["median_ms"] <= HITS_MEDIAN_MAX_MS,
        },
    }


def fmt(summary: dict[str, Any]) -> str:
    if not summary["n"]:
        return "n 0"
    return (
        f"p50 {summary['p50_ms']:.0f}, p95 {summary['p95_ms']:.0f}, max {summary['max_ms']:.0f} ms"
        f" (n {summary['n']})"
    )


def kib(n: int) -> str:
    return f"{n / 1024:.1f}"


def summary_lines(results: dict[str, Any]) -> list[str]:
    targets, modes = results["targets"], results["phase_latency"]["modes"]
    hits, bundle = results["hits_tab"], results["bundle"]
    pe, sp, hm = targets["poll_early_max"], targets["stream_p95"], targets["hits_median"]
    env = results["env"]
    lines = [
        f"BlastDeck web bench - Chromium {env['chromium']}, {env['host_cpus']} CPUs, "
        f"took {results['bench_seconds']:.0f} s, load average (1 min) {env['loadavg_start'][0]:.2f}"
        f" at start, {env['loadavg_1min_max_seen']:.2f} max seen",
        f"poll      {verdict(pe['pass'])}  early phases max {pe['value_ms']} ms, p95 {pe['p95_ms']}"
        f" ms (n {pe['n']})  target max <= {POLL_EARLY_MAX_MS:g} ms",
        f"stream    {verdict(sp['pass'])}  all phases p95 {sp['value_ms']} ms (n {sp['n']})  "
        f"target p95 <= {STREAM_P95_MAX_MS:g} ms",
        f"hits tab  {verdict(hm['pass'])}  median {hm['value_ms']:.0f} ms, max {hm['max_ms']:.0f} "
        f"ms ({hm['n']} loads, {hits['hits_total']} hits ({hits.get('hsps_total')} HSPs), "
        f"first page {hits['loads'][0]['rows']} "
        f"rows; hits API median {hits['median_hits_api_ms']:.0f} ms)  "
        f"target median <= {HITS_MEDIAN_MAX_MS:g} ms",
        "phase change -> page, ms:",
    ]
    for mode in MODES:
        m = modes[mode]
        lines.append(f"  {mode:6} all    {fmt(m['all'])}")
        lines.append(f"  {mode:6} early  {fmt(m['early'])}")
        lines.append(f"  {mode:6} steady {fmt(m['steady'])}")
        for name, s in m["by_transition"].items():
            lines.append(f"  {mode:6}   {name}: {fmt(s)}")
        lines.append(
            f"  {mode:6}   lock release -> page shows the next phase: "
            f"{fmt(m['lock_release_to_page'])}"
        )
        if m["not_counted"]:
            shown = "; ".join(f"{k} x{v}" for k, v in m["not_counted"].items())
            lines.append(f"  {mode:6}   not counted: {shown}")
    total = bundle["total"]
    lines.append(
        f"bundle    no target: {total['all']['files']} files, "
        f"{kib(total['all']['raw_bytes'])} KiB raw, {kib(total['all']['gzip9_bytes'])} KiB gzip -9"
        f" (js {kib(total['js']['gzip9_bytes'])} KiB, css {kib(total['css']['gzip9_bytes'])} KiB)"
    )
    for f in bundle["files"]:
        lines.append(
            f"  {f['file']:40} {kib(f['raw_bytes']):>8} KiB raw {kib(f['gzip9_bytes']):>7} KiB gzip"
        )
    return lines


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    ensure_web_app(args.wait_web, args.build)
    load_start = list(os.getloadavg())
    if load_start[0] > 1.0:
        print(f"warning: load average {load_start[0]:.2f}: the host is busy, timings will suffer")
    bundle = measure_bundle()
    work = Path(tempfile.mkdtemp(prefix="blastdeck-bench-web-"))
    try:
        with sync_playwright() as p:
            browser = launch(p)
            try:
                chromium = browser.version
                phases, health = measure_phases(browser, work, args.jobs, args.seed, args.verbose)
                hits = measure_hits(browser, args.data.resolve(), args.loads)
            finally:
                browser.close()
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    env = environment(health)
    env["loadavg_start"] = load_start
    env["loadavg_1min_max_seen"] = max(
        [r["loadavg_1min"] for r in [*phases["jobs"], *hits["loads"]]]
    )
    env["chromium"] = chromium
    env["chromium_args"] = CHROMIUM_ARGS
    env["machine"] = (
        f"{os.cpu_count()} CPUs; browser, server and BLAST share them, so timings are noisy"
    )
    env["loadavg_end"] = list(os.getloadavg())
    results: dict[str, Any] = {
        "bench": "web",
        "settings": {
            "jobs_per_mode": args.jobs,
            "hits_loads": args.loads,
            "seed": args.seed,
            "hold_s": list(HOLD_S),
            "data_dir": str(args.data.resolve()),
        },
        "env": env,
        "phase_latency": phases,
        "hits_tab": hits,
        "bundle": bundle,
        "bench_seconds": round(time.monotonic() - started, 1),
    }
    results["targets"] = judge(results)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--jobs", type=int, default=JOBS_PER_MODE, help=f"jobs per mode ({JOBS_PER_MODE})"
    )
    parser.add_argument(
        "--loads", type=int, default=HITS_LOADS, help=f"hits tab loads ({HITS_LOADS})"
    )
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help=f"bench data dir (default {DEFAULT_DATA})"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"JSON output ({RESULTS})")
    parser.add_argument("--seed", type=int, default=1, help="seed of the lock hold times (1)")
    parser.add_argument(
        "--wait-web", type=float, default=0.0, help="wait this many s for the built web app"
    )
    parser.add_argument("--build", action="store_true", help="run `npm run build` in web/ first")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work dir")
    parser.add_argument("--verbose", action="store_true", help="print job events and page logs")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.loads < 1:
        parser.error("--jobs and --loads must be at least 1")
    # SIGTERM (e.g. a timeout) unwinds like Ctrl-C, so the servers are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))
    try:
        results = run(args)
    except (
        BenchError,
        PlaywrightError,
        subprocess.SubprocessError,
        httpx.HTTPError,
        redis.RedisError,
        OSError,
    ) as exc:
        print(f"web bench failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    write_json(args.out, results)
    print()
    print("\n".join(summary_lines(results)))
    print(f"results: {shown_path(args.out)}")
    return 0 if all(t["pass"] for t in results["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
