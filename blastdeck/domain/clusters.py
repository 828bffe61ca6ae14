"""A cluster as BlastDeck runs jobs on it: a name, an engine kind, its slots and settings.

Three shapes of one idea, each with its own job: `config.ClusterConfig` is what an operator
writes (TOML, `cluster add`, `POST /api/clusters`); `Cluster` (here) is that definition checked
and resolved, what the pipeline and the engines see; `store.models.ClusterRow` is how a cluster
added at run time is persisted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

# BLAST batches a cluster runs at once: far more than any host or SLURM array needs, and far
# below what the store's integer column holds (a larger number crashed it).
MAX_SLOTS = 10_000

# What a secret setting shows instead of its value; sent back in an edit, it keeps the value.
HIDDEN_SETTING = "(hidden)"


@dataclass(frozen=True)
class Cluster:
    name: str
    engine: str
    namespace: str  # the default namespace of its jobs
    slots: int  # BLAST processes it runs at once
    settings: dict[str, str] = field(default_factory=dict)
    namespaces: tuple[str, ...] = ()  # empty: any valid namespace

    def record(self) -> dict[str, Any]:
        """As JSON: a job keeps the definition it started with (`jobs.cluster_config`)."""
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Cluster:
        return cls(**{**record, "namespaces": tuple(record.get("namespaces") or ())})


@dataclass(frozen=True)
class Pause:
    """An admin's pause of a cluster (`namespace` None: all of it) or of one namespace."""

    cluster: str
    namespace: str | None
    paused_by: str
    paused_at: datetime

    def where(self) -> str:
        scope = f" / namespace {self.namespace}" if self.namespace else ""
        return f"cluster {self.cluster}{scope}"

    def message(self) -> str:
        since = self.paused_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"{self.where()} is paused by {self.paused_by} since {since}"

    def waiting_for(self, namespace: str, lock_key: str) -> dict[str, str | None]:
        """What a job held by this pause waits for (its `waiting_for`, phase `paused`)."""
        return {
            "what": "paused",
            "cluster": self.cluster,
            "namespace": namespace,
            "lock_key": lock_key,
            "holder_job_id": None,
            "scope": "namespace" if self.namespace else "cluster",
            "paused_by": self.paused_by,
            "paused_since": self.paused_at.isoformat(),
            "message": self.message(),
        }
