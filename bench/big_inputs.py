"""Big inputs: 10,000 queries in one job: submit, batch progress, cancel.

    .venv/bin/python bench/big_inputs.py [--rounds R] [--modes embedded,distributed] [--data DIR]

For each bench data set (n3000-s7 and n10000-s19: two sizes, two seeds), 10,000 queries are cut
from that data set's own 16S sequences (400-letter windows at varying offsets: 4 million
letters, under the default per-job limit of 10 million), and each option set (BLAST's defaults;
`evalue 1e-10, max_target_seqs 25`) is run R times on each mode (embedded: `blastdeck serve` on
SQLite; distributed: `serve` + one `blastdeck worker` on PostgreSQL + Redis):
- submit   - the POST /api/jobs round trip (parse, validate, store, enqueue). Target <= 2 s.
- progress - from the answer to the first GET that shows the job running with its batches
             counted, and whether a batch finishing moves the count while it runs.
- cancel   - from POST /cancel to the job `cancelled` with no BLAST process of it left.
             Target <= 2 s.
Also, in this process: where a submit's time goes (parsing the FASTA, normalizing it, storing
the job), on a fresh SQLite store.

Only 127.0.0.1 is contacted; everything made here is removed at the end. Results:
bench/results/big_inputs.json. Exit status: 0 every target met, 1 otherwise, 2 could not run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any

import distributed
from _common import BENCH_DIR, BenchError, Server, environment, median, shown_path, write_json

from blastdeck.domain.fasta import parse_query, to_fasta
from blastdeck.domain.programs import Molecule
from blastdeck.store.database import make_engine, make_session_factory, migrate
from blastdeck.store.jobs import JobStore
from blastdeck.store.new_job import NewJob

RESULTS = BENCH_DIR / "results" / "big_inputs.json"
DATA = Path("/work/bench-data")
DATA_SETS = ("n3000-s7", "n10000-s19")
OPTION_SETS = {"defaults": {}, "evalue_1e-10_max25": {"evalue": 1e-10, "max_target_seqs": 25}}
QUERIES, WINDOW = 10_000, 400
TARGET_SUBMIT_S, TARGET_CANCEL_S = 2.0, 2.0
WATCH_S = 0.05  # how often the bench looks at the job


def read_sequences(path: Path) -> list[tuple[str, str]]:
    records, name, parts = [], None, []
    with path.open() as fh:
        for line in fh:
            if line.startswith(">"):
                if name is not None:
                    records.append((name, "".join(parts)))
                name, parts = line[1:].split()[0], []
            else:
                parts.append(line.strip())
    if name is not None:
        records.append((name, "".join(parts)))
    return records


def make_queries(data_set: str) -> str:
    """10,000 windows of the data set's own sequences (each long enough for one)."""
    fasta = next((DATA / data_set).glob("16s-*.fa"))
    usable = [(n, s) for n, s in read_sequences(fasta) if len(s) >= WINDOW + 200]
    lines = []
    for i in range(QUERIES):
        name, sequence = usable[i % len(usable)]
        offset = (i * 37) % 200
        lines.append(f">{name}_w{i}\n{sequence[offset : offset + WINDOW]}\n")
    return "".join(lines)


def blast_pids(job_id: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError):
                if job_id.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


def one_run(server: Server, database: str, queries: str, options: dict[str, Any]) -> dict:
    body = {"program": "blastn", "database": database, "query": queries, "options": options}
    started = time.monotonic()
    job = server.request("POST", "/api/jobs", json=body).json()
    submit_s = time.monotonic() - started
    job_id = job["id"]
    answered = time.monotonic()
    visible_s = None
    seen_done: set[int] = set()
    deadline = answered + 300
    while time.monotonic() < deadline:
        current = server.request("GET", f"/api/jobs/{job_id}").json()
        progress = current["progress"]
        if visible_s is None and current["phase"] == "running" and progress["batches_total"]:
            visible_s = time.monotonic() - answered
        if visible_s is not None:
            seen_done.add(progress["batches_done"])
            # Cancel once a batch has finished (progress moved), or after 10 s of running.
            if progress["batches_done"] >= 1 or time.monotonic() - answered > visible_s + 10:
                break
        if current["phase"] in ("completed", "failed", "cancelled"):
            raise BenchError(f"job {job_id} ended {current['phase']} before the cancel")
        time.sleep(WATCH_S)
    else:
        raise BenchError(f"job {job_id} never showed batch progress")
    cancel_started = time.monotonic()
    server.request("POST", f"/api/jobs/{job_id}/cancel")
    cancel_answer_s = time.monotonic() - cancel_started
    while True:
        phase = server.request("GET", f"/api/jobs/{job_id}").json()["phase"]
        if phase == "cancelled" and not blast_pids(job_id):
            break
        if time.monotonic() - cancel_started > 120:
            raise BenchError(f"job {job_id} not cancelled after 120 s ({phase})")
        time.sleep(WATCH_S / 5)
    return {
        "submit_s": round(submit_s, 3),
        "query_count": job["query_count"],
        "progress_visible_s": round(visible_s, 2),
        "batches_total": progress["batches_total"],
        "batches_done_seen": sorted(seen_done),
        "cancel_answer_s": round(cancel_answer_s, 3),
        "cancel_s": round(time.monotonic() - cancel_started, 3),
    }


def submit_breakdown(queries: str, work: Path) -> dict[str, float]:
    """Where a submit's time goes, in this process, on a fresh SQLite store."""
    started = time.perf_counter()
    records = parse_query(queries, Molecule.NUCLEOTIDE)
    parsed = time.perf_counter()
    text = to_fasta(records)
    normalized = time.perf_counter()
    engine = make_engine(f"sqlite:///{work / 'breakdown.sqlite3'}")
    migrate(engine)
    store = JobStore(make_session_factory(engine))
    before_store = time.perf_counter()
    letters = sum(len(r.sequence) for r in records)
    new = NewJob("t", "blastn", "db", "local", "default", {}, text, len(records), letters)
    job = store.create(new)
    stored = time.perf_counter()
    store.get(job.id)
    read = time.perf_counter()
    engine.dispose()
    return {
        "request_bytes": len(queries),
        "parse_s": round(parsed - started, 3),
        "normalize_s": round(normalized - parsed, 3),
        "store_s": round(stored - before_store, 3),
        "status_read_s": round(read - stored, 4),
    }


def run_mode(mode: str, work: Path, rounds: int, queries: dict[str, str]) -> dict[str, Any]:
    with ExitStack() as stack:
        cleanup: dict[str, Any] = {}
        if mode == "embedded":
            server = Server(work, "embedded")
            stack.callback(server.stop, group=True)
            print(f"embedded: blastdeck serve on {server.url} ...", flush=True)
            server.start()
        else:
            distributed.WORKER_PROCESSES = 1
            dep = distributed.start_distributed(work, stack, cleanup)
            server = dep.server
        health = server.health()
        rows = []
        for data_set in DATA_SETS:
            prefix = next((DATA / data_set).glob("16s-*.nin")).with_suffix("")
            server.register(f"bench-{data_set}", prefix)
        for round_no in range(rounds):  # interleaved: every case once per round
            for data_set in DATA_SETS:
                for option_name, options in OPTION_SETS.items():
                    row = one_run(server, f"bench-{data_set}", queries[data_set], options)
                    row.update(
                        {"round": round_no + 1, "data_set": data_set, "options": option_name}
                    )
                    print(f"{mode}: {row}", flush=True)
                    rows.append(row)
        return {
            "database": health.get("database"),
            "runs": rows,
            "cleanup": cleanup,
            "environment": environment(health),
        }


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    cases: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        cases.setdefault((row["data_set"], row["options"]), []).append(row)
    table = []
    for (data_set, options), runs in cases.items():
        table.append(
            {
                "data_set": data_set,
                "options": options,
                "runs": len(runs),
                "submit_median_s": round(median([r["submit_s"] for r in runs]), 3),
                "submit_max_s": max(r["submit_s"] for r in runs),
                "progress_visible_median_s": round(
                    median([r["progress_visible_s"] for r in runs]), 2
                ),
                "batches_total": sorted({r["batches_total"] for r in runs}),
                "cancel_median_s": round(median([r["cancel_s"] for r in runs]), 3),
                "cancel_max_s": max(r["cancel_s"] for r in runs),
            }
        )
    return {
        "table": table,
        "submit_le_2s": all(r["submit_s"] <= TARGET_SUBMIT_S for r in rows),
        "cancel_le_2s": all(r["cancel_s"] <= TARGET_CANCEL_S for r in rows),
        # The job shows its batches (done of total) while BLAST runs; whether one finished
        # before the cancel depends on the host's speed (the first batches are the largest).
        "batch_progress_visible": all(r["batches_total"] > 1 for r in rows),
    }


def main(argv: list[str] | None = None) -> int:
    global DATA  # --data may point elsewhere
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modes", default="embedded,distributed")
    parser.add_argument(
        "--data", type=Path, help=f"a bench data root holding {', '.join(DATA_SETS)} (else {DATA})"
    )
    args = parser.parse_args(argv)
    if args.data is not None and all((args.data / name).is_dir() for name in DATA_SETS):
        DATA = args.data
    if not all(any((DATA / name).glob("16s-*.nin")) for name in DATA_SETS):
        print(f"bench data not ready: {DATA}", file=sys.stderr)
        return 2
    queries = {data_set: make_queries(data_set) for data_set in DATA_SETS}
    results: dict[str, Any] = {
        "targets": {"submit_s": TARGET_SUBMIT_S, "cancel_s": TARGET_CANCEL_S},
        "queries": QUERIES,
        "window_letters": WINDOW,
        "modes": {},
    }
    try:
        with tempfile.TemporaryDirectory(prefix="bench-big-") as tmp:
            results["submit_breakdown"] = {
                data_set: submit_breakdown(text, Path(tmp)) for data_set, text in queries.items()
            }
            for mode in args.modes.split(","):
                data = run_mode(mode, Path(tmp), args.rounds, queries)
                data["summary"] = summary(data["runs"])
                results["modes"][mode] = data
    except BenchError as exc:
        print(f"benchmark could not run: {exc}", file=sys.stderr)
        return 2
    write_json(RESULTS, results)
    ok = True
    print(f"submit breakdown: {results['submit_breakdown']}")
    for mode, data in results["modes"].items():
        print(f"{mode}:")
        for row in data["summary"]["table"]:
            print(f"  {row}")
        verdicts = {k: v for k, v in data["summary"].items() if k != "table"}
        print(f"  verdicts: {verdicts}")
        ok = ok and all(verdicts.values())
    print(f"wrote {shown_path(RESULTS)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
