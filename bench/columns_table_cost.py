"""What storing more outfmt 6 columns in every job's hit table would cost the search (issue 15,
"any tabular columns"), measured to choose between that and `blast_formatter` on the archive
at download time (what BlastDeck does: docs/results.md#any-tabular-columns).

    .venv/bin/python bench/columns_table_cost.py [--runs 2] [--data /work/bench-data]

For the 50 16S queries of each bench set (n3000 and n10000, seeds 7 and 19; evalue 10,
max_target_seqs 100), raw `blastn -num_threads 2`, interleaved:

- table:  -outfmt "7 <index columns>"                        (what a job writes today)
- small:  the same + score nident positive gaps ppos frames sseqid sallseqid sstrand
          (the counts and ids BLAST computes anyway)
- ext:    the same + Galaxy's extended columns (qseq sseq btop salltitles ... : the sequences)

Medians of wall and CPU seconds, the added percentage over `table`, and each table's size.
Writes bench/results/columns_table_cost.json and prints the table. Exit 0 when it ran.
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

RESULTS = BENCH_DIR / "results" / "columns_table_cost.json"
SETS = ("n3000-s7", "n3000-s19", "n10000-s7", "n10000-s19")
OPTIONS = ["-evalue", "10", "-max_target_seqs", "100"]
SMALL = "score nident positive gaps ppos frames sseqid sallseqid sstrand"
EXT = SMALL + " qframe sframe qseq sseq btop salltitles"
VARIANTS = {
    "table": HSP_TABLE_OUTFMT,
    "small": f"{HSP_TABLE_OUTFMT} {SMALL}",
    "ext": f"{HSP_TABLE_OUTFMT} {EXT}",
}


def run(argv: list[str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds (user + sys of the process) of one run."""
    env = {**os.environ, "BLASTDB": "."}
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[0]} failed: {' '.join(argv)}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--data", type=Path, default=Path("/work/bench-data"))
    args = parser.parse_args()
    samples: dict[str, dict[str, list[tuple[float, float]]]] = {}
    sizes: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="columns-table-cost-") as tmp:
        work = Path(tmp)
        for run_no in range(args.runs):
            for name in SETS:
                data = args.data / name
                db = f"16s-{name.split('-')[0][1:]}"
                common = ["-query", str(data / "queries-16s-50.fa"), "-db", db,
                          "-num_threads", "2", *OPTIONS]  # fmt: skip
                for variant, outfmt in VARIANTS.items():
                    out = work / f"{name}.{variant}.tsv"
                    argv = ["blastn", *common, "-outfmt", outfmt, "-out", str(out)]
                    samples.setdefault(name, {}).setdefault(variant, []).append(run(argv, data))
                    sizes.setdefault(name, {})[variant] = round(out.stat().st_size / 1e6, 1)
                    out.unlink()
                print(f"run {run_no + 1}: {name} done", file=sys.stderr, flush=True)
    rows: list[dict[str, Any]] = []
    for name, got in samples.items():
        med = {
            v: (statistics.median(w for w, _ in s), statistics.median(c for _, c in s))
            for v, s in got.items()
        }
        row: dict[str, Any] = {"set": name}
        for variant in VARIANTS:
            row[f"{variant}_wall_s"] = round(med[variant][0], 2)
            row[f"{variant}_cpu_s"] = round(med[variant][1], 2)
            row[f"{variant}_mb"] = sizes[name][variant]
            if variant != "table":
                row[f"{variant}_added_cpu_pct"] = round(
                    100 * (med[variant][1] / med["table"][1] - 1), 1
                )
                row[f"{variant}_added_wall_pct"] = round(
                    100 * (med[variant][0] / med["table"][0] - 1), 1
                )
        rows.append(row)
        print(row, flush=True)
    command = f"bench/columns_table_cost.py --runs {args.runs}"
    write_json(RESULTS, {"env": environment({}), "command": command, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
