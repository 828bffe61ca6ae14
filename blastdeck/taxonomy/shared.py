"""The process's one `Taxonomy`, made from BlastDeck's settings alone.

The index is memory-mapped and its name cache grows with use, so every caller in a process
(API routes, a job's filter, a report) should share one instance: `for_settings` keeps one
per (cache dir, taxdump dir). Creating it is free; the index opens on first use.

Where the index is cached: the setting `taxonomy_cache_dir` when there is one; otherwise the
user's cache (`$XDG_CACHE_HOME` or `~/.cache`, then `blastdeck/taxonomy`), shared by every data
dir on the machine; otherwise, when that is not writable, `<data dir>/taxonomy-cache`. The
embedded taxonomy's index depends only on the installed data snapshot (its directory is named
by it), so one copy (~260 MB, ~15-60 s to build) serves every BlastDeck instance and every
test's temporary data dir, instead of one build per data dir.

Settings read with getattr, so this works before and after config.py declares them:
`taxonomy_dir` (`BLASTDECK_TAXONOMY_DIR`: an NCBI taxdump directory used instead of the
embedded taxonomy) and `taxonomy_cache_dir` (`BLASTDECK_TAXONOMY_CACHE_DIR`).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from blastdeck.taxonomy.service import Taxonomy

if TYPE_CHECKING:
    from blastdeck.config import Settings

DATA_DIR_CACHE = "taxonomy-cache"

_instances: dict[tuple[Path, Path | None], Taxonomy] = {}
_lock = threading.Lock()


def _setting(settings: Settings, name: str) -> Path | None:
    value = getattr(settings, name, None)
    return Path(value).expanduser().resolve() if value else None


def user_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "blastdeck" / "taxonomy"


def cache_dir_for(settings: Settings) -> Path:
    configured = _setting(settings, "taxonomy_cache_dir")
    if configured is not None:
        return configured
    shared = user_cache_dir()
    try:
        shared.mkdir(parents=True, exist_ok=True)
        if os.access(shared, os.W_OK | os.X_OK):
            return shared.resolve()
    except OSError:
        pass  # no writable home (a container's nobody user): keep it with the data
    return settings.resolved_data_dir / DATA_DIR_CACHE


def taxdump_dir_for(settings: Settings) -> Path | None:
    return _setting(settings, "taxonomy_dir")


def for_settings(settings: Settings) -> Taxonomy:
    key = (cache_dir_for(settings), taxdump_dir_for(settings))
    with _lock:
        taxonomy = _instances.get(key)
        if taxonomy is None:
            taxonomy = _instances[key] = Taxonomy(*key)
        return taxonomy
