"""Bare BLAST+ commands: raw BLAST's own command against the two processes a split job runs.

    .venv/bin/python bench/split_or_raw.py [--sets n3000-s7,...] [--options mts25,strict,...]
        [--rounds 3] [--data-root|--data /work/bench-data] [--out bench/results/split_or_raw.json]

For each make-bench-data set (50 16S queries, `queries-16s-50.fa`) and option set, `--rounds`
interleaved rounds (raw first on even rounds) of

- raw: `blastn -query Q -db DB -outfmt 6 -num_threads 2` with the options;
- split: the same on the two halves `plan_split` makes of the queries (equal in letters), side
  by side, each with the threads the plan gives it (two).

No server: this isolates the BLAST side of the split rule (docs/performance.md, "one process
when BLAST reports few subjects"). Reports per cell the median wall and CPU (getrusage of the
children) of each, the median of the per-round ratios split / raw, and raw's cores used (CPU /
wall: how much of the two cores raw BLAST's threads keep busy).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import BENCH_DIR, environment, fasta_records, median, r3, write_json

from blastdeck.domain.programs import Program
from blastdeck.domain.search_split import plan_split

RESULTS = BENCH_DIR / "results" / "split_or_raw.json"
DATA_ROOT = Path("/work/bench-data")
SETS = "n3000-s7,n3000-s19,n10000-s7,n10000-s19"
OPTIONS: dict[str, list[str]] = {
    "mts25": ["-max_target_seqs", "25"],
    "strict": ["-evalue", "1e-10", "-max_target_seqs", "25"],
    "mts50": ["-max_target_seqs", "50"],
    "mts100": ["-max_target_seqs", "100"],
    "mts250": ["-max_target_seqs", "250"],
    "default": [],
    "e1e-10": ["-evalue", "1e-10"],
}


def timed(commands: list[list[str]]) -> tuple[float, float]:
    """Run the commands side by side: (wall seconds, their CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    procs = [subprocess.Popen(c, stdout=subprocess.DEVNULL) for c in commands]
    codes = [p.wait() for p in procs]
    wall = time.perf_counter() - started
    if any(codes):
        raise SystemExit(f"BLAST failed ({codes}): {commands[0]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def halves(directory: Path, scratch: Path) -> tuple[Path, list[tuple[Path, int]]]:
    """The query file and the split's query files with their threads."""
    query = directory / "queries-16s-50.fa"
    records = list(fasta_records(query, 10**6))
    letters = [len("".join(r.splitlines()[1:])) for r in records]
    plan = plan_split(Program.BLASTN, letters, slots=2)
    parts = []
    for i, batch in enumerate(plan.batches):
        path = scratch / f"{directory.name}-{i}.fa"
        path.write_text("".join(records[batch.start : batch.end]))
        parts.append((path, batch.threads))
    return query, parts


def blastn(query: Path, db: str, threads: int, extra: list[str], out: Path) -> list[str]:
    argv = ["blastn", "-query", str(query), "-db", db, "-outfmt", "6"]
    return [*argv, "-num_threads", str(threads), *extra, "-out", str(out)]


def measure(name: str, key: str, arms: dict[str, list[list[str]]], rounds: int) -> dict[str, Any]:
    """The cell's row: `rounds` interleaved rounds of the raw and split commands."""
    seen: dict[str, list[tuple[float, float]]] = {"raw": [], "split": []}
    for r in range(rounds):
        for arm in ("raw", "split") if r % 2 == 0 else ("split", "raw"):
            seen[arm].append(timed(arms[arm]))
    raw_wall = median([w for w, _ in seen["raw"]])
    raw_cpu = median([c for _, c in seen["raw"]])
    pairs = zip(seen["raw"], seen["split"], strict=True)
    return {
        "set": name,
        "options": key,
        "argv_options": OPTIONS[key],
        "raw_wall_s": r3(raw_wall),
        "split_wall_s": r3(median([w for w, _ in seen["split"]])),
        "raw_cpu_s": r3(raw_cpu),
        "split_cpu_s": r3(median([c for _, c in seen["split"]])),
        "ratio": r3(median([split[0] / raw[0] for raw, split in pairs])),
        "raw_cores": r3(raw_cpu / raw_wall),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", default=SETS)
    parser.add_argument("--options", default=",".join(OPTIONS), help="names of OPTIONS")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-root", "--data", type=Path, default=DATA_ROOT)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-split-or-raw-") as tmp:
        scratch = Path(tmp)
        for name in args.sets.split(","):
            directory = args.data_root / name
            db = str(next(directory.glob("16s-*.nsq")).with_suffix(""))
            query, parts = halves(directory, scratch)
            for key in args.options.split(","):
                raw_out = scratch / "raw.tsv"
                arms = {
                    "raw": [blastn(query, db, 2, OPTIONS[key], raw_out)],
                    "split": [
                        blastn(q, db, t, OPTIONS[key], scratch / f"part{i}.tsv")
                        for i, (q, t) in enumerate(parts)
                    ],
                }
                row = measure(name, key, arms, args.rounds)
                with raw_out.open() as table:
                    row["hsps"] = sum(1 for _ in table)
                rows.append(row)
                print(f"{name} {key}: split/raw {row['ratio']} (raw cores {row['raw_cores']})")
    report = {"benchmark": "split_or_raw", "rounds": args.rounds, "rows": rows}
    write_json(args.out, {**report, "environment": environment({})})
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
