"""The big jobs `million_hits.py` browses, built once and cached (not a benchmark itself).

A job is built by a real `blastdeck serve` whose data dir lives in the cache directory
(`/work/bench-data/million-s7` for the ~1M-HSP job): its queries are sampled (seeded) from
another bench set's `16s-N.fa`, leaving out every id the target database holds, each with ~3 %
point mutations (as `make-bench-data` makes its queries). `job.json` in the cache directory
says the job finished; a later run serves that same data dir again instead of searching.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import BenchError, Server, write_json

JOB_DEADLINE_S = 7200.0
MUTATION_RATE = 0.03
BASES = "ACGT"


@dataclass(frozen=True)
class JobSpec:
    name: str  # the cache directory's name under the bench data
    database_dir: Path  # holds 16s-N.fa and the BLAST db 16s-N.*
    database: str  # 16s-N
    query_source: Path  # another set's 16s-N.fa
    queries: int
    seed: int
    options: dict[str, Any]


def specs(data: Path) -> list[JobSpec]:
    """The big jobs: ~0.93M HSPs, and ~0.2M on another data set, size and option set."""
    return [
        JobSpec(
            "million-s7",
            data / "n3000-s7",
            "16s-3000",
            data / "n10000-s19" / "16s-10000.fa",
            1000,
            7,
            {"evalue": 10, "max_target_seqs": 1000},
        ),
        JobSpec(
            "big-s19",
            data / "n3000-s19",
            "16s-3000",
            data / "n10000-s7" / "16s-10000.fa",
            300,
            19,
            {"evalue": 0.001, "max_target_seqs": 500, "word_size": 20},
        ),
    ]


def read_fasta(path: Path) -> list[tuple[str, str]]:
    records: list[tuple[str, list[str]]] = []
    with path.open() as fh:
        for line in fh:
            if line.startswith(">"):
                records.append((line[1:].strip(), []))
            elif records:
                records[-1][1].append(line.strip())
    return [(header, "".join(parts)) for header, parts in records]


def sample_queries(spec: JobSpec) -> str:
    """`spec.queries` records of the source set that the database does not hold, mutated."""
    held = {h.split()[0] for h, _ in read_fasta(spec.database_dir / f"{spec.database}.fa")}
    pool = [(h, s) for h, s in read_fasta(spec.query_source) if h.split()[0] not in held]
    if len(pool) < spec.queries:
        raise BenchError(f"{spec.query_source} has only {len(pool)} records outside the db")
    rng = random.Random(spec.seed)
    out: list[str] = []
    for header, seq in rng.sample(pool, spec.queries):
        letters = list(seq.upper())
        for i in range(len(letters)):
            if rng.random() < MUTATION_RATE:
                letters[i] = rng.choice(BASES.replace(letters[i], "") or BASES)
        body = "".join(letters)
        lines = [body[i : i + 70] for i in range(0, len(body), 70)]
        out.append(f">{header.split()[0]}_m\n" + "\n".join(lines) + "\n")
    return "".join(out)


def cached_job(cache: Path) -> dict[str, Any] | None:
    marker = cache / "job.json"
    return json.loads(marker.read_text()) if marker.exists() else None


def build_job(spec: JobSpec, cache: Path, log: Any = print) -> dict[str, Any]:
    """Run the job on a server whose data dir is in `cache`; record it in `cache/job.json`."""
    cache.mkdir(parents=True, exist_ok=True)
    server = Server(cache, name="server")
    if server.data_dir.exists():
        raise BenchError(f"{server.data_dir} exists without job.json: remove it and run again")
    server.data_dir.mkdir()
    fasta = sample_queries(spec)
    server.start()
    try:
        server.register(spec.database, spec.database_dir / spec.database)
        body = {
            "program": "blastn",
            "database": spec.database,
            "query": fasta,
            "options": spec.options,
            "title": spec.name,
        }
        started = time.perf_counter()
        job = server.request("POST", "/api/jobs", json=body).json()
        log(f"{spec.name}: job {job['id']} submitted ({spec.queries} queries)")
        deadline = time.monotonic() + JOB_DEADLINE_S
        while job["phase"] not in ("completed", "failed", "cancelled"):
            if time.monotonic() > deadline:
                raise BenchError(f"job {job['id']} still {job['phase']} after {JOB_DEADLINE_S} s")
            time.sleep(2.0)
            job = server.request("GET", f"/api/jobs/{job['id']}").json()
        wall = time.perf_counter() - started
        if job["phase"] != "completed":
            raise BenchError(f"job {job['id']} {job['phase']}: {job.get('error')}")
    finally:
        server.stop()
    record = {
        "job_id": job["id"],
        "wall_s": round(wall, 1),
        "hsps": job.get("hsps_total"),
        "hits": job.get("hits_total"),
        "spec": {
            "database": str(spec.database_dir / spec.database),
            "query_source": str(spec.query_source),
            "queries": spec.queries,
            "seed": spec.seed,
            "options": spec.options,
        },
    }
    write_json(cache / "job.json", record)
    log(f"{spec.name}: completed in {wall:.0f} s: {record['hsps']} HSPs")
    return record
