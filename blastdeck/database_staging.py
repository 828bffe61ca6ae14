"""A database's staged copies across the clusters: where it is warm, and dropping the copies.

Each engine knows its own copies (`staged_copy`, `drop_staged`: the local engine's scratch dir,
SLURM's staging records); this asks every cluster's engine through those two optional methods,
so no engine imports another and an engine that does not stage (a plugin's) is simply skipped.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from blastdeck.clusters import ClusterRegistry
from blastdeck.database_files import database_files
from blastdeck.domain.clusters import Cluster
from blastdeck.domain.errors import BlastDeckError
from blastdeck.engines.staging import database_fingerprint

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClusterCopy:
    cluster: str
    location: str
    current: bool  # False: staged from files that have changed since (staged again on use)


def staged_copies(
    clusters: ClusterRegistry, name: str, prefix: Path, among: Sequence[Cluster] | None = None
) -> list[ClusterCopy]:
    """The clusters holding a copy of the database (qualified `name`, files at `prefix`);
    `among`: the clusters as already read (a listing reads them once for all its databases)."""
    fingerprint = _listing_fingerprint(prefix)
    found: list[ClusterCopy] = []
    for cluster in clusters.list() if among is None else among:
        try:
            # By definition, not by name: a name is looked up in the cluster list again
            ask = getattr(clusters.engine_for(cluster), "staged_copy", None)
            copy = ask(name, fingerprint) if ask is not None else None
        except (OSError, BlastDeckError) as exc:  # one unreadable cluster hides no other
            log.warning("staged copy of %s on %s: %s", name, cluster.name, exc)
            continue
        if copy is not None:
            found.append(ClusterCopy(cluster.name, copy.location, copy.current))
    return found


# Fingerprints read for listings, by the files' names, sizes and mtimes: a listing of a big
# database (an alias of many volumes) re-reads its index files only when a file changed. A job's
# warmup_check never uses this: it reads them every time (a copy rewritten in place, same size
# and mtime, is staged again; a listing may call it current until then).
_LISTED: dict[tuple[str, tuple[tuple[str, int, int], ...]], str] = {}
_LISTED_MAX = 512


def _listing_fingerprint(prefix: Path) -> Callable[[], str]:
    def fingerprint() -> str:
        files = database_files(prefix)
        stats = tuple((p.name, (st := p.stat()).st_size, st.st_mtime_ns) for p in files)
        key = (str(prefix), stats)
        found = _LISTED.get(key)
        if found is None:
            if len(_LISTED) >= _LISTED_MAX:
                _LISTED.clear()
            found = _LISTED[key] = database_fingerprint(prefix)
        return found

    return functools.cache(fingerprint)  # once per listing, however many clusters ask


def drop_staged(clusters: ClusterRegistry, name: str) -> list[str]:
    """Remove the database's staged copies on every cluster; where they were."""
    removed: list[str] = []
    for cluster in clusters.list():
        try:
            drop = getattr(clusters.engine_for(cluster), "drop_staged", None)
            if drop is not None:
                removed.extend(drop(name))
        except (OSError, BlastDeckError) as exc:  # the caller's change stands: report, go on
            log.warning("staged copies of %s on %s: %s", name, cluster.name, exc)
    return removed
