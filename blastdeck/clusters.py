"""Named compute targets: built-in `local`, those in the config file, those added at run time."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from blastdeck.config import ClusterConfig, Settings
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.names import DEFAULT_NAMESPACE, check_name, check_namespace
from blastdeck.engines.base import ClusterSpec, Engine
from blastdeck.engines.local import LocalEngine
from blastdeck.engines.local import check_settings as check_local_settings
from blastdeck.engines.slurm import SETTINGS as SLURM_SETTINGS
from blastdeck.engines.slurm import SlurmEngine
from blastdeck.engines.slurm import check_settings as check_slurm_settings
from blastdeck.store.catalog import ClusterStore
from blastdeck.store.models import Cluster

DEFAULT_CLUSTER = "local"

EngineFactory = Callable[[ClusterSpec, Path], Engine]
ENGINES: dict[str, EngineFactory] = {"local": LocalEngine, "slurm": SlurmEngine}
# Settings each engine understands; anything else is refused when a cluster is added.
ENGINE_SETTINGS: dict[str, frozenset[str]] = {
    "local": frozenset({"scratch_dir", "namespaces", "memory_limit_mb"}),
    "slurm": SLURM_SETTINGS,
}
# Checks of setting values, by engine: a bad value is refused when the cluster is added.
ENGINE_SETTING_CHECKS: dict[str, Callable[[str, dict[str, str]], None]] = {
    "local": check_local_settings,
    "slurm": check_slurm_settings,
}


def _spec(name: str, engine: str, namespace: str, slots: int | None, settings: dict) -> ClusterSpec:
    listed = settings.get("namespaces", "")
    return ClusterSpec(
        name=name,
        engine=engine,
        namespace=namespace or DEFAULT_NAMESPACE,
        slots=slots or os.cpu_count() or 1,
        settings=dict(settings),
        namespaces=tuple(ns.strip() for ns in listed.split(",") if ns.strip()),
    )


def check_cluster_config(config: ClusterConfig) -> ClusterSpec:
    check_name(config.name, what="cluster", field="name")
    if config.engine not in ENGINES:
        raise BlastDeckError(
            ErrorCode.UNKNOWN_ENGINE,
            f"Unknown engine {config.engine[:40]!r}; available: {', '.join(sorted(ENGINES))}.",
            field="engine",
        )
    check_namespace(config.namespace)
    unknown = set(config.settings) - ENGINE_SETTINGS[config.engine]
    if unknown:
        raise BlastDeckError(
            ErrorCode.INVALID_CLUSTER_SETTING,
            f"Unknown setting(s) {', '.join(sorted(unknown))} for engine {config.engine}; "
            f"known: {', '.join(sorted(ENGINE_SETTINGS[config.engine]))}.",
            field="settings",
        )
    for ns in config.settings.get("namespaces", "").split(","):
        if ns.strip():
            check_namespace(ns.strip(), field="settings.namespaces")
    if config.engine in ENGINE_SETTING_CHECKS:
        ENGINE_SETTING_CHECKS[config.engine](config.name, dict(config.settings))
    return _spec(config.name, config.engine, config.namespace, config.slots, config.settings)


class ClusterRegistry:
    def __init__(self, settings: Settings, store: ClusterStore) -> None:
        self._settings = settings
        self._store = store
        self._engines: dict[str, Engine] = {}
        self._mutex = threading.Lock()

    def list(self) -> list[ClusterSpec]:
        found = {DEFAULT_CLUSTER: _spec(DEFAULT_CLUSTER, "local", DEFAULT_NAMESPACE, None, {})}
        for config in self._settings.clusters:
            found[config.name] = check_cluster_config(config)
        for row in self._store.list():
            found.setdefault(
                row.name, _spec(row.name, row.engine, row.namespace, row.slots, row.settings)
            )
        return sorted(found.values(), key=lambda c: c.name)

    def get(self, name: str) -> ClusterSpec:
        for cluster in self.list():
            if cluster.name == name:
                return cluster
        raise BlastDeckError(
            ErrorCode.UNKNOWN_CLUSTER,
            f"Unknown cluster {str(name)[:64]!r}; GET /api/clusters lists them.",
            field="cluster",
        )

    def add(self, config: ClusterConfig) -> ClusterSpec:
        spec = check_cluster_config(config)
        if any(c.name == spec.name for c in self.list()):
            raise BlastDeckError(
                ErrorCode.CLUSTER_EXISTS,
                f"A cluster named {spec.name!r} already exists.",
                field="name",
            )
        self._store.add(
            Cluster(
                name=spec.name,
                engine=spec.engine,
                namespace=spec.namespace,
                slots=config.slots,
                settings=dict(config.settings),
            )
        )
        return spec

    def resolve_namespace(self, cluster: ClusterSpec, namespace: str | None) -> str:
        """The job's real target namespace: the one asked for, else the cluster's default."""
        ns = check_namespace(namespace.strip()) if namespace else cluster.namespace
        if cluster.namespaces and ns not in cluster.namespaces:
            raise BlastDeckError(
                ErrorCode.INVALID_NAMESPACE,
                f"Cluster {cluster.name} has no namespace {ns!r}; it has "
                f"{', '.join(cluster.namespaces)}.",
                field="namespace",
            )
        return ns

    def engine_for(self, name: str) -> Engine:
        """One engine per cluster per process, so its slots are shared by all its jobs."""
        with self._mutex:
            engine = self._engines.get(name)
            if engine is None:
                cluster = self.get(name)
                engine = ENGINES[cluster.engine](cluster, self._settings.scratch_dir)
                self._engines[name] = engine
            return engine
