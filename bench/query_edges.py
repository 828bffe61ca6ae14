"""Does a blastn query's hit table depend on the query before it in BLAST's batch?

    .venv/bin/python bench/query_edges.py [--sets n3000-s7,n10000-s19] [--fasta FILE ...]
        [--queries 200] [--options megablast,ws16,...] [--seed 1] [--before letter|query]
        [--data-root /work/bench-data] [--out bench/results/query_edges.json]

Bare BLAST+ commands, no server. For each make-bench-data set (and each `--fasta`, made a
database here with makeblastdb: e.g. the demo's `blastdeck/demo/demo-16s.fa`, the random
searches' genes), `--queries` random stretches
(60-720 letters) of the database's own sequences, mutated at 0, 2 or 10 % (seeded), are each
searched twice with `blastn -outfmt 6` and the option set: alone (the first query of its BLAST
batch) and after a one-letter query (`>pad A`, so the query is the second), or with `--before
query` after the next stretch of the list, as a query follows another in a job's BLAST
batch. A split job puts a query first in its process that raw BLAST searched after another, so
the planner may split a blastn job finer than BLAST's own batches only for option sets where
no query's rows differ
(`search_split.batch_bound_reason`). Reported per set and option set: the queries whose rows
differ, the rows only one run has, how many of those start at query position 1, and what the
planner does with the options ("split" or "own batches"). Exit status 1 when an option set the
planner splits has a difference, 0 otherwise.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import BENCH_DIR, environment, write_json

from blastdeck.domain.programs import Program
from blastdeck.domain.search_split import batch_bound_reason, scores_given

RESULTS = BENCH_DIR / "results" / "query_edges.json"
DATA_ROOT = Path("/work/bench-data")
OPTIONS: dict[str, list[str]] = {
    "megablast": [],
    "ws24": ["-word_size", "24"],
    "ws20": ["-word_size", "20"],
    "ws18": ["-word_size", "18"],
    "ws17": ["-word_size", "17"],
    "ws16": ["-word_size", "16"],
    "ws15": ["-word_size", "15"],
    "ws14": ["-word_size", "14"],
    "ws13": ["-word_size", "13"],
    "ws12": ["-word_size", "12"],
    "ws11": ["-word_size", "11"],
    "mb-r1p1": ["-reward", "1", "-penalty", "-1", "-gapopen", "2", "-gapextend", "1"],
    "blastn": ["-task", "blastn"],
    "blastn-short": ["-task", "blastn-short"],
    "blastn-short-ws16": ["-task", "blastn-short", "-word_size", "16"],
    "dc-megablast": ["-task", "dc-megablast"],
}
COLUMNS = "6 qseqid sseqid pident length qstart qend sstart send evalue bitscore"


def planner_splits(argv: list[str]) -> bool:
    """Whether the planner splits a job with these BLAST arguments finer than BLAST's batches."""
    options = {name.lstrip("-"): value for name, value in zip(argv[::2], argv[1::2], strict=True)}
    word = options.get("word_size")
    reason = batch_bound_reason(
        Program.BLASTN,
        task=options.get("task"),
        word_size=int(word) if word else None,
        custom_scores=scores_given(options),
    )
    return reason is None


def stretches(fasta: Path, count: int, seed: int) -> list[str]:
    sequences: list[str] = []
    for record in fasta.read_text().split(">")[1:]:
        sequences.append("".join(record.splitlines()[1:]))
    rng = random.Random(seed)
    queries = []
    for _ in range(count):
        source = rng.choice(sequences)
        length = rng.randint(60, min(len(source), 720))
        start = rng.randint(0, len(source) - length)
        rate = rng.choice([0, 0.02, 0.1])
        stretch = source[start : start + length]
        queries.append("".join(rng.choice("ACGT") if rng.random() < rate else c for c in stretch))
    return queries


def rows(db: Path, query_fasta: str, argv: list[str]) -> list[str]:
    out = subprocess.run(
        ["blastn", "-db", str(db), "-outfmt", COLUMNS, *argv],
        input=query_fasta,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line for line in out.splitlines() if line.startswith("q\t")]


def measure(db: Path, queries: list[str], argv: list[str], before: str) -> dict[str, Any]:
    differing, only_one, at_start = 0, 0, 0
    for n, query in enumerate(queries):
        # after one letter, or after the next stretch of the list (as in a job's BLAST batch)
        lead = "A" if before == "letter" else queries[(n + 1) % len(queries)]
        alone = rows(db, f">q\n{query}\n", argv)
        second = rows(db, f">pad\n{lead}\n>q\n{query}\n", argv)
        if alone == second:
            continue
        differing += 1
        changed = set(alone) ^ set(second)
        only_one += len(changed)
        at_start += sum(line.split("\t")[4] == "1" for line in changed)
    return {"queries_differing": differing, "rows_in_one_run": only_one, "rows_at_start": at_start}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default="n3000-s7,n10000-s19")
    parser.add_argument("--fasta", type=Path, action="append", default=[])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--options", default=",".join(OPTIONS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--before",
        choices=("letter", "query"),
        default="letter",
        help="what precedes the query in its second search: one letter, or another stretch",
    )
    parser.add_argument("--data-root", type=Path, default=DATA_ROOT)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    table, failing = [], []
    scratch = Path(tempfile.mkdtemp(prefix="query-edges-"))
    databases: list[tuple[str, Path]] = []
    for name in filter(None, args.sets.split(",")):
        fasta = next((args.data_root / name).glob("16s-*.fa"), None)
        if fasta is None:
            print(f"{args.data_root / name}: no 16s-N.fa (make-bench-data)", file=sys.stderr)
            return 2
        databases.append((name, fasta))
    for given in args.fasta:
        copy = scratch / given.name
        copy.write_text(given.read_text())
        build = [
            "makeblastdb",
            "-in",
            str(copy),
            "-dbtype",
            "nucl",
            "-out",
            str(copy.with_suffix("")),
        ]
        subprocess.run(build, capture_output=True, check=True)
        databases.append((given.stem, copy))
    for name, fasta in databases:
        queries = stretches(fasta, args.queries, args.seed)
        for option_set in args.options.split(","):
            argv = OPTIONS[option_set]
            split = planner_splits(argv)
            found = measure(fasta.with_suffix(""), queries, argv, args.before)
            row = {"set": name, "options": option_set, "planner": "split" if split else
                   "own batches", "before": args.before, "queries": len(queries),
                   **found}  # fmt: skip
            table.append(row)
            print(" | ".join(str(v) for v in row.values()), flush=True)
            if split and found["queries_differing"]:
                failing.append(row)
    report = {"benchmark": "query_edges", "environment": environment({}), "rows": table}
    write_json(args.out, report)
    print(f"wrote {args.out}: {'FAIL' if failing else 'ok'}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
