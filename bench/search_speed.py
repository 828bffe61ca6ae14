"""Search speed: a BlastDeck job against raw BLAST+ on the same inputs, at every size.

    .venv/bin/python bench/search_speed.py [--runs 5] [--sets n3000-s7,...] [--cases ...]
        [--data-root /work/bench-data] [--slurm-runs 5] [--slurm-sets n3000-s7] [--keep]

For each data set (`make-bench-data DIR N SEED`: 16S subjects, `queries-16s-50.fa`) and case,
`--runs` interleaved pairs (raw first on even runs, BlastDeck first on odd ones) of

- raw: `blastn|blastp|blastx -query Q -db DB -outfmt <BlastDeck's hit table> -num_threads 2
  -out F` plus the case's options (the argument list BlastDeck builds from them);
- ours: the same job submitted to an embedded `blastdeck serve` (SQLite, the `local` engine
  with this host's 2 slots); its wall time runs from just before `POST /api/jobs` to the
  job's `finished_at` (the server's clock, this host's), so the client's poll period adds
  nothing; the time the client saw it finish is kept too (`ours_client_s`).

Cases (the targets are on the median of the per-pair ratios ours / raw):

- `16s-50-default`, `16s-50-strict` (`evalue 1e-10, max_target_seqs 25`): <= 1.02
- `16s-1000`: 1,000 queries sampled from the *other* seed's `16s-N.fa` of the same size, with
  3 % point mutations as make-bench-data makes them: <= 1.00
- `blastp-50`, `blastx-20`: a protein database of N proteins sampled (seeded) from the 20,000
  UniProt proteins Debian's `mmseqs2-examples` package ships (`DB.fasta.gz`), queries
  sampled from the same set (half of them subjects, half not, 5 % point mutations; blastx
  queries are those proteins back-translated with seeded random codons): <= 1.02
- `slurm-16s-50`: the 50-query job on a one-node private SLURM cluster (cluster `hpc`,
  `slots = 2`, `cpus_per_task = 1`: the host's 2 cores, as `local` has them; the job is two
  batches there too, of one thread each, where `local` runs them with two threads each)
  against the same job on `local`, interleaved: <= 1.10

Every pair checks that the job has as many HSPs as raw BLAST printed. Results are written to
bench/results/search_speed.json after every case (a run cut short keeps what it measured).
Exit status: 0 every target met, 1 a target missed, 2 the benchmark could not run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import _common
import httpx
from _common import (
    BENCH_DIR,
    REPO,
    TERMINAL,
    BenchError,
    children_cpu_s,
    environment,
    median,
    r3,
    server_cpu_s,
    write_json,
)

from blastdeck.domain.options import blast_arguments
from blastdeck.domain.programs import Program
from blastdeck.results.hsps import HSP_TABLE_OUTFMT

RESULTS = BENCH_DIR / "results" / "search_speed.json"
CACHE = BENCH_DIR / ".data" / "search-speed"
DATA_ROOT = Path("/work/bench-data")
SETS = ("n3000-s7", "n3000-s19", "n10000-s7", "n10000-s19")
PROTEIN_PACKAGE = "mmseqs2-examples"
PROTEIN_SOURCE = Path("/usr/share/doc/mmseqs2/example-data/DB.fasta.gz")
THREADS = "2"
POLL_S = 1.0  # the wall time is read from finished_at: polling only costs the server CPU
JOB_DEADLINE_S = 3600.0
AMINO = "ACDEFGHIKLMNPQRSTVWY"
CODONS: dict[str, tuple[str, ...]] = {
    "A": ("GCT", "GCC", "GCA", "GCG"),
    "C": ("TGT", "TGC"),
    "D": ("GAT", "GAC"),
    "E": ("GAA", "GAG"),
    "F": ("TTT", "TTC"),
    "G": ("GGT", "GGC", "GGA", "GGG"),
    "H": ("CAT", "CAC"),
    "I": ("ATT", "ATC", "ATA"),
    "K": ("AAA", "AAG"),
    "L": ("TTA", "TTG", "CTT", "CTC", "CTA", "CTG"),
    "M": ("ATG",),
    "N": ("AAT", "AAC"),
    "P": ("CCT", "CCC", "CCA", "CCG"),
    "Q": ("CAA", "CAG"),
    "R": ("CGT", "CGC", "CGA", "CGG", "AGA", "AGG"),
    "S": ("TCT", "TCC", "TCA", "TCG", "AGT", "AGC"),
    "T": ("ACT", "ACC", "ACA", "ACG"),
    "V": ("GTT", "GTC", "GTA", "GTG"),
    "W": ("TGG",),
    "Y": ("TAT", "TAC"),
}


@dataclass(frozen=True)
class Case:
    name: str
    program: str
    molecule: str  # the database: nucl (16S) or prot (UniProt sample)
    options: dict[str, Any]
    target: float
    queries: str  # what the case searches: see queries_for


CASES = (
    Case("16s-50-default", "blastn", "nucl", {}, 1.02, "16s-50"),
    Case(
        "16s-50-strict", "blastn", "nucl", {"evalue": 1e-10, "max_target_seqs": 25}, 1.02, "16s-50"
    ),
    Case("blastp-50", "blastp", "prot", {}, 1.02, "prot-50"),
    Case("blastx-20", "blastx", "prot", {}, 1.02, "nucl-from-prot-20"),
    Case("16s-1000", "blastn", "nucl", {}, 1.00, "16s-1000"),
)
SLURM_CASE = Case("slurm-16s-50", "blastn", "nucl", {}, 1.10, "16s-50")


@dataclass
class DataSet:
    name: str  # n3000-s7
    size: int
    seed: int
    dir: Path
    files: dict[str, Path] = field(default_factory=dict)  # query sets, databases by molecule


# -- data --------------------------------------------------------------------------------------


def read_fasta(path: Path, opener: Any = open) -> list[tuple[str, str]]:
    records, header, chunks = [], None, []
    with opener(path, "rt") as fh:
        for line in fh:
            if line.startswith(">"):
                if header is not None:
                    records.append((header, "".join(chunks)))
                header, chunks = line[1:].strip(), []
            else:
                chunks.append(line.strip())
    if header is not None:
        records.append((header, "".join(chunks)))
    return records


def write_fasta(path: Path, records: list[tuple[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    with partial.open("w") as fh:
        for header, seq in records:
            fh.write(f">{header}\n")
            fh.writelines(seq[i : i + 70] + "\n" for i in range(0, len(seq), 70))
    partial.replace(path)


def mutate(seq: str, rng: random.Random, rate: float, alphabet: str) -> str:
    return "".join(rng.choice(alphabet) if rng.random() < rate else c for c in seq)


def protein_source() -> Path:
    """UniProt's 20,000 proteins as Debian's mmseqs2-examples ships them (installed, or
    fetched with `apt-get download` into the cache, as make-bench-data does for 16S)."""
    if PROTEIN_SOURCE.is_file():
        return PROTEIN_SOURCE
    cached = CACHE / ".cache" / str(PROTEIN_SOURCE).lstrip("/")
    if not cached.is_file():
        deb_dir = CACHE / ".cache"
        deb_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(["apt-get", "download", PROTEIN_PACKAGE], cwd=deb_dir, check=True)
        (deb,) = deb_dir.glob(f"{PROTEIN_PACKAGE}_*.deb")
        subprocess.run(["dpkg", "-x", deb.name, "."], cwd=deb_dir, check=True)
        deb.unlink()
    return cached


def sixteen_s_1000(data: DataSet, other: Path) -> Path:
    out = CACHE / f"{data.name}-queries-16s-1000.fa"
    if not out.is_file():
        rng = random.Random(data.seed * 1000 + 1)
        pool = read_fasta(other)
        picked = rng.sample(pool, 1000)
        records = [
            (f"m{k:04d} mutated copy of: {h}", mutate(s, rng, 0.03, "ACGT"))
            for k, (h, s) in enumerate(picked)
        ]
        write_fasta(out, records)
    return out


def protein_data(data: DataSet) -> None:
    """The protein database (N UniProt proteins, seeded) and its blastp/blastx queries."""
    prefix = CACHE / f"prot-{data.size}-s{data.seed}"
    blastp_q = CACHE / f"prot-{data.size}-s{data.seed}-queries-50.fa"
    blastx_q = CACHE / f"prot-{data.size}-s{data.seed}-queries-nucl-20.fa"
    data.files.update({"prot": prefix, "prot-50": blastp_q, "nucl-from-prot-20": blastx_q})
    if blastx_q.is_file() and prefix.with_suffix(".pin").is_file():
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    pool = read_fasta(protein_source(), gzip.open)
    rng = random.Random(data.seed)
    order = list(range(len(pool)))
    rng.shuffle(order)
    subjects, rest = sorted(order[: data.size]), order[data.size :]
    fa = prefix.with_suffix(".fa")
    write_fasta(fa, [(f"p{k:05d} {pool[i][0]}", pool[i][1]) for k, i in enumerate(subjects)])
    subprocess.run(
        ["makeblastdb", "-in", fa.name, "-dbtype", "prot", "-parse_seqids", "-out", prefix.name],
        cwd=CACHE,
        check=True,
        capture_output=True,
    )
    # queries: half subjects, half not; 5 % point mutations
    picks = rng.sample(subjects, 35) + rng.sample(rest, 35)
    rng.shuffle(picks)
    proteins = [(pool[i][0], mutate(pool[i][1], rng, 0.05, AMINO)) for i in picks]
    write_fasta(blastp_q, [(f"pq{k:02d} {h}", s) for k, (h, s) in enumerate(proteins[:50])])
    nucl = [
        (f"xq{k:02d} back-translated: {h}", "".join(rng.choice(CODONS.get(a, ("NNN",))) for a in s))
        for k, (h, s) in enumerate(proteins[50:70])
    ]
    write_fasta(blastx_q, nucl)


def data_set(root: Path, name: str) -> DataSet:
    size, seed = (int(part[1:]) for part in name.split("-"))
    data = DataSet(name, size, seed, root / name)
    other = (
        next((root / n for n in SETS if n != name and n.startswith(f"n{size}-")), None) or data.dir
    )
    data.files.update(
        {
            "nucl": data.dir / f"16s-{size}",
            "16s-50": data.dir / "queries-16s-50.fa",
            "16s-1000": sixteen_s_1000(data, other / f"16s-{size}.fa"),
        }
    )
    protein_data(data)
    return data


# -- runs --------------------------------------------------------------------------------------


def raw_run(case: Case, data: DataSet, work: Path) -> dict[str, Any]:
    out = work / f"raw-{case.name}.tsv"
    argv = [
        case.program,
        "-query",
        str(data.files[case.queries]),
        "-db",
        str(data.files[case.molecule]),
        "-outfmt",
        HSP_TABLE_OUTFMT,
        "-out",
        str(out),
        "-num_threads",
        THREADS,
        *blast_arguments(Program(case.program), case.options),
    ]
    cpu_before = children_cpu_s()
    started = time.perf_counter()
    # A session of its own, as the BlastDeck server (with its BLAST) is: with the kernel's
    # autogroup scheduling every session is a group with its own share of the CPU, so under
    # load a BLAST left in this script's session would share it with the script and the client.
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, start_new_session=True)
    wall = time.perf_counter() - started
    cpu = children_cpu_s() - cpu_before
    if proc.returncode != 0:
        raise BenchError(f"raw {case.program} failed: {proc.stderr[-500:]}")
    with out.open() as fh:
        hsps = sum(1 for line in fh if line.strip() and not line.startswith("#"))
    out.unlink()
    return {"wall_s": r3(wall), "cpu_s": r3(cpu), "hsps": hsps}


def job_run(
    server: _common.Server, case: Case, data: DataSet, database: str, cluster: str = "local"
) -> dict[str, Any]:
    body = {
        "program": case.program,
        "database": database,
        "query": data.files[case.queries].read_text(),
        "options": case.options,
        "cluster": cluster,
    }
    cpu_before = server_cpu_s(server.pid)
    started_epoch, started = time.time(), time.perf_counter()
    job = server.request("POST", "/api/jobs", json=body).json()
    deadline = time.monotonic() + JOB_DEADLINE_S
    while job["phase"] not in TERMINAL:
        if time.monotonic() > deadline:
            raise BenchError(f"job {job['id']} still {job['phase']} after {JOB_DEADLINE_S} s")
        time.sleep(POLL_S)
        job = server.request("GET", f"/api/jobs/{job['id']}").json()
    client_wall = time.perf_counter() - started
    cpu_after = server_cpu_s(server.pid)  # BLAST on SLURM is not the server's child
    server_cpu, blast_cpu = (a - b for a, b in zip(cpu_after, cpu_before, strict=True))
    cpu = server_cpu + blast_cpu
    if job["phase"] != "completed":
        raise BenchError(f"job {job['id']} {job['phase']}: {job['error_code']}: {job['error']}")
    finished = datetime.fromisoformat(job["finished_at"]).timestamp()
    return {
        "wall_s": r3(finished - started_epoch),
        "client_s": r3(client_wall),
        "cpu_s": r3(cpu),
        "server_cpu_s": r3(server_cpu),
        "blast_cpu_s": r3(blast_cpu),
        "hsps": job["hsps_total"],
        "batches": job["progress"]["batches_total"],
        "id": job["id"],
    }


def measure(
    runs: int,
    first: Any,
    second: Any,
    names: tuple[str, str],
) -> list[dict[str, Any]]:
    """`runs` interleaved pairs of two callables; ratio = second / first."""
    pairs = []
    for i in range(runs):
        if i % 2 == 0:
            a = first()
            b = second()
        else:
            b = second()
            a = first()
        if a["hsps"] != b["hsps"]:
            raise BenchError(f"HSP counts differ: {names[0]} {a['hsps']}, {names[1]} {b['hsps']}")
        pair = {names[0]: a, names[1]: b, "ratio": r3(b["wall_s"] / a["wall_s"])}
        if names[0] == "raw" and a["cpu_s"] and b["cpu_s"]:  # on SLURM BLAST is elsewhere
            pair["cpu_ratio"] = r3(b["cpu_s"] / a["cpu_s"])
        pairs.append(pair)
        print(
            f"    run {i + 1}: {names[0]} {a['wall_s']:.2f} s, {names[1]} {b['wall_s']:.2f} s "
            f"({b.get('batches', '-')} batch(es)), ratio {pair['ratio']:.3f}, "
            f"CPU {a['cpu_s']:.2f} / {b['cpu_s']:.2f} s",
            flush=True,
        )
    return pairs


def summary(case: Case, data: DataSet, pairs: list[dict[str, Any]], names: tuple[str, str]) -> dict:
    ratio = median([p["ratio"] for p in pairs])
    return {
        "case": case.name,
        "set": data.name,
        "program": case.program,
        "options": case.options,
        "queries": str(data.files[case.queries]),
        "database": str(data.files[case.molecule]),
        "pairs": pairs,
        f"median_{names[0]}_s": median([p[names[0]]["wall_s"] for p in pairs]),
        f"median_{names[1]}_s": median([p[names[1]]["wall_s"] for p in pairs]),
        "median_ratio": ratio,
        "median_cpu_ratio": median([p["cpu_ratio"] for p in pairs])
        if "cpu_ratio" in pairs[0]
        else None,
        "batches": pairs[0][names[1]].get("batches"),
        "hsps": pairs[0][names[1]]["hsps"],
        "target": case.target,
        "pass": ratio <= case.target,
    }


# -- the bench ---------------------------------------------------------------------------------


def slurm_toml(slurm: Any, work: Path) -> str:
    settings = {
        "slurm_conf": str(slurm.conf),
        "work_dir": str(work / "shared"),
        "scratch_dir": str(work / "node-scratch"),
        # Two batches of one thread each, as on `local`: with 2 CPUs per task the node's 2
        # cores would run the two tasks one after the other.
        "cpus_per_task": "1",
    }
    body = json.dumps(settings).replace('": ', '" = ')
    return f'[[clusters]]\nname = "hpc"\nengine = "slurm"\nslots = 2\nsettings = {body}\n'


def bench(args: argparse.Namespace, results: dict[str, Any]) -> None:
    started = time.monotonic()
    by_name = {c.name: c for c in CASES}
    cases = [by_name[name] for name in args.cases]  # in the order asked
    sets = [data_set(args.data_root, name) for name in args.sets]
    work = Path(tempfile.mkdtemp(prefix="blastdeck-search-speed-"))
    server = _common.Server(work)
    slurm = None
    try:
        server.data_dir.mkdir(parents=True)
        if args.slurm_runs:
            sys.path.insert(0, str(REPO))  # the private-cluster fixture lives with the tests
            from tests.support.slurm_cluster import PrivateSlurm

            slurm = PrivateSlurm(work / "slurm")
            (work / "slurm").mkdir()
            slurm.start()
            (server.data_dir / "blastdeck.toml").write_text(slurm_toml(slurm, work))
        server.start()
        results["env"] = environment(server.health())
        results["local_slots"] = next(
            c["slots"]
            for c in server.request("GET", "/api/clusters").json()["items"]
            if c["name"] == "local"
        )
        names = {}
        for data in sets:
            for molecule in ("nucl", "prot"):
                name = f"{data.name}-{molecule}"
                server.register(name, data.files[molecule])
                names[(data.name, molecule)] = name
        # one untimed 1-query job and raw run per database: the job stages the database, both
        # read it into the page cache
        molecules = {c.molecule for c in cases} | ({"nucl"} if args.slurm_runs else set())
        for data in sets:
            for case in (c for c in (CASES[0], CASES[2]) if c.molecule in molecules):
                first = CACHE / f"{data.name}-{case.queries}-first.fa"
                write_fasta(first, read_fasta(data.files[case.queries])[:1])
                warm = DataSet(data.name, data.size, data.seed, data.dir, dict(data.files))
                warm.files[case.queries] = first
                raw_run(case, warm, work)
                job_run(server, case, warm, names[(data.name, case.molecule)])
        for case in cases:
            for data in sets:
                if case.name == "16s-1000" and data.name not in args.sets_1000:
                    continue
                print(f"{case.name} on {data.name}:", flush=True)
                database = names[(data.name, case.molecule)]
                runs = args.runs_1000 if case.name == "16s-1000" else args.runs
                pairs = measure(
                    runs,
                    lambda case=case, data=data: raw_run(case, data, work),
                    lambda case=case, data=data, db=database: job_run(server, case, data, db),
                    ("raw", "ours"),
                )
                results["rows"].append(summary(case, data, pairs, ("raw", "ours")))
                results["bench_seconds"] = round(time.monotonic() - started, 1)
                write_json(args.out, results)
            if case.name == "blastx-20" and slurm is not None:
                slurm_cases(args, server, sets, names, results)
                write_json(args.out, results)
        if slurm is not None and "blastx-20" not in args.cases:
            slurm_cases(args, server, sets, names, results)
        results["bench_seconds"] = round(time.monotonic() - started, 1)
    except BaseException:
        print(f"--- server log ---\n{server.log_tail()}", file=sys.stderr)
        raise
    finally:
        server.stop()
        if slurm is not None:
            slurm.stop()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def slurm_cases(
    args: argparse.Namespace,
    server: _common.Server,
    sets: list[DataSet],
    names: dict[tuple[str, str], str],
    results: dict[str, Any],
) -> None:
    for data in sets:
        if data.name not in args.slurm_sets:
            continue
        print(f"{SLURM_CASE.name} on {data.name} (SLURM / local):", flush=True)
        database = names[(data.name, "nucl")]
        job_run(server, SLURM_CASE, data, database, "hpc")  # stages the database on the node
        pairs = measure(
            args.slurm_runs,
            lambda data=data, db=database: job_run(server, SLURM_CASE, data, db, "local"),
            lambda data=data, db=database: job_run(server, SLURM_CASE, data, db, "hpc"),
            ("local", "slurm"),
        )
        results["rows"].append(summary(SLURM_CASE, data, pairs, ("local", "slurm")))


def print_table(results: dict[str, Any]) -> None:
    print(
        f"\n{'case':16} {'set':11} {'batches':>7} {'raw/local s':>11} {'ours s':>8} {'ratio':>6} "
        f"{'target':>6}  runs (ratio)"
    )
    for row in results["rows"]:
        base = row.get("median_raw_s", row.get("median_local_s"))
        ours = row.get("median_ours_s", row.get("median_slurm_s"))
        ratios = " ".join(f"{p['ratio']:.3f}" for p in row["pairs"])
        verdict = "PASS" if row["pass"] else "FAIL"
        print(
            f"{row['case']:16} {row['set']:11} {row['batches']:>7} {base:>11.2f} {ours:>8.2f} "
            f"{row['median_ratio']:>6.3f} {row['target']:>6.2f}  {verdict}  {ratios}"
        )


def markdown_table(paths: list[Path]) -> str:
    """Every row of the given result files as a markdown table (for docs/performance.md)."""
    lines = [
        "| case | data set | batches | raw (local) s | BlastDeck (SLURM) s | ratio | target | "
        "every pair's ratio | CPU ratio | its BLAST's CPU ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for path in paths:
        for row in json.loads(path.read_text())["rows"]:
            base = row.get("median_raw_s", row.get("median_local_s"))
            ours = row.get("median_ours_s", row.get("median_slurm_s"))
            ratios = ", ".join(f"{p['ratio']:.3f}" for p in row["pairs"])
            verdict = "" if row["pass"] else " (missed)"
            cpu = "-" if row.get("median_cpu_ratio") is None else f"{row['median_cpu_ratio']:.3f}"
            blast = [
                p["ours"]["blast_cpu_s"] / p["raw"]["cpu_s"]
                for p in row["pairs"]
                if p.get("ours", {}).get("blast_cpu_s") and p["raw"]["cpu_s"]
            ]
            blast_cpu = f"{median(blast):.3f}" if blast else "-"
            lines.append(
                f"| {row['case']} | {row['set']} | {row['batches']} | {base:.2f} | {ours:.2f} | "
                f"**{row['median_ratio']:.3f}**{verdict} | {row['target']:.2f} | {ratios} | "
                f"{cpu} | {blast_cpu} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    split = lambda text: [x for x in text.split(",") if x]  # noqa: E731
    parser.add_argument("--runs", type=int, default=5, help="interleaved pairs per case (5)")
    parser.add_argument("--runs-1000", type=int, default=5, help="pairs for 16s-1000 (5)")
    parser.add_argument("--sets", type=split, default=list(SETS), help="data sets (all four)")
    parser.add_argument("--sets-1000", type=split, default=list(SETS), help="sets for 16s-1000")
    parser.add_argument("--cases", type=split, default=[c.name for c in CASES])
    parser.add_argument("--slurm-runs", type=int, default=5, help="SLURM pairs (0: none)")
    parser.add_argument("--slurm-sets", type=split, default=["n3000-s7", "n10000-s19"])
    parser.add_argument("--data-root", type=Path, default=DATA_ROOT)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    parser.add_argument(
        "--markdown", type=Path, nargs="+", help="print these result files as a table; no run"
    )
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown_table(args.markdown))
        return 0
    results: dict[str, Any] = {
        "bench": "search_speed",
        "command": " ".join(["bench/search_speed.py", *(argv or sys.argv[1:])]),
        "protein_source": f"Debian package {PROTEIN_PACKAGE}: {PROTEIN_SOURCE} (UniProt)",
        "rows": [],
    }
    try:
        bench(args, results)
    except (BenchError, subprocess.SubprocessError, httpx.HTTPError, OSError) as exc:
        print(f"search_speed bench failed: {exc}", file=sys.stderr)
        if results["rows"]:
            write_json(args.out, results)
            print_table(results)
        return 2
    results["pass"] = all(row["pass"] for row in results["rows"])
    write_json(args.out, results)
    print_table(results)
    return 0 if results["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
