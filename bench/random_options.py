"""Many random searches against BLAST+ itself: tests/test_random_options_equal_raw_blast.py with
more cases than CI gives it.

    .venv/bin/python bench/random_options.py [--cases 400] [--seed N] [--out FILE]

Every program, random queries cut from the test's databases and random options from the
allow-list, on one BLAST process and on a cluster that splits the job into batches; each case
also run as the BLAST+ command a user would type. Writes bench/results/random_options.json (or
`--out`): the seed (`--seed` or BLASTDECK_DIFF_SEED replays it), the outcomes (completed, with
hits or none; refused, by error code), every failure (hits other than BLAST's, options accepted
that BLAST refuses, a refusal without an option error) and the refusals of options BLAST would
have run. Exit 0 when nothing failed, 1 when something did, 2 when the run could not be done.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, environment, shown_path, write_json

RESULTS = Path(__file__).resolve().parent / "results" / "random_options.json"
TEST = "tests/test_random_options_equal_raw_blast.py"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=400, help="random searches (400)")
    parser.add_argument("--seed", type=int, help="replay this seed (default: random)")
    parser.add_argument("--data", type=Path, help="ignored (run_all passes it to every script)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"JSON output ({RESULTS})")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    with tempfile.TemporaryDirectory(prefix="blastdeck-random-options-") as tmp:
        report = Path(tmp) / "report.json"
        env = {
            **os.environ,
            "BLASTDECK_DIFF_SEED": str(seed),
            "BLASTDECK_DIFF_CASES": str(args.cases),
            "BLASTDECK_DIFF_REPORT": str(report),
        }
        started = time.monotonic()
        pytest = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", TEST]
        run = subprocess.run(pytest, cwd=REPO, env=env, capture_output=True, text=True)
        seconds = time.monotonic() - started
        if not report.exists():
            print(
                f"the test did not run:\n{run.stdout[-4000:]}{run.stderr[-2000:]}", file=sys.stderr
            )
            return 2
        found = json.loads(report.read_text())
    results = {"environment": environment({}), "seconds": round(seconds, 1), **found}
    write_json(args.out, results)
    outcomes = ", ".join(f"{name} {count}" for name, count in sorted(found["outcomes"].items()))
    print(f"seed {seed}: {args.cases} cases in {seconds:.0f} s; {outcomes}")
    print(f"{len(found['failures'])} failing; {len(found['refused_blast_runs'])} refusals of "
          f"options BLAST runs")  # fmt: skip
    for failure in found["failures"][:20]:
        print(f"- {failure}")
    print(f"results: {shown_path(args.out)}")
    return 1 if found["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
