"""The process's one `Taxonomy`, made from BlastDeck's settings alone.

The index is memory-mapped and its name cache grows with use, so every caller in a process
(API routes, a job's filter, a report) should share one instance: `for_settings` keeps one
per (cache dir, taxdump dir). Creating it is free; the index opens on first use.

Settings used: the data dir (the index is cached in `<data dir>/taxonomy-cache`) and
`taxonomy_dir` (`BLASTDECK_TAXONOMY_DIR`: an NCBI taxdump directory to use instead of the
embedded taxonomy), read with getattr so this works before and after config.py declares it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from blastdeck.taxonomy.service import Taxonomy

if TYPE_CHECKING:
    from blastdeck.config import Settings

CACHE_DIR_NAME = "taxonomy-cache"

_instances: dict[tuple[Path, Path | None], Taxonomy] = {}
_lock = threading.Lock()


def cache_dir_for(settings: Settings) -> Path:
    return settings.resolved_data_dir / CACHE_DIR_NAME


def taxdump_dir_for(settings: Settings) -> Path | None:
    value = getattr(settings, "taxonomy_dir", None)
    return Path(value).expanduser().resolve() if value else None


def for_settings(settings: Settings) -> Taxonomy:
    key = (cache_dir_for(settings), taxdump_dir_for(settings))
    with _lock:
        taxonomy = _instances.get(key)
        if taxonomy is None:
            taxonomy = _instances[key] = Taxonomy(*key)
        return taxonomy
