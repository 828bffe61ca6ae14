"""A cluster that keeps BLAST's archive with the search (`archive_with_search`), against one that
does not: what the job pays, and what its first XML download saves.

    .venv/bin/python bench/archive_with_search.py [--rounds 3] [--sets n3000-s7,...]
        [--data-root|--data /work/bench-data] [--out bench/results/archive_with_search.json]

One `blastdeck serve` (embedded) with two local clusters of this host's slots: `local` (the
default: the search writes the hit table; the first XML download searches every batch again
for the archive) and `archives` (`archive_with_search = true`: the search writes the archive
and blast_formatter the table). For each make-bench-data set and option set (BLAST's defaults;
`evalue 1e-10 max_target_seqs 25`), `--rounds` interleaved rounds of the same 50-query job on
each cluster (order alternating), each followed by its first XML download (streamed to nothing:
time to the first byte and to the end). Reports per cell the medians of the job's wall time
(POST to `finished_at`), the download's, and their ratios; the two jobs' XML must be equal
byte for byte. Targets on `archives` (issue 16): the first XML download starts within 5 s and
ends within half the job's own wall time. Exit status: 0 targets met, 1 missed, 2 could not run.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common
from _common import BENCH_DIR, BenchError, environment, fasta_records, median, r3
from taxonomy_search import Server  # its run_job: POST, poll to the end, wall to finished_at

RESULTS = BENCH_DIR / "results" / "archive_with_search.json"
DATA_ROOT = Path("/work/bench-data")
SETS = "n3000-s7,n3000-s19,n10000-s7,n10000-s19"
OPTION_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "strict": {"evalue": 1e-10, "max_target_seqs": 25},
}
CLUSTERS = ("local", "archives")
XML_DEADLINE_S = 1800.0


def first_xml(server: Server, job_id: str) -> tuple[float, float, str]:
    """The first XML download: (seconds to its first byte, to its end, sha256 of it)."""
    assert server.client is not None
    digest = hashlib.sha256()
    started = time.perf_counter()
    first = None
    with server.client.stream(
        "GET", f"/api/jobs/{job_id}/download", params={"format": "xml"}, timeout=XML_DEADLINE_S
    ) as response:
        if response.status_code != 200:
            raise BenchError(f"xml download of {job_id}: {response.status_code}")
        for chunk in response.iter_bytes():
            if first is None:
                first = time.perf_counter() - started
            digest.update(chunk)
    return first or 0.0, time.perf_counter() - started, digest.hexdigest()


def measure(server: Server, name: str, query: str, options: dict, rounds: int) -> dict:
    seen: dict[str, list[dict[str, float]]] = {c: [] for c in CLUSTERS}
    digests: set[str] = set()
    for r in range(rounds):
        for cluster in CLUSTERS if r % 2 == 0 else CLUSTERS[::-1]:
            job, wall, _client = server.run_job(name, query, options, cluster)
            first, total, digest = first_xml(server, job["id"])
            digests.add(digest)
            seen[cluster].append({"job_s": wall, "xml_first_s": first, "xml_s": total})
    if len(digests) != 1:
        raise BenchError(f"{name}: the two clusters' XML differ")
    row: dict[str, Any] = {"set": name, "options": options, "rounds": rounds}
    for cluster, runs in seen.items():
        for key in ("job_s", "xml_first_s", "xml_s"):
            row[f"{cluster}_{key}"] = r3(median([run[key] for run in runs]))
        row[f"{cluster}_runs"] = [{k: r3(v) for k, v in run.items()} for run in runs]
    row["job_ratio"] = r3(row["archives_job_s"] / row["local_job_s"])
    row["job_and_xml_ratio"] = r3(
        (row["archives_job_s"] + row["archives_xml_s"]) / (row["local_job_s"] + row["local_xml_s"])
    )
    row["xml_over_job"] = r3(row["archives_xml_s"] / row["archives_job_s"])
    row["pass"] = row["archives_xml_first_s"] <= 5.0 and row["xml_over_job"] <= 0.5
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sets", default=SETS)
    parser.add_argument("--data-root", "--data", type=Path, default=DATA_ROOT)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-archive-with-search-"))
    server = Server(work)
    rows: list[dict[str, Any]] = []
    try:
        server.start()
        slots = os.cpu_count() or 1
        cluster = {"name": "archives", "engine": "local", "slots": slots}
        server.request(
            "POST", "/api/clusters", json=cluster | {"settings": {"archive_with_search": "true"}}
        )
        for name in args.sets.split(","):
            directory = args.data_root / name
            server.register(name, next(directory.glob("16s-*.nin")).with_suffix(""))
            query = "".join(fasta_records(directory / "queries-16s-50.fa", 50))
            for label, options in OPTION_SETS.items():
                server.run_job(name, query, options, "local")  # warm-up: the page cache
                row = measure(server, name, query, options, args.rounds)
                row["option_set"] = label
                rows.append(row)
                print(
                    f"{name} {label}: job {row['local_job_s']} -> {row['archives_job_s']} s "
                    f"({row['job_ratio']}); first xml {row['local_xml_s']} -> "
                    f"{row['archives_xml_s']} s (first byte {row['archives_xml_first_s']} s); "
                    f"job + xml {row['job_and_xml_ratio']}",
                    flush=True,
                )
        health = server.health()
    except BenchError as exc:
        print(f"benchmark could not run: {exc}", file=sys.stderr)
        return 2
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    _common.write_json(
        args.out,
        {"benchmark": "archive_with_search", "environment": environment(health), "rows": rows},
    )
    print(f"wrote {args.out}")
    return 0 if all(r["pass"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
