"""How long an export takes to make, this tree's code against another commit's, side by side.

    .venv/bin/python bench/export_render.py [--base COMMIT] [--rounds 3] [--sets n3000-s7,...]
        [--formats xml,json,text] [--data-root|--data /work/bench-data]
        [--out bench/results/export_render.json]

For each make-bench-data set and option set (BLAST's defaults; `evalue 1e-10
max_target_seqs 25`), make-bench-data's 50 queries are searched as a job's two batches would
be (two halves, each `blastn -outfmt 11`, real BLAST+), and `render_export` makes each format
from the two archives: in a fresh Python process per render, alternately with this tree's code
and with `--base`'s (a git worktree of it), `--rounds` times each, beside the two
`blast_formatter` processes alone (what a render cannot beat on this host). No reader follows
the file: this measures what making it costs. Reports per cell the median seconds, the render's
own CPU (the Python process: reading the formatters' output, the writers' rules, writing the
file), the ratios, and whether the two trees' files are equal byte for byte. Exit status: 0
done, 1 a file differed, 2 could not run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common
from _common import BENCH_DIR, REPO, BenchError, fasta_records, median, r3

RESULTS = BENCH_DIR / "results" / "export_render.json"
DATA_ROOT = Path("/work/bench-data")
SETS = "n3000-s7,n10000-s19"
OPTION_SETS: dict[str, list[str]] = {
    "defaults": [],
    "strict": ["-evalue", "1e-10", "-max_target_seqs", "25"],
}
OUTFMT = {"xml": "5", "json": "15", "text": "0", "xml2": "16"}
# Run by each tree's code: make one export, print its seconds and its own CPU seconds.
RENDER = """
import json, resource, sys, time
from pathlib import Path
from blastdeck.results.exports import render_export
fmt, db_dir, out, *archives = sys.argv[1:]
before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
render_export(fmt, [], [Path(a) for a in archives], Path(db_dir), Path(out))
wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF)
cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
print(json.dumps({"wall": wall, "cpu": cpu}))
"""


def archives_of(directory: Path, options: list[str], work: Path, label: str) -> list[Path]:
    """The 50 queries' two halves searched into two archives, side by side."""
    records = list(fasta_records(directory / "queries-16s-50.fa", 50))
    halves = records[:25], records[25:]
    db = next(directory.glob("16s-*.nin")).with_suffix("")
    procs, archives = [], []
    for k, half in enumerate(halves):
        query = work / f"{directory.name}-{label}-{k}.fa"
        query.write_text("".join(half))
        archive = query.with_suffix(".asn")
        argv = ["blastn", "-db", str(db), "-query", str(query), "-outfmt", "11"]
        procs.append(subprocess.Popen([*argv, "-out", str(archive), *options]))
        archives.append(archive)
    if any(p.wait() for p in procs):
        raise BenchError(f"blastn failed on {directory.name} {label}")
    return archives


def render(
    tree: Path, fmt: str, db_dir: Path, archives: list[Path], out: Path
) -> tuple[float, float, str]:
    """One render by `tree`'s code: its seconds, its own CPU seconds, the file's digest."""
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}
    argv = [sys.executable, "-c", RENDER, fmt, str(db_dir), str(out), *map(str, archives)]
    done = subprocess.run(argv, env=env, cwd=tree, check=True, capture_output=True, text=True)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    out.unlink()
    result = json.loads(done.stdout)
    return result["wall"], result["cpu"], digest


def formatters_alone(fmt: str, db_dir: Path, archives: list[Path], work: Path) -> float:
    """The two batches' `blast_formatter` side by side, writing to files: seconds."""
    started = time.perf_counter()
    outs = [work / f"alone-{k}.out" for k in range(len(archives))]
    procs = [
        subprocess.Popen(["blast_formatter", "-archive", str(archive), "-outfmt", OUTFMT[fmt],
                          "-out", str(out)], env={**os.environ, "BLASTDB": str(db_dir)})
        for archive, out in zip(archives, outs, strict=True)
    ]  # fmt: skip
    if any(p.wait() for p in procs):
        raise BenchError(f"blast_formatter failed on {db_dir.name} {fmt}")
    wall = time.perf_counter() - started
    for out in outs:
        out.unlink()
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="HEAD", help="the commit to compare with (HEAD)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sets", default=SETS)
    parser.add_argument("--formats", default="xml,json,text")
    parser.add_argument("--data-root", "--data", type=Path, default=DATA_ROOT)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-export-render-"))
    base = work / "base"
    rows: list[dict[str, Any]] = []
    try:
        subprocess.run(
            ["git", "worktree", "add", "-q", "--detach", str(base), args.base], cwd=REPO, check=True
        )
        trees = {"base": base, "head": REPO}
        for name in args.sets.split(","):
            directory = args.data_root / name
            for label, options in OPTION_SETS.items():
                archives = archives_of(directory, options, work, label)
                for fmt in args.formats.split(","):
                    seen: dict[str, list[float]] = {t: [] for t in (*trees, "formatters")}
                    cpu: dict[str, list[float]] = {t: [] for t in trees}
                    digests: dict[str, str] = {}
                    for r in range(args.rounds):
                        arms = [*trees, "formatters"]
                        for arm in arms if r % 2 == 0 else arms[::-1]:
                            if arm == "formatters":
                                seen[arm].append(formatters_alone(fmt, directory, archives, work))
                                continue
                            out = work / f"out.{fmt}"
                            wall, used, digests[arm] = render(
                                trees[arm], fmt, directory, archives, out
                            )
                            seen[arm].append(wall)
                            cpu[arm].append(used)
                    rows.append(cell_row(name, label, fmt, seen, cpu, digests))
                    print(line(rows[-1]), flush=True)
    except (BenchError, subprocess.CalledProcessError) as exc:
        print(f"benchmark could not run: {exc}", file=sys.stderr)
        return 2
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(base)],
            cwd=REPO,
            check=False,
            capture_output=True,
        )
        shutil.rmtree(work, ignore_errors=True)
    _common.write_json(
        args.out,
        {"benchmark": "export_render", "base": args.base, "rounds": args.rounds, "rows": rows},
    )
    print(f"wrote {args.out}")
    return 0 if all(row["equal"] for row in rows) else 1


def cell_row(
    name: str,
    label: str,
    fmt: str,
    seen: dict[str, list[float]],
    cpu: dict[str, list[float]],
    digests: dict[str, str],
) -> dict[str, Any]:
    row: dict[str, Any] = {"set": name, "option_set": label, "format": fmt}
    for arm, times in seen.items():
        row[f"{arm}_s"] = r3(median(times))
    for arm, times in cpu.items():
        row[f"{arm}_cpu_s"] = r3(median(times))
    row["ratio"] = r3(row["head_s"] / row["base_s"])
    row["base_over_formatters"] = r3(row["base_s"] / row["formatters_s"])
    row["head_over_formatters"] = r3(row["head_s"] / row["formatters_s"])
    row["equal"] = digests["base"] == digests["head"]
    row["runs"] = {arm: [r3(v) for v in times] for arm, times in seen.items()}
    return row


def line(row: dict[str, Any]) -> str:
    return (
        f"{row['set']} {row['option_set']} {row['format']}: formatters alone "
        f"{row['formatters_s']} s; base {row['base_s']} s (CPU {row['base_cpu_s']}), head "
        f"{row['head_s']} s (CPU {row['head_cpu_s']}), ratio {row['ratio']}; equal {row['equal']}"
    )


if __name__ == "__main__":
    sys.exit(main())
