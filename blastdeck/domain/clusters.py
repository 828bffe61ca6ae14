"""A cluster as BlastDeck runs jobs on it: a name, an engine kind, its slots and settings.

Three shapes of one idea, each with its own job: `config.ClusterConfig` is what an operator
writes (TOML, `cluster add`, `POST /api/clusters`); `Cluster` (here) is that definition checked
and resolved, what the pipeline and the engines see; `store.models.ClusterRow` is how a cluster
added at run time is persisted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# BLAST batches a cluster runs at once: far more than any host or SLURM array needs, and far
# below what the store's integer column holds (a larger number crashed it).
MAX_SLOTS = 10_000


@dataclass(frozen=True)
class Cluster:
    name: str
    engine: str
    namespace: str  # the default namespace of its jobs
    slots: int  # BLAST processes it runs at once
    settings: dict[str, str] = field(default_factory=dict)
    namespaces: tuple[str, ...] = ()  # empty: any valid namespace
