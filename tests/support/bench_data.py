"""The 16S bench data some tests read (3,000 subjects with a taxid map, seed 7): the machine's
shared copy when there is one, else built once by `../shared/scripts/make-bench-data` into
bench/.data (git-ignored), so a fresh checkout needs nothing prepared by hand."""

from __future__ import annotations

import fcntl
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED_COPY = Path("/work/bench-data/n3000-s7")
BUILT = REPO / "bench" / ".data" / "n3000-s7"
MAKE_BENCH_DATA = REPO.parent / "shared" / "scripts" / "make-bench-data"


def bench_16s_3000() -> Path:
    if (SHARED_COPY / "16s-3000.taxid_map").is_file():
        return SHARED_COPY
    BUILT.mkdir(parents=True, exist_ok=True)
    with open(BUILT / ".lock", "w") as lock:  # concurrent test processes build it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (BUILT / "16s-3000.taxid_map").is_file():
            subprocess.run([str(MAKE_BENCH_DATA), str(BUILT), "3000", "7"], check=True)
    return BUILT
