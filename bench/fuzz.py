"""Long fuzzing run: tests/test_fuzz.py's fuzzing (schemathesis, stateless and stateful over the
OpenAPI links, auth off / auth on without a token / auth on with a token) for as long as asked.

    .venv/bin/python bench/fuzz.py [--seconds 600] [--seed N] [--out bench/results/fuzz.json]

The CI test gives each auth mode about 40 s; this gives them `--seconds` between them (45 % auth
off, 45 % auth on with a token, 10 % without one), with no cap on the cases per operation, so
each operation gets its share of the time. The seed (random unless `--seed`, or
BLASTDECK_FUZZ_SEED) replays a run, here or in the test. Writes bench/results/fuzz.json: the
seed, the counts, and every distinct failure with a curl command that reproduces it. Exit 0 when
nothing failed, 1 when something did, 2 when the run itself could not be done.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
from pathlib import Path

from _common import REPO, BenchError, environment, shown_path, write_json

RESULTS = Path(__file__).resolve().parent / "results" / "fuzz.json"
SHARES = {"off": 0.45, "on-token": 0.45, "on-no-token": 0.10}
UNCAPPED = 1_000_000  # cases per operation: the time box decides


def run(seconds: float) -> dict:
    sys.path.insert(0, str(REPO))  # the harness is the test's own
    from tests import test_fuzz as harness
    from tests.conftest import DEMO_DIR, read_fasta

    demo_16s = read_fasta(DEMO_DIR / "demo-16s.fa")
    report = harness.Report()
    print(harness.replay_hint(), flush=True)
    failed_modes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="blastdeck-fuzz-") as tmp:
        root = Path(tmp)
        (root / "off").mkdir()
        (root / "on").mkdir()
        off = harness.start_auth_off(root / "off")
        try:
            health = _health(off.url)
            failed_modes += _mode(
                harness, harness.mode_auth_off(off, demo_16s), report, off.log, seconds, "off"
            )
        finally:
            off.stop()
        site = harness.start_auth_on(root / "on")
        try:
            for name, make in (
                ("on-token", harness.mode_auth_on_with_a_token),
                ("on-no-token", harness.mode_auth_on_without_a_token),
            ):
                mode = make(site, demo_16s)
                failed_modes += _mode(harness, mode, report, site.server.log, seconds, name)
        finally:
            site.server.stop()
    return {
        "environment": environment(health),
        "seconds_asked": seconds,
        **report.summary(),
        "failed_modes": failed_modes,
        "failure_list": report.failure_list(),
    }


def _mode(harness, mode, report, log, seconds: float, name: str) -> list[str]:
    share = seconds * SHARES[name]
    print(f"=== {name}: {share:.0f} s", flush=True)
    try:
        harness.fuzz(
            mode,
            report,
            log,
            seconds=share,
            examples_per_operation=UNCAPPED,
            stateful_scenarios=UNCAPPED,
        )
    except AssertionError as failure:  # the mode's failures are in the report; go on
        print(str(failure)[:4000], flush=True)
        return [name]
    return []


def _health(url: str) -> dict:
    import httpx

    return httpx.get(f"{url}/api/health", timeout=30).json()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="whole run (600)")
    parser.add_argument("--seed", type=int, help="replay this seed (default: random)")
    parser.add_argument("--data", type=Path, help="ignored (run_all passes it to every script)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"JSON output ({RESULTS})")
    args = parser.parse_args(argv)
    if args.seconds < 30:
        parser.error("--seconds must be at least 30")
    if args.seed is not None:
        os.environ["BLASTDECK_FUZZ_SEED"] = str(args.seed)  # read when the harness is imported
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))  # unwind, so the servers stop
    try:
        results = run(args.seconds)
    except (BenchError, OSError, RuntimeError) as exc:
        print(f"fuzz bench failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    write_json(args.out, results)
    print(
        f"\nseed {results['seed']}: {results['cases']} cases ({results['stateful_cases']} linked),"
        f" {results['failures']} failing, {results['unique_failures']} distinct failures"
    )
    print(f"results: {shown_path(args.out)}")
    return 1 if results["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
