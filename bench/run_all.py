"""Run every benchmark script in bench/, one after the other (`make bench` calls this).

    .venv/bin/python bench/run_all.py [--data DIR] [--only NAME ...]

A benchmark script is any `bench/*.py` except this file and names starting with `_`; each runs
with this interpreter, one at a time (they time things, so never in parallel), with `--data DIR`
passed on when given to the scripts that take it (their `--help` lists `--data`; the others
read their data from their own defaults). The exit status is the worst of the scripts' (0 all
targets pass, 1 some target fails, 2 a script could not run).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def bench_scripts() -> list[Path]:
    me = Path(__file__).resolve()
    return sorted(
        p for p in BENCH_DIR.glob("*.py") if p.resolve() != me and not p.name.startswith("_")
    )


def takes_data(script: Path) -> bool:
    """Whether the script has a `--data` option (an unknown option would stop it at once)."""
    shown = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, check=False
    )
    return re.search(r"(^|[\s,\[])--data\b(?![-\w])", shown.stdout) is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="bench data dir passed to every script")
    parser.add_argument("--only", action="append", default=[], help="run only this script (stem)")
    args = parser.parse_args(argv)
    scripts = [p for p in bench_scripts() if not args.only or p.stem in args.only]
    if not scripts:
        print("no benchmark scripts selected", file=sys.stderr)
        return 2
    outcomes: list[tuple[str, int, float]] = []
    for script in scripts:
        print(f"=== {script.name} ===", flush=True)
        extra = ["--data", str(args.data)] if args.data and takes_data(script) else []
        started = time.monotonic()
        code = subprocess.run([sys.executable, str(script), *extra], check=False).returncode
        outcomes.append((script.name, code, time.monotonic() - started))
    print("\n=== bench summary ===")
    words = {0: "all targets pass", 1: "a target fails", 2: "could not run"}
    for name, code, seconds in outcomes:
        print(f"{name:24} exit {code} ({words.get(code, 'error')}), {seconds:.0f} s")
    return max((code if code in (0, 1) else 2) for _, code, _ in outcomes)


if __name__ == "__main__":
    sys.exit(main())
