"""What writing BLAST's archive during every job would cost (issue 16, "exports without
re-running BLAST"), measured before choosing a design.

    .venv/bin/python bench/export_cost.py [--runs 3] [--data /work/bench-data]

Today a job's BLAST writes only its hit table (`-outfmt 7` with the index columns); the XML,
JSON, text and ASN.1 downloads run the search again with `-outfmt 11` on first request. The
alternative is that the job's BLAST writes the archive (`-outfmt 11`) and the hit table comes
from `blast_formatter`: every later format is then formatted, never searched again. For the 50
16S queries of each bench set (n3000 and n10000, seeds 7 and 19) and two option sets (BLAST's
defaults; `evalue 1e-10 max_target_seqs 25`), raw BLAST+ with `-num_threads 2`, interleaved:

- table:   blastn -outfmt "7 <index columns>"        (what a job runs today)
- archive: blastn -outfmt 11                          (the search writing the archive)
- format:  blast_formatter -archive -outfmt "7 ..."  (the hit table from the archive)

The added cost of the archive design is (archive + format) / table - 1, by wall time and by
CPU time (medians of `--runs`). Also: the archive's size per HSP, and that the formatter's table
has the same rows as the search's. Writes bench/results/export_cost.json and prints the table.
Exit 0 when it ran (this measures; the design decision is in docs/performance.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import BENCH_DIR, environment, write_json

from blastdeck.results.hsps import HSP_TABLE_OUTFMT

RESULTS = BENCH_DIR / "results" / "export_cost.json"
SETS = ("n3000-s7", "n3000-s19", "n10000-s7", "n10000-s19")
OPTION_SETS: dict[str, list[str]] = {
    "defaults": [],
    "evalue 1e-10 max_target_seqs 25": ["-evalue", "1e-10", "-max_target_seqs", "25"],
}
QUERIES = "queries-16s-50.fa"


def run(argv: list[str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds (user + sys of the process) of one run."""
    env = {**os.environ, "BLASTDB": "."}
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {' '.join(argv)}")
    return wall, usage.ru_utime + usage.ru_stime


def rows(table: Path) -> list[str]:
    with table.open() as fh:
        return sorted(line for line in fh if not line.startswith("#"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path("/work/bench-data"))
    args = parser.parse_args(argv)
    samples: dict[tuple[str, str], dict[str, list[tuple[float, float]]]] = {}
    facts: dict[tuple[str, str], dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="export-cost-") as tmp:
        work = Path(tmp)
        for run_no in range(args.runs):
            for name in SETS:
                data = args.data / name
                db = f"16s-{name.split('-')[0][1:]}"
                query = str(data / QUERIES)
                for opt_name, options in OPTION_SETS.items():
                    key = (name, opt_name)
                    table, archive, formatted = (
                        work / f"{name}.{run_no}.{suffix}" for suffix in ("tsv", "asn", "fmt.tsv")
                    )
                    common = ["-query", query, "-db", db, "-num_threads", "2", *options]
                    got = samples.setdefault(key, {"table": [], "archive": [], "format": []})
                    got["table"].append(
                        run(
                            ["blastn", *common, "-outfmt", HSP_TABLE_OUTFMT, "-out", str(table)],
                            data,
                        )
                    )
                    got["archive"].append(
                        run(["blastn", *common, "-outfmt", "11", "-out", str(archive)], data)
                    )
                    got["format"].append(
                        run(
                            [
                                "blast_formatter",
                                "-archive",
                                str(archive),
                                "-outfmt",
                                HSP_TABLE_OUTFMT,
                                "-out",
                                str(formatted),
                            ],
                            data,
                        )
                    )
                    if run_no == 0:
                        direct = rows(table)
                        facts[key] = {
                            "hsps": len(direct),
                            "archive_mb": round(archive.stat().st_size / 2**20, 1),
                            "archive_kb_per_hsp": round(
                                archive.stat().st_size / 1024 / max(1, len(direct)), 2
                            ),
                            "formatter_rows_equal": rows(formatted) == direct,
                        }
                    for f in (table, archive, formatted):
                        f.unlink(missing_ok=True)
                    print(f"run {run_no + 1}: {name} {opt_name} done", file=sys.stderr, flush=True)
    table_rows = []
    for key, got in samples.items():
        med = {
            step: (
                statistics.median(w for w, _ in runs_),
                statistics.median(c for _, c in runs_),
            )
            for step, runs_ in got.items()
        }
        wall_added = (med["archive"][0] + med["format"][0]) / med["table"][0] - 1
        cpu_added = (med["archive"][1] + med["format"][1]) / med["table"][1] - 1
        table_rows.append(
            {
                "set": key[0],
                "options": key[1],
                **facts[key],
                "table_wall_s": round(med["table"][0], 2),
                "archive_wall_s": round(med["archive"][0], 2),
                "format_wall_s": round(med["format"][0], 2),
                "table_cpu_s": round(med["table"][1], 2),
                "archive_cpu_s": round(med["archive"][1], 2),
                "format_cpu_s": round(med["format"][1], 2),
                "added_wall_pct": round(100 * wall_added, 1),
                "added_cpu_pct": round(100 * cpu_added, 1),
            }
        )
    results = {
        "env": environment({}),
        "command": "python bench/export_cost.py " + " ".join(argv or sys.argv[1:]),
        "runs": args.runs,
        "rows": table_rows,
    }
    write_json(RESULTS, results)
    head = (
        f"{'set':<11} {'options':<32} {'HSPs':>6} {'arch MB':>7} {'KB/HSP':>6} {'same':>5} "
        f"{'table s':>7} {'arch s':>7} {'fmt s':>6} {'+wall%':>7} {'+cpu%':>6}"
    )
    print(head)
    for r in table_rows:
        print(
            f"{r['set']:<11} {r['options']:<32} {r['hsps']:>6} {r['archive_mb']:>7} "
            f"{r['archive_kb_per_hsp']:>6} {r['formatter_rows_equal']!s:>5} {r['table_wall_s']:>7} "
            f"{r['archive_wall_s']:>7} {r['format_wall_s']:>6} {r['added_wall_pct']:>7} "
            f"{r['added_cpu_pct']:>6}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
