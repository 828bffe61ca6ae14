"""BlastDeck's own time per job: this checkout against an earlier revision, side by side.

    .venv/bin/python bench/job_overhead.py [--base REV] [--rounds 20] [--sets n10000-s7,n3000-s19]
        [--options '{"taxids": "Enterobacterales"}'] [--case 16s-50|blastp-50|blastx-20]
        [--out bench/results/job_overhead.json]

A short job is mostly BlastDeck's own time (the submit request, the steps' records, the index),
so this measures it where it shows: the 50 make-bench-data 16S queries, filtered to
Enterobacterales (sub-second searches), on each set. Two `blastdeck serve`, one running this
checkout and one a `git worktree` of `--base` (the same venv, the base tree first on
PYTHONPATH), get the same jobs in alternating order; each job's wall time is from just before
its POST to its `finished_at`. Reports the median wall time of each and their difference, and
the running step's median (BLAST, the same work in both). `--base` defaults to HEAD: the
uncommitted changes against the last commit, and on a clean tree two servers running the same
code (the noise floor, as `make bench` runs it). `--options` gives the jobs other
options (JSON, the job's `options`), to compare two revisions' plans for them side by side;
`--case blastp-50` or `blastx-20` runs `search_speed.py`'s protein jobs instead (its UniProt
sample database and queries for each set, no options unless given). Writes
bench/results/job_overhead.json (or `--out`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import _common
import search_speed  # its protein jobs (--case): database and queries, built on first use
from _common import BENCH_DIR, REPO, BenchError, environment, fasta_records
from taxonomy_search import Server  # its run_job: POST, poll to the end, wall to finished_at

RESULTS = BENCH_DIR / "results" / "job_overhead.json"
DATA_ROOT = Path("/work/bench-data")
TAXA = {"taxids": "Enterobacterales"}


def run_job(
    server: Server, database: str, fasta: str, options: dict[str, Any], program: str = "blastn"
) -> tuple[float, float]:
    """(wall time from POST to finished_at, the running step's duration), in seconds."""
    job, wall, _client = server.run_job(database, fasta, options, program=program)
    run = next(s for s in job["steps"] if s["key"] == "running")
    blast = _common.parse_time(run["completed_at"]) - _common.parse_time(run["started_at"])
    return wall, blast.total_seconds()


def job_inputs(case: str, data_root: Path, name: str) -> tuple[str, Path, str]:
    """The program, database prefix and query FASTA of `case` on the bench set `name`."""
    directory = data_root / name
    if case == "16s-50":
        prefix = next(directory.glob("16s-*.nin")).with_suffix("")
        return "blastn", prefix, "".join(fasta_records(directory / "queries-16s-50.fa", 50))
    data = search_speed.data_set(data_root, name)
    chosen = next(c for c in search_speed.CASES if c.name == case)
    return chosen.program, data.files[chosen.molecule], data.files[chosen.queries].read_text()


def start(work: Path, name: str, tree: Path) -> Server:
    """A server running the code in `tree` (its package first on PYTHONPATH)."""
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(tree)
    try:
        server = Server(work, name=name)
        server.start()
    finally:
        if previous is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = previous
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="HEAD", help="the earlier revision (git rev; HEAD)")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--sets", default="n10000-s7,n3000-s19")
    parser.add_argument("--data-root", type=Path, default=DATA_ROOT)
    parser.add_argument(
        "--options", type=json.loads, help="the jobs' options (16s-50: within Enterobacterales)"
    )
    parser.add_argument(
        "--case",
        default="16s-50",
        choices=("16s-50", "blastp-50", "blastx-20"),
        help="the jobs: 50 16S queries (blastn), or search_speed.py's blastp-50 / blastx-20 "
        "(its protein database and queries for each set; --options defaults to none for them)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.options is None:
        args.options = TAXA if args.case == "16s-50" else {}
    base_rev = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", args.base], capture_output=True, text=True
    ).stdout.strip()
    if not base_rev:
        print(f"unknown revision {args.base}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="bench-job-overhead-"))
    base_tree = work / "base"
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(base_tree), base_rev],
        check=True,
    )
    servers: dict[str, Server] = {}
    rows: list[dict[str, Any]] = []
    try:
        servers["base"] = start(work, "base", base_tree)
        servers["this"] = start(work, "this", REPO)
        for name in args.sets.split(","):
            program, prefix, query = job_inputs(args.case, args.data_root, name)
            for server in servers.values():
                server.register(name, prefix)
                # warm-up: the page cache, the taxonomy
                run_job(server, name, query, args.options, program)
            runs: dict[str, list[tuple[float, float]]] = {"base": [], "this": []}
            for i in range(args.rounds):
                for arm in ("base", "this") if i % 2 == 0 else ("this", "base"):
                    runs[arm].append(run_job(servers[arm], name, query, args.options, program))
            row: dict[str, Any] = {"set": name, "case": args.case, "rounds": args.rounds}
            for arm, pairs in runs.items():
                row[f"{arm}_wall_s"] = round(statistics.median(w for w, _ in pairs), 3)
                row[f"{arm}_running_s"] = round(statistics.median(b for _, b in pairs), 3)
                row[f"{arm}_walls_s"] = [round(w, 3) for w, _ in pairs]
            row["saved_ms"] = round(1000 * (row["base_wall_s"] - row["this_wall_s"]), 1)
            rows.append(row)
            print(
                f"{name}: base {row['base_wall_s']} s, this {row['this_wall_s']} s "
                f"(saved {row['saved_ms']} ms); running step {row['base_running_s']} / "
                f"{row['this_running_s']} s",
                flush=True,
            )
        health = servers["this"].health()
    except BenchError as exc:
        print(f"benchmark could not run: {exc}", file=sys.stderr)
        return 2
    finally:
        for server in servers.values():
            server.stop()
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(base_tree)])
        shutil.rmtree(work, ignore_errors=True)
    _common.write_json(
        args.out,
        {
            "benchmark": "job_overhead",
            "what": "median job wall time (POST to finished_at), this checkout and --base, "
            "in alternating order, 50 make-bench-data 16S queries with `options`",
            "options": args.options,
            "base": base_rev,
            "environment": environment(health),
            "rows": rows,
        },
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
