"""Taxonomy benchmark: the index build, autocomplete, descendant expansion, lineages for a job's
report, and BLAST's -taxidlist with the expanded lists.

    .venv/bin/python bench/taxonomy.py [--data DIR] [--cache DIR] [--rounds N] [--out FILE]

1. build       - the derived index of the embedded NCBI Taxonomy, built in a new process into a
                 fresh cache dir (or, with --cache DIR, the build recorded in DIR's index)
2. cold / warm - each measurement below first in a new process that only opens the cached
                 index (cold: nothing decoded yet; the OS page cache is as the build left it),
                 then again in that process (warm)
3. autocomplete - search(prefix, 10) over ~400 realistic prefixes: genus and species names of
                 the 16S bench data and common names of model organisms, 1-4 letters and longer;
                 p50/p95/max. Target: warm p95 <= 50 ms
4. expansion   - descendants / expand / write_taxid_list for Bacteria (2) and Enterobacterales
                 (91347)
5. lineage     - a 100,000-HSP set drawn (seeded) from real HSPs of the 16S bench data (blastn
                 of queries-16s-50.fa against 16s-3000, all hits): np.unique of the staxids,
                 lineage_names of the distinct ones, rows_for every HSP. Targets: cold <= 1 s,
                 warm <= 100 ms. Also with 100,000 distinct random bacterial taxids (stress).
6. blast       - blastn of 10 queries against 16s-3000: no list, -taxidlist Enterobacterales,
                 a 300,000-taxid list holding every taxid of the database, all Bacteria, and
                 -negative_taxidlist Enterobacterales; interleaved rounds, median wall time.
                 Then what a list costs by itself (1 query, 1 target): none, 300k, Bacteria,
                 and Bacteria cut to the database's taxids (TaxidLists.restricted_to)

Needs the 16S bench data (`../shared/scripts/make-bench-data DIR 3000 1`, built into DIR when
missing). Figures go to bench/results/taxonomy.json. Exit status: 0 every target passes, 1 a
target fails, 2 the benchmark could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common
import numpy as np
from _common import BENCH_DIR, REPO, BenchError, median, nearest_rank, r3, write_json

DEFAULT_DATA = BENCH_DIR / ".data"
RESULTS = BENCH_DIR / "results" / "taxonomy.json"
MAKE_DATA = REPO.parent / "shared" / "scripts" / "make-bench-data"
N_SUBJECTS, SEED = 3000, 1
DB = f"16s-{N_SUBJECTS}"
HSPS = 100_000
COMMON_NAMES = (
    "human",
    "house mouse",
    "Norway rat",
    "zebrafish",
    "chicken",
    "cattle",
    "pig",
    "dog",
    "domestic cat",
    "fruit fly",
    "thale cress",
    "rice",
    "maize",
    "bread wheat",
    "baker's yeast",
    "fission yeast",
    "E. coli",
    "honey bee",
    "rhesus monkey",
    "sheep",
    "goat",
    "horse",
    "African clawed frog",
    "nematode",
    "mosquito",
    "soybean",
    "tomato",
    "potato",
    "grape",
    "barley",
)
TARGETS = {"autocomplete_p95_ms": 50.0, "lineage_cold_s": 1.0, "lineage_warm_ms": 100.0}


# -- data ---------------------------------------------------------------------------------------


def ensure_data(data: Path) -> None:
    if not (data / f"{DB}.taxid_map").is_file() or not (data / f"{DB}.nsq").is_file():
        print(f"building bench data in {data} (make-bench-data {N_SUBJECTS} {SEED}) ...")
        env = {**os.environ, "TAXONOMY_VENV": str(Path(sys.executable).parents[1])}
        subprocess.run([str(MAKE_DATA), str(data), str(N_SUBJECTS), str(SEED)], check=True, env=env)


def real_hsp_taxids(data: Path) -> np.ndarray:
    """The staxid of every HSP of queries-16s-50.fa against the database (cached)."""
    cached = data / f"{DB}.hsp-staxids.npy"
    if not cached.is_file():
        print("running blastn for the HSP set (once; cached) ...", flush=True)
        done = subprocess.run(
            [
                "blastn",
                "-db",
                str(data / DB),
                "-query",
                str(data / "queries-16s-50.fa"),
                "-max_target_seqs",
                str(N_SUBJECTS),
                "-evalue",
                "10",
                "-outfmt",
                "6 staxid",
                "-num_threads",
                "2",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        values = [0 if v == "N/A" else int(v) for v in done.stdout.split()]
        np.save(cached, np.array(values, dtype=np.int64))
    return np.load(cached)


def prefixes(taxonomy: Any, data: Path) -> list[str]:
    """~400 prefixes people type: genus and species names of the bench data's organisms and
    common names, cut at 1-4 letters, plus whole genus names and "Genus sp" starts."""
    rng = random.Random(SEED)
    taxids = sorted({int(line.split()[1]) for line in (data / f"{DB}.taxid_map").open()})
    table = taxonomy.lineage_names(taxids)
    genera = sorted({g for g in table.rank_names["genus"] if g})
    species = sorted({s for s in table.rank_names["species"] if s})
    words = rng.sample(genera, 60) + rng.sample(species, 60) + list(COMMON_NAMES)
    found: list[str] = []
    for word in words:
        for length in (1, 2, 3, 4):
            found.append(word[:length])
        found.append(word)
        if " " in word:
            found.append(word[: word.index(" ") + 3])
    return [p for p in dict.fromkeys(found) if p.strip()]


# -- measurements in a new process -------------------------------------------------------------


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _latencies(search: Any, queries: list[str]) -> dict[str, float]:
    times = []
    for query in queries:
        started = time.perf_counter()
        search(query, 10)
        times.append(time.perf_counter() - started)
    return {
        "queries": len(times),
        "p50_ms": _ms(median(times)),
        "p95_ms": _ms(nearest_rank(times, 0.95)),
        "max_ms": _ms(max(times)),
    }


def _timed(action: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def measure(cache: Path, hsps_path: Path, prefixes_path: Path, work: Path) -> dict[str, Any]:
    """Runs in a new process: everything first cold, then warm."""
    started = time.perf_counter()
    from blastdeck.taxonomy import Taxonomy, write_taxid_list

    imported = time.perf_counter() - started
    taxonomy = Taxonomy(cache)
    opened, report = _timed(taxonomy.ensure_ready)
    assert not report.built
    out: dict[str, Any] = {"import_s": r3(imported), "open_ms": _ms(opened)}

    hsps = np.load(hsps_path)

    def report_lookups(staxids: np.ndarray) -> int:
        """What a per-organism report needs: each HSP's row (its lineage), and HSPs counted
        by species name."""
        distinct, counts = np.unique(staxids, return_counts=True)
        table = taxonomy.lineage_names(distinct)
        rows = table.rows_for(staxids)
        assert len(rows) == len(staxids)
        by_species: dict[str | None, int] = {}
        for name, count in zip(table.rank_names["species"], counts.tolist(), strict=True):
            by_species[name] = by_species.get(name, 0) + count
        return len(distinct)

    cold, distinct = _timed(lambda: report_lookups(hsps))
    warm = [_timed(lambda: report_lookups(hsps))[0] for _ in range(5)]
    out["lineage"] = {
        "hsps": len(hsps),
        "distinct_taxids": distinct,
        "cold_ms": _ms(cold),
        "warm_ms": _ms(median(warm)),
    }
    rng = np.random.default_rng(SEED)
    bacteria = taxonomy.descendants(2)
    stress = rng.choice(bacteria, size=HSPS, replace=False)
    s_cold, s_distinct = _timed(lambda: report_lookups(stress))
    s_warm = [_timed(lambda: report_lookups(stress))[0] for _ in range(3)]
    out["lineage_stress"] = {
        "hsps": HSPS,
        "distinct_taxids": s_distinct,
        "cold_ms": _ms(s_cold),
        "warm_ms": _ms(median(s_warm)),
    }

    queries = json.loads(prefixes_path.read_text())
    out["autocomplete"] = {
        "cold": _latencies(taxonomy.search, queries),
        "warm": _latencies(taxonomy.search, queries),
    }

    expansion = {}
    for taxid in (2, 91347):
        first, found = _timed(lambda t=taxid: taxonomy.descendants(t))
        again = median([_timed(lambda t=taxid: taxonomy.descendants(t))[0] for _ in range(5)])
        expand = median([_timed(lambda t=taxid: taxonomy.expand([t]))[0] for _ in range(3)])
        lists = taxonomy.expand([taxid])
        target = work / f"expand-{taxid}.taxids"
        write = median(
            [_timed(lambda p=target, v=lists.include: write_taxid_list(p, v))[0] for _ in range(3)]
        )
        expansion[str(taxid)] = {
            "name": taxonomy.get(taxid).scientific_name,
            "taxids": len(found),
            "descendants_cold_ms": _ms(first),
            "descendants_warm_ms": _ms(again),
            "expand_ms": _ms(expand),
            "write_list_ms": _ms(write),
            "list_bytes": target.stat().st_size,
        }
    out["expansion"] = expansion
    return out


# -- BLAST with taxid lists --------------------------------------------------------------------


def blast_lists(taxonomy: Any, data: Path, work: Path, rounds: int) -> dict[str, Any]:
    from blastdeck.taxonomy import read_taxid_list, write_taxid_list

    query = work / "queries-10.fa"
    query.write_text("".join(_common.fasta_records(data / "queries-16s-50.fa", 10)))
    in_db = {int(line.split()[1]) for line in (data / f"{DB}.taxid_map").open()}
    bacteria = taxonomy.expand([2]).include
    rng = np.random.default_rng(SEED)
    others = rng.choice(np.setdiff1d(bacteria, list(in_db)), 300_000 - len(in_db), replace=False)
    lists = {
        "enterobacterales": ("-taxidlist", taxonomy.expand([91347]).include),
        "300k_incl_every_db_taxid": ("-taxidlist", np.union1d(others, list(in_db))),
        "bacteria": ("-taxidlist", bacteria),
        "negative_enterobacterales": ("-negative_taxidlist", taxonomy.expand([], [91347]).exclude),
    }
    files = {}
    for name, (_, taxids) in lists.items():
        files[name] = work / f"{name}.taxids"
        write_taxid_list(files[name], taxids)
        assert len(read_taxid_list(files[name])) == len(np.unique(taxids))

    def run(extra: list[str]) -> tuple[float, list[str]]:
        started = time.perf_counter()
        done = subprocess.run(
            [
                "blastn",
                "-db",
                str(data / DB),
                "-query",
                str(query),
                "-max_target_seqs",
                "500",
                "-outfmt",
                "6 qaccver saccver staxid",
                "-num_threads",
                "1",
                *extra,
            ],
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise BenchError(f"blastn {' '.join(extra)} failed: {done.stderr.strip()[:300]}")
        return elapsed, done.stdout.splitlines()

    variants: dict[str, list[str]] = {"none": []}
    variants.update({name: [option, str(files[name])] for name, (option, _) in lists.items()})
    times: dict[str, list[float]] = {name: [] for name in variants}
    hits: dict[str, list[str]] = {}
    for _ in range(rounds):  # interleaved, so load drifting hits every variant alike
        for name, extra in variants.items():
            elapsed, hits[name] = run(extra)
            times[name].append(elapsed)
    out: dict[str, Any] = {"queries": 10, "database": DB, "rounds": rounds, "variants": {}}
    for name in variants:
        taxids = {int(h.split("\t")[2]) if h.split("\t")[2] != "N/A" else 0 for h in hits[name]}
        entry: dict[str, Any] = {
            "wall_s_median": r3(median(times[name])),
            "hits": len(hits[name]),
            "distinct_hit_taxids": len(taxids),
        }
        if name in lists:
            option, listed = lists[name]
            listed_set = set(np.asarray(listed).tolist())
            entry |= {
                "option": option,
                "list_taxids": len(listed_set),
                "list_bytes": files[name].stat().st_size,
                "every_hit_obeys_the_list": (taxids <= listed_set)
                if option == "-taxidlist"
                else not (taxids & listed_set),
            }
        out["variants"][name] = entry
    return out


def list_overhead(taxonomy: Any, data: Path, work: Path, rounds: int) -> dict[str, Any]:
    """What a list costs BLAST by itself: one query, one target, so reading the list is most
    of the run. Also the Bacteria list cut to the database's taxids (`restricted_to`)."""
    from blastdeck.taxonomy import write_taxid_list

    query = work / "query-1.fa"
    query.write_text("".join(_common.fasta_records(data / "queries-16s-50.fa", 1)))
    listed = subprocess.run(
        ["blastdbcmd", "-db", str(data / DB), "-tax_info"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    present = np.array([int(line.split("\t")[0]) for line in listed if line[:1].isdigit()])
    present = present[present > 0]  # 0: the sequences without a taxid
    bacteria = taxonomy.expand([2])
    rng = np.random.default_rng(SEED)
    others = rng.choice(
        np.setdiff1d(bacteria.include, present), 300_000 - len(present), replace=False
    )
    lists = {
        "300k": np.union1d(others, present),
        "bacteria": bacteria.include,
        "bacteria_cut_to_db": bacteria.restricted_to(present, DB).include,
    }
    variants: dict[str, list[str]] = {"none": []}
    for name, taxids in lists.items():
        write_taxid_list(work / f"overhead-{name}.taxids", taxids)
        variants[name] = ["-taxidlist", str(work / f"overhead-{name}.taxids")]
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, extra in variants.items():
            started = time.perf_counter()
            subprocess.run(
                [
                    "blastn",
                    "-db",
                    str(data / DB),
                    "-query",
                    str(query),
                    "-max_target_seqs",
                    "1",
                    "-outfmt",
                    "6",
                    "-num_threads",
                    "1",
                    *extra,
                ],
                check=True,
                capture_output=True,
            )
            times[name].append(time.perf_counter() - started)
    base = median(times["none"])
    return {
        "rounds": rounds,
        "database_taxids": len(present),
        "variants": {
            name: {
                "list_taxids": len(lists[name]) if name in lists else 0,
                "wall_s_median": r3(median(times[name])),
                "overhead_s": r3(median(times[name]) - base),
            }
            for name in variants
        },
    }


# -- main ---------------------------------------------------------------------------------------


def build_index(cache: Path) -> dict[str, Any]:
    """The index built in a new process (as a first server start would)."""
    code = (
        "import json, sys, time\nfrom pathlib import Path\n"
        "t = time.perf_counter()\nfrom blastdeck.taxonomy import Taxonomy\n"
        "r = Taxonomy(Path(sys.argv[1])).ensure_ready()\n"
        "print(json.dumps({'built': r.built, 'wall_s': time.perf_counter() - t}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(cache)], capture_output=True, text=True, cwd=REPO
    )
    if done.returncode != 0:
        raise BenchError(f"building the index failed: {done.stderr[-2000:]}")
    result = json.loads(done.stdout)
    meta = json.loads(next(cache.glob("v*-embedded-*/meta.json")).read_text())
    size = sum(p.stat().st_size for p in next(cache.glob("v*-embedded-*")).iterdir())
    return {
        "built_now": result["built"],
        "process_wall_s": r3(result["wall_s"]),
        "load_s": meta["load_seconds"],
        "index_s": meta["index_seconds"],
        "build_s": meta["build_seconds"],
        "taxa": meta["taxa"],
        "names": meta["names"],
        "index_mb": round(size / 2**20, 1),
        "source": meta["source"],
    }


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    ensure_data(args.data)
    cache = args.cache or work / "taxonomy-cache"
    build = build_index(cache)
    print(f"index: {build['build_s']} s to build ({build['taxa']} taxa), {build['index_mb']} MB")
    from blastdeck.taxonomy import Taxonomy

    taxonomy = Taxonomy(cache)
    real = real_hsp_taxids(args.data)
    drawn = np.random.default_rng(SEED).choice(real, size=HSPS, replace=True)
    np.save(work / "hsps.npy", drawn)
    queries = prefixes(taxonomy, args.data)
    (work / "prefixes.json").write_text(json.dumps(queries))
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--measure",
            str(cache),
            str(work / "hsps.npy"),
            str(work / "prefixes.json"),
            str(work),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if done.returncode != 0:
        raise BenchError(f"the measuring process failed: {done.stderr[-2000:]}")
    measured = json.loads(done.stdout)
    blast = blast_lists(taxonomy, args.data, work, args.rounds)
    blast["list_overhead"] = list_overhead(taxonomy, args.data, work, max(5, args.rounds * 2))
    auto, lineage = measured["autocomplete"]["warm"], measured["lineage"]
    checks = {
        "autocomplete_p95_ms": auto["p95_ms"] <= TARGETS["autocomplete_p95_ms"],
        "lineage_cold_s": lineage["cold_ms"] / 1000 <= TARGETS["lineage_cold_s"],
        "lineage_warm_ms": lineage["warm_ms"] <= TARGETS["lineage_warm_ms"],
        "blast_lists_obeyed": all(
            v.get("every_hit_obeys_the_list", True) for v in blast["variants"].values()
        ),
    }
    return {
        "env": {
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "commit": _common.environment({})["commit"],
            "host_cpus": os.cpu_count(),
            "loadavg_start": list(os.getloadavg()),
            "blast": subprocess.run(
                ["blastn", "-version"], capture_output=True, text=True
            ).stdout.split("\n")[0],
        },
        "targets": TARGETS,
        "build": build,
        **measured,
        "blast": blast,
        "pass": checks,
    }


def print_summary(results: dict[str, Any]) -> None:
    auto = results["autocomplete"]
    print(
        f"\nopen cached index (new process): {results['open_ms']} ms "
        f"(import {results['import_s']} s)"
    )
    for phase in ("cold", "warm"):
        a = auto[phase]
        print(
            f"autocomplete {phase}: {a['queries']} prefixes, p50 {a['p50_ms']} ms, "
            f"p95 {a['p95_ms']} ms, max {a['max_ms']} ms"
        )
    for key in ("lineage", "lineage_stress"):
        lin = results[key]
        print(
            f"{key}: {lin['hsps']} HSPs, {lin['distinct_taxids']} distinct taxids: "
            f"cold {lin['cold_ms']} ms, warm {lin['warm_ms']} ms"
        )
    for taxid, e in results["expansion"].items():
        print(
            f"expand {e['name']} ({taxid}): {e['taxids']} taxids; descendants cold "
            f"{e['descendants_cold_ms']} ms, warm {e['descendants_warm_ms']} ms; expand "
            f"{e['expand_ms']} ms; write list {e['write_list_ms']} ms ({e['list_bytes']} B)"
        )
    for name, v in results["blast"]["variants"].items():
        print(
            f"blastn {name:28} {v['wall_s_median']:>7} s  hits {v['hits']:>5}  "
            f"list {v.get('list_taxids', '-')}"
        )
    overhead = results["blast"]["list_overhead"]
    for name, v in overhead["variants"].items():
        print(
            f"blastn 1 query, list {name:20} {v['wall_s_median']:>6} s  overhead "
            f"{v['overhead_s']:>6} s  ({v['list_taxids']} taxids)"
        )
    for name, ok in results["pass"].items():
        print(f"{name:24} {'PASS' if ok else 'FAIL'}")


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--measure":
        cache, hsps, queries, work = map(Path, sys.argv[2:6])
        print(json.dumps(measure(cache, hsps, queries, work)))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="16S bench data dir")
    parser.add_argument("--cache", type=Path, help="reuse this taxonomy cache dir")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved blastn rounds (3)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"JSON output ({RESULTS})")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="blastdeck-taxonomy-bench-"))
    try:
        results = run(args, work)
    except (BenchError, subprocess.CalledProcessError, OSError) as exc:
        print(f"taxonomy bench could not run: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_json(args.out, results)
    print_summary(results)
    print(f"\nwrote {_common.shown_path(args.out)}")
    return 0 if all(results["pass"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
