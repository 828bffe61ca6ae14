"""A million hits: browsing and downloading a big finished job stays fast.

    .venv/bin/python bench/million_hits.py [--repeats 20] [--cache /work/bench-data]

Two jobs, built once by a real `blastdeck serve` and cached with their data dir
(`bench/_million_jobs.py`; the first build takes minutes):

- `million-s7`: 1,000 16S queries sampled (seed 7, ~3 % mutations) from n10000-s19's genes
  against n3000-s7's 3,000-gene database, `evalue 10, max_target_seqs 1000` (~0.93M HSPs);
- `big-s19`: 300 queries (seed 19, from n10000-s7's genes) against n3000-s19's database,
  `evalue 1e-3, max_target_seqs 500, word_size 20` (~0.2M HSPs): another data set, size and
  option set.

For each job, served by a real `blastdeck serve` on its cached data dir:

1. the final index: how long writing it takes (`final_index.finalize`, timed in this process on
   a scratch copy of the job's per-batch index, best of 3), its size, and the first read of a
   job that has none (it is built then);
2. every sort the hits and HSP lists offer, both directions, and every filter (first page,
   `limit=100`): p95 and median of `--repeats` requests, the first one included;
3. a deep page (offset near the end) of the default and two other sorts, one filtered;
4. `/queries`;
5. TSV and CSV downloads streamed to the end (the first one renders the file, the second sends
   the cached file): the server's RSS growth over its RSS before, sampled every 20 ms;
6. the web page's Hits tab in Chromium (`--hits-tab-loads`, 5): navigation to the first page
   of rows rendered, measured as `web.py` measures it.

Targets (issue 16): first page p95 <= 200 ms, deep page p95 <= 300 ms, /queries p95 <= 300 ms,
RSS growth <= 100 MB, Hits tab median <= 1 s. Writes bench/results/million_hits.json and prints
the whole table.
Exit status: 0 every target met, 1 a target missed, 2 the benchmark could not run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import (
    BENCH_DIR,
    BenchError,
    Server,
    environment,
    nearest_rank,
    write_json,
)
from _million_jobs import JobSpec, build_job, cached_job, specs
from playwright.sync_api import sync_playwright

import web

RESULTS = BENCH_DIR / "results" / "million_hits.json"
FIRST_PAGE_MS = 200.0
DEEP_PAGE_MS = 300.0
QUERIES_MS = 300.0
RSS_GROWTH_MB = 100.0
HITS_TAB_MS = web.HITS_MEDIAN_MAX_MS  # the Hits tab shows its first rows <= 1 s after navigation
RSS_INTERVAL_S = 0.02

HIT_SORTS = ("evalue", "max_score", "total_score", "qcovs", "pident", "slen", "query", "subject_id")
HSP_SORTS = ("evalue", "bitscore", "pident", "qcovhsp", "length", "query", "subject_id")


# -- the final index -------------------------------------------------------------------------


def keep_batch_index(job_dir: Path, cache: Path) -> Path:
    """A copy of the job's per-batch index (the final index replaces it on first read)."""
    kept = cache / "batch-index"
    if not kept.exists():
        source = job_dir / "index"
        draft = cache / ".batch-index.part"
        shutil.rmtree(draft, ignore_errors=True)
        draft.mkdir()
        if any(source.glob("batch_*.npz")):
            for f in source.glob("batch_*.npz"):
                shutil.copy2(f, draft / f.name)
        else:  # already replaced by the final index: index the batch tables again
            from blastdeck.results.hsp_index import write_batch_index
            from blastdeck.results.hsps import read_hsps

            scratch = Path(tempfile.mkdtemp(dir=cache))
            for b in json.loads((job_dir / "plan.json").read_text())["batches"]:
                hsps = read_hsps(Path(b["table"]), b["query_ids"], b["query_offset"])
                write_batch_index(scratch, b["index"], b["query_offset"], b["query_ids"], hsps)
            for f in (scratch / "index").iterdir():
                shutil.move(f, draft / f.name)
            shutil.rmtree(scratch)
        draft.rename(kept)
    return kept


def time_finalize(kept: Path, runs: int = 3) -> dict[str, Any]:
    from blastdeck.results import final_index

    times = []
    size = 0
    for _ in range(runs):
        with tempfile.TemporaryDirectory(dir=kept.parent) as scratch:
            shutil.copytree(kept, Path(scratch) / "index")
            started = time.perf_counter()
            final_index.finalize(Path(scratch))
            times.append(time.perf_counter() - started)
            final = final_index.final_dir(Path(scratch))
            size = sum(f.stat().st_size for f in final.iterdir())
    batch_bytes = sum(f.stat().st_size for f in kept.iterdir())
    return {
        "finalize_s_best": round(min(times), 2),
        "finalize_s_runs": [round(t, 2) for t in times],
        "final_index_mb": round(size / 2**20, 1),
        "batch_index_mb": round(batch_bytes / 2**20, 1),
    }


# -- requests --------------------------------------------------------------------------------


def timed(server: Server, path: str, params: dict[str, Any], repeats: int) -> dict[str, Any]:
    assert server.client is not None
    times, total = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        response = server.client.get(path, params=params)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise BenchError(f"GET {path} {params} -> {response.status_code}: {response.text}")
        total = response.json().get("total")
    return {
        "p95_ms": round(nearest_rank(times, 0.95), 1),
        "median_ms": round(statistics.median(times), 1),
        "first_ms": round(times[0], 1),
        "total": total,
    }


def browse_cases(job: dict[str, Any], queries: list[dict[str, Any]]) -> list[tuple[str, str, dict]]:
    """(label, route, params) of every sort (both directions) and filter of /hits and /hsps."""
    busiest = max(queries, key=lambda q: q["hsps"])
    cases: list[tuple[str, str, dict]] = []
    for route, sorts, cover in (
        ("hits", HIT_SORTS, "min_qcovs"),
        ("hsps", HSP_SORTS, "min_qcovhsp"),
    ):
        for sort in sorts:
            for order in ("asc", "desc"):
                cases.append(
                    (f"{route} sort={sort} {order}", route, {"sort": sort, "order": order})
                )
        filters: list[dict[str, Any]] = [
            {"min_pident": 99},
            {cover: 90},
            {"max_evalue": 1e-50},
            {"query_id": busiest["query_id"]},
            {"query_index": busiest["query_index"]},
            {"sort": "pident", "max_evalue": 1e-100},
            {"sort": "subject_id", "min_pident": 95, cover: 80},
        ]
        if route == "hsps":
            filters.append({"subject_id": job["_some_subject"]})
        for params in filters:
            label = " ".join(f"{k}={v}" for k, v in params.items())
            cases.append((f"{route} {label}", route, params))
    return cases


DEEP_FILTER = {"min_pident": 90}


def deep_cases(totals: dict[str, int]) -> list[tuple[str, str, dict]]:
    """The last page (offset = total - 100) of three sorts, and of one filter."""
    cases = []
    for route in ("hits", "hsps"):
        end = max(0, totals[route] - 100)
        filtered_end = max(0, totals[f"{route} filtered"] - 100)
        cases += [
            (f"{route} deep default", route, {"offset": end}),
            (
                f"{route} deep sort=pident asc",
                route,
                {"sort": "pident", "order": "asc", "offset": end},
            ),
            (f"{route} deep sort=subject_id", route, {"sort": "subject_id", "offset": end}),
            (f"{route} deep min_pident=90", route, {**DEEP_FILTER, "offset": filtered_end}),
        ]
    return cases


# -- downloads -------------------------------------------------------------------------------


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def download_rss(server: Server, job_id: str, fmt: str) -> dict[str, Any]:
    """Stream one download to the end; the server's RSS growth while it was served."""
    assert server.client is not None
    before = rss_kb(server.pid)
    peak = [before]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kb(server.pid))
            stop.wait(RSS_INTERVAL_S)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    size = 0
    first_byte = None
    try:
        with server.client.stream(
            "GET", f"/api/jobs/{job_id}/download", params={"format": fmt}
        ) as response:
            if response.status_code != 200:
                raise BenchError(f"{fmt} download -> {response.status_code}")
            for chunk in response.iter_bytes(1 << 20):
                if first_byte is None:
                    first_byte = time.perf_counter() - started
                size += len(chunk)
    finally:
        stop.set()
        sampler.join()
    return {
        "mb": round(size / 2**20, 1),
        "seconds": round(time.perf_counter() - started, 2),
        "first_byte_s": round(first_byte or 0.0, 2),
        "rss_before_mb": round(before / 1024, 1),
        "rss_growth_mb": round((peak[0] - before) / 1024, 1),
    }


# -- one job ---------------------------------------------------------------------------------


def measure_hits_tab(server: Server, job_id: str, loads: int, log) -> dict[str, Any]:
    """The web page's Hits tab on this job, as `web.py` measures it on its 100k-HSP job: one
    warm-up load, then `loads` loads, each in a fresh browser context."""
    with sync_playwright() as p:
        browser = web.launch(p)
        try:
            web.load_hits_tab(browser, server.url, job_id)
            runs = [web.load_hits_tab(browser, server.url, job_id) for _ in range(loads)]
        finally:
            browser.close()
    rendered = [r["rendered_ms"] for r in runs]
    figures = {
        "definition": "ms from the navigation to /jobs/<id>?tab=hits to the first full page of "
        "rows rendered (web.py's measure), fresh browser context per load",
        "loads_ms": rendered,
        "median_ms": round(statistics.median(rendered), 1),
        "max_ms": round(max(rendered), 1),
        "median_hits_api_ms": round(
            statistics.median([r["first_hits_api_duration_ms"] or 0 for r in runs]), 1
        ),
        "target_ms": HITS_TAB_MS,
    }
    figures["ok"] = figures["median_ms"] <= HITS_TAB_MS
    log(f"hits tab: {figures}")
    return figures


def measure_job(
    spec: JobSpec, data: Path, repeats: int, log, hits_tab_loads: int = 0
) -> dict[str, Any]:
    cache = data / spec.name
    record = cached_job(cache) or build_job(spec, cache, log)
    job_id = record["job_id"]
    server = Server(cache, name="server")
    job_dir = server.data_dir / "jobs" / job_id
    exports = job_dir / "exports"
    for fmt in ("tsv", "csv"):  # each run renders them anew
        (exports / f"results.{fmt}").unlink(missing_ok=True)
    kept = keep_batch_index(job_dir, cache)
    out: dict[str, Any] = {"job": record, "final_index": time_finalize(kept)}
    log(f"{spec.name}: final index {out['final_index']}")
    server.start()
    try:
        assert server.client is not None
        started = time.perf_counter()
        first = server.request("GET", f"/api/jobs/{job_id}/hits").json()
        out["final_index"]["first_read_s"] = round(time.perf_counter() - started, 2)
        job = server.request("GET", f"/api/jobs/{job_id}").json()
        job["_some_subject"] = first["items"][0]["subject_id"]
        queries = server.request("GET", f"/api/jobs/{job_id}/queries").json()["items"]
        totals = {"hits": job["hits_total"], "hsps": job["hsps_total"]}
        for route in ("hits", "hsps"):
            filtered = server.request("GET", f"/api/jobs/{job_id}/{route}", params=DEEP_FILTER)
            totals[f"{route} filtered"] = filtered.json()["total"]
        rows: list[dict[str, Any]] = []
        for kind, cases, target in (
            ("first page", browse_cases(job, queries), FIRST_PAGE_MS),
            ("deep page", deep_cases(totals), DEEP_PAGE_MS),
            ("queries", [("/queries", "queries", {})], QUERIES_MS),
        ):
            for label, route, params in cases:
                figures = timed(server, f"/api/jobs/{job_id}/{route}", params, repeats)
                rows.append(
                    {"kind": kind, "case": label, "target_ms": target, **figures}
                    | {"ok": figures["p95_ms"] <= target}
                )
        out["browse"] = rows
        out["downloads"] = {
            f"{fmt} {which}": download_rss(server, job_id, fmt)
            for fmt in ("tsv", "csv")
            for which in ("first (renders)", "cached")
        }
        for figures in out["downloads"].values():
            figures["ok"] = figures["rss_growth_mb"] <= RSS_GROWTH_MB
        out["server_rss_end_mb"] = round(rss_kb(server.pid) / 1024, 1)
        if hits_tab_loads:
            out["hits_tab"] = measure_hits_tab(server, job_id, hits_tab_loads, log)
    finally:
        server.stop()
    return out


def print_table(results: dict[str, Any]) -> None:
    for name, job in results["jobs"].items():
        rec = job["job"]
        print(f"\n== {name}: {rec['hsps']} HSPs, {rec['hits']} hits, job wall {rec['wall_s']} s")
        print(f"   final index: {job['final_index']}")
        print(f"   {'kind':<11} {'case':<52} {'p95 ms':>8} {'median':>8} {'first':>8} {'total':>9}")
        for row in job["browse"]:
            mark = "" if row["ok"] else "  MISSED"
            print(
                f"   {row['kind']:<11} {row['case']:<52} {row['p95_ms']:>8} {row['median_ms']:>8} "
                f"{row['first_ms']:>8} {row['total']!s:>9}{mark}"
            )
        for label, d in job["downloads"].items():
            mark = "" if d["ok"] else "  MISSED"
            print(
                f"   download {label:<20} {d['mb']:>7} MB in {d['seconds']:>6} s, first byte "
                f"{d['first_byte_s']} s, RSS {d['rss_before_mb']} MB +{d['rss_growth_mb']} MB{mark}"
            )
        if "hits_tab" in job:
            tab = job["hits_tab"]
            mark = "" if tab["ok"] else "  MISSED"
            print(
                f"   Hits tab: median {tab['median_ms']} ms, max {tab['max_ms']} ms over "
                f"{len(tab['loads_ms'])} loads (hits API {tab['median_hits_api_ms']} ms){mark}"
            )
    print(f"\nall targets met: {results['all_ok']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--data", type=Path, default=Path("/work/bench-data"))
    parser.add_argument("--only", help="one job by name (million-s7, big-s19)")
    parser.add_argument(
        "--hits-tab-loads", type=int, default=5, help="Hits tab loads in Chromium (0: none)"
    )
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        jobs = {}
        for spec in specs(args.data):
            if args.only and spec.name != args.only:
                continue
            jobs[spec.name] = measure_job(spec, args.data, args.repeats, log, args.hits_tab_loads)
    except BenchError as exc:
        print(f"million_hits: {exc}", file=sys.stderr)
        return 2
    ok = all(
        all(r["ok"] for r in job["browse"])
        and all(d["ok"] for d in job["downloads"].values())
        and job.get("hits_tab", {}).get("ok", True)
        for job in jobs.values()
    )
    results = {
        "env": environment({}),
        "command": "python bench/million_hits.py " + " ".join(argv or sys.argv[1:]),
        "repeats": args.repeats,
        "targets": {
            "first_page_p95_ms": FIRST_PAGE_MS,
            "deep_page_p95_ms": DEEP_PAGE_MS,
            "queries_p95_ms": QUERIES_MS,
            "download_rss_growth_mb": RSS_GROWTH_MB,
            "hits_tab_median_ms": HITS_TAB_MS,
        },
        "jobs": jobs,
        "all_ok": ok,
    }
    write_json(RESULTS, results)
    print_table(results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
