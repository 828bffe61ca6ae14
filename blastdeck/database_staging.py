"""A database's staged copies across the clusters: where it is warm, and dropping the copies.

Each engine knows its own copies (`staged_copy`, `drop_staged`: the local engine's scratch dir,
SLURM's staging records); this asks every cluster's engine through those two optional methods,
so no engine imports another and an engine that does not stage (a plugin's) is simply skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from blastdeck.clusters import ClusterRegistry
from blastdeck.domain.errors import BlastDeckError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClusterCopy:
    cluster: str
    location: str
    current: bool  # False: staged from files that have changed since (staged again on use)


def staged_copies(clusters: ClusterRegistry, name: str, prefix: Path) -> list[ClusterCopy]:
    """The clusters holding a copy of the database (qualified `name`, files at `prefix`)."""
    found: list[ClusterCopy] = []
    for cluster in clusters.list():
        try:
            ask = getattr(clusters.engine_for(cluster.name), "staged_copy", None)
            copy = ask(name, prefix) if ask is not None else None
        except (OSError, BlastDeckError) as exc:  # one unreadable cluster hides no other
            log.warning("staged copy of %s on %s: %s", name, cluster.name, exc)
            continue
        if copy is not None:
            found.append(ClusterCopy(cluster.name, copy.location, copy.current))
    return found


def drop_staged(clusters: ClusterRegistry, name: str) -> list[str]:
    """Remove the database's staged copies on every cluster; where they were."""
    removed: list[str] = []
    for cluster in clusters.list():
        try:
            drop = getattr(clusters.engine_for(cluster.name), "drop_staged", None)
            if drop is not None:
                removed.extend(drop(name))
        except (OSError, BlastDeckError) as exc:  # the caller's change stands: report, go on
            log.warning("staged copies of %s on %s: %s", name, cluster.name, exc)
    return removed
