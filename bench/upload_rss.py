"""Database upload benchmark: the server's memory while a big FASTA is uploaded and built.

    .venv/bin/python bench/upload_rss.py [--sizes-mb 256,1024] [--keep] [--out FILE]

Per size, starts a fresh `blastdeck serve` (embedded, BLASTDECK_MAX_UPLOAD_BYTES raised to
fit; measured after its start-up, which builds the demo databases), generates a nucleotide
FASTA of that many bytes (random ACGT, 10,000-letter records in 80-letter lines), uploads it to
`POST /api/databases` with httpx streaming the multipart body from the file, and samples the
server process's RSS (`/proc/<pid>/status` VmRSS, every 20 ms) from just before the upload until
the answer, and its peak (VmHWM) at the end. makeblastdb is a child process: its own peak RSS
is reported apart (it is not the server's memory).
Figures: `rss_growth_mb` = the highest sampled RSS (or VmHWM, whichever is higher) minus the
RSS before the upload; upload and build seconds; the database's sequences and size.
Target: rss_growth_mb <= 100 at every size. The generated files and databases are deleted
afterwards (disk!). Figures go to bench/results/upload_rss.json. Exit: 0 pass, 1 fail, 2 could
not run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _common import BENCH_DIR, BenchError, Server, descendants, environment, r3, write_json

RESULTS = BENCH_DIR / "results" / "upload_rss.json"
TARGET_MB = 100.0
RECORD_LETTERS = 10_000
_ACGT = bytes.maketrans(bytes(range(256)), b"ACGT" * 64)
BOUNDARY = "blastdeckbenchboundary"


def write_fasta(path: Path, size: int) -> int:
    """A nucleotide FASTA of about `size` bytes; its record count."""
    count = 0
    with path.open("wb") as fh:
        while fh.tell() < size:
            letters = os.urandom(RECORD_LETTERS).translate(_ACGT)
            lines = b"\n".join(letters[i : i + 80] for i in range(0, RECORD_LETTERS, 80))
            fh.write(b">r%d synthetic record %d\n%s\n" % (count, count, lines))
            count += 1
    return count


def vm(pid: int, key: str) -> int:
    """A /proc/<pid>/status value in KB (0 when the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler(threading.Thread):
    """The server's RSS every 20 ms, and the highest RSS of any child (makeblastdb)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.child_peak_kb = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.peak_kb = max(self.peak_kb, vm(self.pid, "VmRSS"))
            for child in descendants(self.pid):
                self.child_peak_kb = max(self.child_peak_kb, vm(child, "VmRSS"))
            time.sleep(0.02)


def multipart(path: Path, name: str, done: dict[str, float]) -> Iterator[bytes]:
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="name"\r\n\r\n{name}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}.fa"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            yield block
    yield f"\r\n--{BOUNDARY}--\r\n".encode()
    done["sent"] = time.monotonic()


def one_size(server: Server, work: Path, size_mb: int) -> dict[str, Any]:
    fasta = work / f"upload-{size_mb}.fa"
    records = write_fasta(fasta, size_mb * 1024 * 1024)
    name = f"upload-{size_mb}mb"
    before_kb = vm(server.pid, "VmRSS")
    sampler = Sampler(server.pid)
    sampler.start()
    done: dict[str, float] = {}
    started = time.monotonic()
    try:
        assert server.client is not None
        response = server.client.post(
            "/api/databases",
            content=multipart(fasta, name, done),
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
            timeout=3600,
        )
    finally:
        sampler.stopped.set()
        sampler.join()
        fasta.unlink(missing_ok=True)
    ended = time.monotonic()
    if response.status_code != 201:
        raise BenchError(f"upload of {size_mb} MB -> {response.status_code}: {response.text[:500]}")
    db = response.json()
    hwm_kb = vm(server.pid, "VmHWM")
    server.request("DELETE", f"/api/databases/{db['name']}")
    growth_kb = max(sampler.peak_kb, hwm_kb) - before_kb
    return {
        "size_mb": size_mb,
        "records": records,
        "sequences": db["sequences"],
        "letters": db["letters"],
        "database_size_mb": r3((db["size_bytes"] or 0) / 2**20),
        "rss_before_mb": r3(before_kb / 1024),
        "rss_peak_sampled_mb": r3(sampler.peak_kb / 1024),
        "vm_hwm_mb": r3(hwm_kb / 1024),
        "rss_growth_mb": r3(growth_kb / 1024),
        "makeblastdb_peak_rss_mb": r3(sampler.child_peak_kb / 1024),
        "upload_s": r3(done.get("sent", ended) - started),
        "total_s": r3(ended - started),
        "pass": growth_kb / 1024 <= TARGET_MB,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", default="256,1024")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (not the FASTA)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes_mb.split(",")]
    work = Path(tempfile.mkdtemp(prefix="blastdeck-upload-rss-"))
    limit = str((max(sizes) + 64) * 1024 * 1024)
    cases: list[dict[str, Any]] = []
    env: dict[str, Any] = {}
    try:
        for size in sizes:  # a fresh server per size: its VmHWM is this upload's alone
            server = Server(work, f"server-{size}", {"BLASTDECK_MAX_UPLOAD_BYTES": limit})
            try:
                server.start()
                env = env or environment(server.health())
                case = one_size(server, work, size)
            finally:
                server.stop()
            cases.append(case)
            print(
                f"{size} MB: RSS +{case['rss_growth_mb']} MB (peak {case['rss_peak_sampled_mb']}"
                f" MB, HWM {case['vm_hwm_mb']} MB), upload {case['upload_s']} s, total "
                f"{case['total_s']} s, makeblastdb {case['makeblastdb_peak_rss_mb']} MB",
                flush=True,
            )
    except BenchError as exc:
        print(f"could not run: {exc}", file=sys.stderr)
        return 2
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    passed = all(case["pass"] for case in cases)
    write_json(
        args.out,
        {"env": env, "target_rss_growth_mb": TARGET_MB, "cases": cases, "pass": passed},
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
