"""The embedded NCBI Taxonomy's index, built once per test process and shared by the test
modules that need the real data (building it takes 20-60 s; opening it, milliseconds).

It is built fresh into a temporary directory, so every test run exercises the build. For
quicker local iterations, BLASTDECK_TEST_TAXONOMY_CACHE=DIR keeps it in DIR between runs (the
index directory is keyed by its format version and the data snapshot, not by the code).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from pathlib import Path

from blastdeck.taxonomy import BuildReport, Taxonomy

_lock = threading.Lock()
_built: tuple[Path, BuildReport] | None = None


def embedded_cache() -> tuple[Path, BuildReport]:
    """(cache dir holding the embedded index, the report of opening it the first time)."""
    global _built
    with _lock:
        if _built is None:
            kept = os.environ.get("BLASTDECK_TEST_TAXONOMY_CACHE")
            if kept:
                cache = Path(kept)
            else:
                cache = Path(tempfile.mkdtemp(prefix="blastdeck-taxonomy-test-"))
                atexit.register(shutil.rmtree, cache, ignore_errors=True)
            _built = cache, Taxonomy(cache).ensure_ready()
        return _built
