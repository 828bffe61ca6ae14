"""Import benchmark: a ~100 MB BLAST XML made by real BLAST runs, imported over HTTP into a real
`blastdeck serve` (POST /api/jobs/import), timed, with the server's RSS sampled throughout.

    .venv/bin/python bench/import_xml.py [--bench-data DIR] [--target-mb 100] [--out FILE]

Cases: the 16S bench data at two sizes and two seeds (n3000-s7, n3000-s19, n10000-s7,
n10000-s19). For each, queries-16s-50.fa is searched with blastn (megablast, evalue 10) into a
BLAST archive, max_target_seqs chosen so that blast_formatter's XML (-outfmt 5) is about
--target-mb; the XML is cached in bench/.data/import/ (git-ignored). A fresh server (embedded,
SQLite, upload limit raised to fit) registers the database (so the import adds its taxids) and
imports the file; the RSS of the server process is read from /proc every 20 ms from before the
upload starts until the answer arrives. Recorded per case: file size, HSPs and hits, import
seconds (upload + parse + index, the request's wall time), server RSS before, peak and growth
(target: growth <= 100 MB), and whether the hits page answers at once afterwards.
Figures go to bench/results/import_xml.json. Exit status: 0 targets pass, 1 a target fails,
2 the benchmark could not run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import _common
from _common import BENCH_DIR, BenchError, Server, write_json

RESULTS = BENCH_DIR / "results" / "import_xml.json"
CACHE = BENCH_DIR / ".data" / "import"
DEFAULT_BENCH_DATA = Path("/work/bench-data")
CASES = ("n3000-s7", "n3000-s19", "n10000-s7", "n10000-s19")
TARGET_GROWTH_MB = 100.0
SAMPLE_S = 0.02


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssSampler:
    """The peak RSS of one process while it is sampled (a thread reading /proc)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, rss_kb(self.pid))
            time.sleep(SAMPLE_S)


def database_prefix(data: Path) -> Path:
    found = sorted(data.glob("16s-*.nin")) + sorted(data.glob("16s-*.nal"))
    if not found:
        raise BenchError(f"no 16S database in {data}")
    return found[0].with_suffix("")


def build_xml(data: Path, target_mb: float) -> Path:
    """A BLAST XML of about `target_mb` from real blastn runs on the case's data (cached)."""
    prefix = database_prefix(data)
    out = CACHE / f"{data.name}-{int(target_mb)}mb.xml"
    if out.exists():
        return out
    CACHE.mkdir(parents=True, exist_ok=True)
    queries = data / "queries-16s-50.fa"
    archive = CACHE / f"{data.name}.asn"
    max_targets = 200
    for _ in range(6):
        subprocess.run(
            ["blastn", "-task", "megablast", "-db", prefix.name, "-query", str(queries),
             "-evalue", "10", "-max_target_seqs", str(max_targets), "-outfmt", "11",
             "-out", str(archive)],
            cwd=prefix.parent, env={"BLASTDB": ".", "PATH": "/usr/bin:/bin"}, check=True,
        )  # fmt: skip
        draft = out.with_suffix(".part")
        subprocess.run(
            ["blast_formatter", "-archive", str(archive), "-outfmt", "5", "-out", str(draft)],
            cwd=prefix.parent, env={"BLASTDB": ".", "PATH": "/usr/bin:/bin"}, check=True,
        )  # fmt: skip
        size_mb = draft.stat().st_size / 1e6
        if size_mb >= target_mb * 0.9 or max_targets >= 5000:
            draft.replace(out)
            archive.unlink(missing_ok=True)
            return out
        max_targets = int(max_targets * target_mb / size_mb * 1.05) + 1
    raise BenchError(f"could not make a {target_mb} MB XML from {data}")


def one_case(data: Path, xml: Path, work: Path) -> dict[str, Any]:
    size = xml.stat().st_size
    settings = {"BLASTDECK_MAX_UPLOAD_BYTES": str(size * 2 + (1 << 20))}
    server = Server(work, name=f"server-{data.name}", settings=settings)
    server.data_dir.mkdir(parents=True)
    server.start()
    try:
        server.register(data.name, database_prefix(data))
        time.sleep(1.0)  # settle after start-up
        before = rss_kb(server.pid)
        start = time.monotonic()
        with RssSampler(server.pid) as sampler, xml.open("rb") as fh:
            job = server.request(
                "POST", "/api/jobs/import", files={"file": (xml.name, fh, "application/xml")}
            ).json()
        elapsed = time.monotonic() - start
        after = rss_kb(server.pid)
        hits_start = time.monotonic()
        page = server.request("GET", f"/api/jobs/{job['id']}/hits", params={"limit": 100}).json()
        hits_s = time.monotonic() - hits_start
        organisms = sum(1 for hit in page["items"] if hit.get("staxid"))
        growth_mb = (max(sampler.peak_kb, after) - before) / 1024
        return {
            "case": data.name,
            "xml_mb": round(size / 1e6, 1),
            "queries": job["query_count"],
            "hsps": job["hsps_total"],
            "hits": job["hits_total"],
            "phase": job["phase"],
            "import_s": round(elapsed, 2),
            "mb_per_s": round(size / 1e6 / elapsed, 1),
            "server_rss_before_mb": round(before / 1024, 1),
            "server_rss_peak_mb": round(sampler.peak_kb / 1024, 1),
            "server_rss_after_mb": round(after / 1024, 1),
            "server_rss_growth_mb": round(growth_mb, 1),
            "first_hits_page_s": round(hits_s, 3),
            "first_page_hits_with_taxid": organisms,
            "hits_browsable": page["total"] == job["hits_total"] and bool(page["items"]),
            "target_growth_mb": TARGET_GROWTH_MB,
            "meets_target": growth_mb <= TARGET_GROWTH_MB,
        }
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench-data", type=Path, default=DEFAULT_BENCH_DATA)
    parser.add_argument("--target-mb", type=float, default=100.0)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    health: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="import-bench-", dir=BENCH_DIR / ".data") as tmp:
            for name in args.cases.split(","):
                data = args.bench_data / name
                xml = build_xml(data, args.target_mb)
                print(f"{name}: importing {xml.stat().st_size / 1e6:.0f} MB", flush=True)
                result = one_case(data, xml, Path(tmp))
                print(result, flush=True)
                results.append(result)
            probe = Server(Path(tmp), name="probe")
            probe.data_dir.mkdir()
            probe.start()
            health = probe.health()
            probe.stop()
    except (BenchError, subprocess.CalledProcessError, OSError) as exc:
        print(f"import bench could not run: {exc}", file=sys.stderr)
        return 2
    ok = all(r["meets_target"] and r["hits_browsable"] for r in results)
    write_json(
        args.out,
        {
            "benchmark": "import_xml",
            "environment": _common.environment(health),
            "target": f"server RSS growth <= {TARGET_GROWTH_MB:.0f} MB while importing ~100 MB",
            "results": results,
            "all_targets_met": ok,
        },
    )
    print(f"wrote {_common.shown_path(args.out)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
