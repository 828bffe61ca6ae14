"""How long an export takes to make, this tree's code against another commit's, side by side.

    .venv/bin/python bench/export_render.py [--base COMMIT] [--rounds 3] [--sets n3000-s7,...]
        [--formats xml,json,text] [--data-root|--data /work/bench-data]
        [--out bench/results/export_render.json]

For each make-bench-data set and option set (BLAST's defaults; `evalue 1e-10
max_target_seqs 25`), make-bench-data's 50 queries are searched as a job's two batches would
be (two halves, each `blastn -outfmt 11`, real BLAST+), and `render_export` makes each format
from the two archives: in a fresh Python process per render, alternately with this tree's code
and with `--base`'s (a git worktree of it), `--rounds` times each. No reader follows the file:
this measures what making it costs, to show that reading a download while it is made (which
needs the file written in order, each batch's formatter output followed as it is written)
does not make the file slower to make. Reports the median seconds and their ratio per cell.
Exit status: 0 done, 2 could not run.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
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
# Run by each tree's code: make one export, print the seconds it took.
RENDER = """
import sys, time
from pathlib import Path
from blastdeck.results.exports import render_export
fmt, db_dir, out, *archives = sys.argv[1:]
started = time.perf_counter()
render_export(fmt, [], [Path(a) for a in archives], Path(db_dir), Path(out))
print(time.perf_counter() - started)
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


def render(tree: Path, fmt: str, db_dir: Path, archives: list[Path], out: Path) -> float:
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}
    argv = [sys.executable, "-c", RENDER, fmt, str(db_dir), str(out), *map(str, archives)]
    done = subprocess.run(argv, env=env, cwd=tree, check=True, capture_output=True, text=True)
    out.unlink()
    return float(done.stdout.strip())


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
                    seen: dict[str, list[float]] = {t: [] for t in trees}
                    for r in range(args.rounds):
                        for tree in list(trees) if r % 2 == 0 else list(trees)[::-1]:
                            out = work / f"out.{fmt}"
                            seen[tree].append(render(trees[tree], fmt, directory, archives, out))
                    row = {
                        "set": name,
                        "option_set": label,
                        "format": fmt,
                        "base_s": r3(median(seen["base"])),
                        "head_s": r3(median(seen["head"])),
                        "runs": {t: [r3(v) for v in vs] for t, vs in seen.items()},
                    }
                    row["ratio"] = r3(row["head_s"] / row["base_s"])
                    rows.append(row)
                    print(
                        f"{name} {label} {fmt}: base {row['base_s']} s, head {row['head_s']} s "
                        f"({row['ratio']})",
                        flush=True,
                    )
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
