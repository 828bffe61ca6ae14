"""Any-columns downloads benchmark (issue 15): `download?format=tsv&columns=...` over HTTP
against a real `blastdeck serve`, for columns the hit tables hold and for those BLAST must
print again from the job's archive (`blast_formatter`).

    .venv/bin/python bench/download_columns.py [--bench-data DIR] [--rounds N] [--out FILE]

For the 50 16S queries of each bench set (n3000 and n10000, seeds 7 and 19; blastn, evalue 10,
max_target_seqs 100), one job each, then, per job:
- `search_s`: the job itself, submit to completed (for scale);
- `table_s`: `columns=std,qcovs,staxid,sscinames` (from the hit tables; no BLAST run), median;
- `first_ext_s`: the first `columns=ext` download: the archive run (the job's search again
  with `-outfmt 11`, once per job, shared with the XML/JSON/text downloads) + blast_formatter;
- `ext_s`: later `columns=ext` downloads (blast_formatter on the archives), median;
- `raw_ext_s`: `blastn -outfmt "6 <ext>"` of the same search run directly (what a user
  would otherwise run), once;
- rows and megabytes of the ext download, and that its rows equal the raw run's.
Figures go to bench/results/download_columns.json. Exit 0 when it ran (this measures), 2 when it
could not run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common
from _common import BENCH_DIR, BenchError, median, write_json

from blastdeck.results.columns import EXTENDED_COLUMNS

RESULTS = BENCH_DIR / "results" / "download_columns.json"
DEFAULT_BENCH_DATA = Path("/work/bench-data")
SETS = (("n3000-s7", 3000), ("n3000-s19", 3000), ("n10000-s7", 10000), ("n10000-s19", 10000))
OPTIONS = {"evalue": 10, "max_target_seqs": 100}
TABLE_COLUMNS = "std,qcovs,staxid,sscinames"


def run_job(server: _common.Server, db: str, query: str) -> tuple[str, float]:
    started = time.perf_counter()
    body = {"program": "blastn", "database": db, "query": query, "options": OPTIONS}
    job = server.request("POST", "/api/jobs", json=body).json()
    while job["phase"] not in _common.TERMINAL:
        time.sleep(0.5)
        job = server.request("GET", f"/api/jobs/{job['id']}").json()
    if job["phase"] != "completed":
        raise BenchError(f"job on {db} ended {job['phase']}: {job.get('error')}")
    return job["id"], time.perf_counter() - started


def timed_download(server: _common.Server, job_id: str, columns: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    response = server.request(
        "GET", f"/api/jobs/{job_id}/download", params={"format": "tsv", "columns": columns}
    )
    return time.perf_counter() - started, response.content


def timed_raw(prefix: Path, query: Path) -> tuple[float, bytes]:
    argv = ["blastn", "-db", prefix.name, "-query", str(query),
            "-outfmt", "6 " + " ".join(EXTENDED_COLUMNS)]  # fmt: skip
    for name, value in OPTIONS.items():
        argv += [f"-{name}", str(value)]
    started = time.perf_counter()
    done = subprocess.run(argv, check=True, cwd=prefix.parent, capture_output=True)
    return time.perf_counter() - started, done.stdout


def measure(server: _common.Server, job_id: str, rounds: int) -> dict[str, Any]:
    first_ext, body = timed_download(server, job_id, "ext")
    table, ext = [], []
    for _ in range(rounds):  # interleaved: the machine's load hits both alike
        table.append(timed_download(server, job_id, TABLE_COLUMNS)[0])
        ext.append(timed_download(server, job_id, "ext")[0])
    return {
        "first_ext_s": round(first_ext, 2),
        "table_s": round(median(table), 2),
        "ext_s": round(median(ext), 2),
        "ext_rows": body.count(b"\n") - 1,
        "ext_mb": round(len(body) / 1e6, 1),
        "_body": body,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench-data", type=Path, default=DEFAULT_BENCH_DATA)
    parser.add_argument("--data", type=Path, help="ignored (run_all.py passes it)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    missing = [c for c, size in SETS if not (args.bench_data / c / f"16s-{size}.nsq").exists()]
    if missing:
        print(f"no bench data at {args.bench_data} ({', '.join(missing)})", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="blastdeck-columns-bench-"))
    server = _common.Server(work)
    rows: list[dict[str, Any]] = []
    try:
        server.start()
        env = _common.environment(server.health())
        for case, size in SETS:
            data = args.bench_data / case
            prefix = data / f"16s-{size}"
            name = case.replace("-", "_")
            server.register(name, prefix)
            query = data / "queries-16s-50.fa"
            job_id, search_s = run_job(server, name, query.read_text())
            row: dict[str, Any] = {"case": case, "search_s": round(search_s, 2)}
            row |= measure(server, job_id, args.rounds)
            raw_s, raw = timed_raw(prefix, query)
            body = row.pop("_body")
            row["raw_ext_s"] = round(raw_s, 2)
            row["ext_rows_equal_raw"] = body.split(b"\n", 1)[1] == raw
            rows.append(row)
            print(row, flush=True)
    except BenchError as exc:
        print(f"benchmark could not run: {exc}", file=sys.stderr)
        return 2
    finally:
        server.stop()
    keys = ("case", "search_s", "table_s", "first_ext_s", "ext_s", "raw_ext_s", "ext_rows",
            "ext_mb", "ext_rows_equal_raw")  # fmt: skip
    print(" | ".join(keys))
    for r in rows:
        print(" | ".join(str(r[k]) for k in keys))
    command = "bench/download_columns.py --rounds " + str(args.rounds)
    write_json(args.out, {"env": env, "command": command, "options": OPTIONS, "cases": rows})
    print(f"written to {_common.shown_path(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
