"""Named compute targets: built-in `local`, those in the config file, those added at run time.

`ClusterRegistry` checks each definition (`config.ClusterConfig`) against its engine kind and
resolves it to a `domain.clusters.Cluster`; it makes one engine per cluster per process.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from blastdeck.config import ClusterChanges, ClusterConfig, Settings
from blastdeck.domain.clusters import HIDDEN_SETTING, Cluster, Pause
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.names import DEFAULT_NAMESPACE, check_name, check_namespace
from blastdeck.engines.base import Engine, EngineHealth
from blastdeck.engines.registry import engine_kind
from blastdeck.store.catalog import ClusterStore
from blastdeck.store.models import ClusterPause, ClusterRow, Job

DEFAULT_CLUSTER = "local"
HEALTH_TTL_S = 30.0


def _default_cluster() -> Cluster:
    """The built-in `local` cluster: this host, its cores as slots."""
    return _resolve(DEFAULT_CLUSTER, "local", DEFAULT_NAMESPACE, None, {})


def _from_row(row: ClusterRow) -> Cluster:
    """A cluster added at run time, as its row stores it."""
    return _resolve(row.name, row.engine, row.namespace, row.slots, row.settings)


def _resolve(name: str, engine: str, namespace: str, slots: int | None, settings: dict) -> Cluster:
    listed = settings.get("namespaces", "")
    return Cluster(
        name=name,
        engine=engine,
        namespace=namespace or DEFAULT_NAMESPACE,
        slots=slots or os.cpu_count() or 1,
        settings=dict(settings),
        namespaces=tuple(ns.strip() for ns in listed.split(",") if ns.strip()),
    )


def check_cluster_config(config: ClusterConfig) -> Cluster:
    check_name(config.name, what="cluster", field="name")
    kind = engine_kind(config.engine)
    check_namespace(config.namespace)
    unknown = set(config.settings) - kind.settings
    if unknown:
        raise BlastDeckError(
            ErrorCode.INVALID_CLUSTER_SETTING,
            f"Unknown setting(s) {', '.join(sorted(unknown))} for engine {config.engine}; "
            f"known: {', '.join(sorted(kind.settings))}.",
            field="settings",
        )
    for ns in config.settings.get("namespaces", "").split(","):
        if ns.strip():
            check_namespace(ns.strip(), field="settings.namespaces")
    kind.check_settings(config.name, dict(config.settings))
    return _resolve(config.name, config.engine, config.namespace, config.slots, config.settings)


class ClusterRegistry:
    def __init__(self, settings: Settings, store: ClusterStore) -> None:
        self._settings = settings
        self._store = store
        # One engine per cluster definition: an edited cluster gets a new one for new jobs,
        # while the jobs that started before the edit keep the engine of theirs.
        self._engines: dict[str, tuple[Cluster, Engine]] = {}
        self._health: dict[str, tuple[float, Cluster, EngineHealth]] = {}
        self._mutex = threading.Lock()

    def list(self) -> list[Cluster]:
        found = {DEFAULT_CLUSTER: _default_cluster()}
        for config in self._settings.clusters:
            found[config.name] = check_cluster_config(config)
        for row in self._store.list():
            found.setdefault(row.name, _from_row(row))
        return sorted(found.values(), key=lambda c: c.name)

    def get(self, name: str) -> Cluster:
        """The cluster named `name`, as `list` has it (the settings' definition first, then the
        built-in default, then one added at run time), reading only its own row."""
        for config in self._settings.clusters:
            if config.name == name:
                return check_cluster_config(config)
        if name == DEFAULT_CLUSTER:
            return _default_cluster()
        row = self._store.get(name) if isinstance(name, str) else None
        if row is not None:
            return _from_row(row)
        raise BlastDeckError(
            ErrorCode.UNKNOWN_CLUSTER,
            f"Unknown cluster {str(name)[:64]!r}; GET /api/clusters lists them.",
            field="cluster",
        )

    def add(self, config: ClusterConfig) -> Cluster:
        """Add a cluster at run time, once its engine says it can reach what it needs."""
        cluster = check_cluster_config(config)
        if any(c.name == cluster.name for c in self.list()):
            raise BlastDeckError(
                ErrorCode.CLUSTER_EXISTS,
                f"A cluster named {cluster.name!r} already exists.",
                field="name",
            )
        engine_kind(cluster.engine).probe(cluster, self._settings.scratch_dir)
        self._store.add(
            ClusterRow(
                name=cluster.name,
                engine=cluster.engine,
                namespace=cluster.namespace,
                slots=config.slots,
                settings=dict(config.settings),
            )
        )
        return cluster

    def remove(self, name: str) -> Cluster:
        """Delete a cluster added at run time; refused while an unfinished job runs on it, and
        for the built-in `local` and the config file's clusters (edit the file for those)."""
        cluster = self._added_at_run_time(name, ErrorCode.CLUSTER_NOT_REMOVABLE, "deleted")
        users = self._store.delete_unless_used(cluster.name)
        if users:
            raise BlastDeckError(
                ErrorCode.CLUSTER_IN_USE,
                f"Cluster {cluster.name} is in use by unfinished job(s) {', '.join(users)}; "
                "delete it once they have ended (or cancel them).",
                field="cluster",
                detail={"job_ids": ",".join(users)},
            )
        with self._mutex:
            engines = [e for c, e in self._engines.values() if c.name == cluster.name]
            self._engines = {k: v for k, v in self._engines.items() if v[0].name != cluster.name}
            self._health.pop(cluster.name, None)
        for engine in engines:
            engine.shutdown()
        return cluster

    def update(self, name: str, changes: ClusterChanges) -> Cluster:
        """Edit a cluster added at run time: checked and probed as `add` does. Jobs that have
        started keep the definition they started with (`for_job`); new ones get this one."""
        current = self._added_at_run_time(name, ErrorCode.CLUSTER_NOT_EDITABLE, "edited")
        for fixed in ("name", "engine"):
            given = getattr(changes, fixed)
            if given is not None and given != getattr(current, fixed):
                raise BlastDeckError(
                    ErrorCode.INVALID_CLUSTER_SETTING,
                    f"The {fixed} of cluster {current.name} cannot change ({given!r} asked, "
                    f"{getattr(current, fixed)!r} now); delete the cluster and add a new one.",
                    field=fixed,
                )
        row = self._store.get(current.name)
        if row is None:  # deleted meanwhile
            return self.get(current.name)
        settings = dict(row.settings)
        for key, value in (changes.settings or {}).items():
            if value is None:
                settings.pop(key, None)
            elif value != HIDDEN_SETTING or key not in settings:
                settings[key] = value
        config = ClusterConfig(
            name=current.name,
            engine=current.engine,
            namespace=changes.namespace if changes.namespace is not None else row.namespace,
            slots=changes.slots if "slots" in changes.model_fields_set else row.slots,
            settings=settings,
        )
        cluster = check_cluster_config(config)
        engine_kind(cluster.engine).probe(cluster, self._settings.scratch_dir)
        row.namespace, row.slots, row.settings = cluster.namespace, config.slots, settings
        self._store.update(row)
        with self._mutex:
            self._health.pop(cluster.name, None)
        return cluster

    def _added_at_run_time(self, name: str, code: ErrorCode, what: str) -> Cluster:
        """The cluster, refused for the built-in `local` and the config file's clusters."""
        cluster = self.get(name)
        if cluster.name == DEFAULT_CLUSTER or any(
            c.name == cluster.name for c in self._settings.clusters
        ):
            raise BlastDeckError(
                code,
                f"Cluster {cluster.name} is built in or defined in the configuration file; "
                f"only clusters added at run time can be {what} here.",
                field="cluster",
            )
        return cluster

    def for_job(self, job: Job) -> Cluster:
        """The definition a job runs with: the one it started with, pinned on its first read,
        so an admin's edit reaches only jobs that start after it."""
        if job.cluster_config:
            return Cluster.from_record(job.cluster_config)
        record = self._store.pin_job(job.id, self.get(job.cluster).record())
        return Cluster.from_record(record) if record else self.get(job.cluster)

    def record_to_pin(self, name: str) -> dict[str, Any] | None:
        """The cluster's definition as a job pins it (`JobStore.claim_and_get`, the pipeline's
        first read); None for an unknown cluster, which `for_job` then reports."""
        try:
            return self.get(name).record()
        except BlastDeckError:
            return None

    # -- pauses ---------------------------------------------------------------------------------

    def pause_scope(self, name: str, namespace: str | None) -> tuple[Cluster, str | None]:
        """The cluster and namespace (None: the whole cluster) a pause or resume names."""
        cluster = self.get(name)
        if namespace is None:
            return cluster, None
        ns = check_namespace(namespace)
        if cluster.namespaces and ns not in {cluster.namespace, *cluster.namespaces}:
            raise BlastDeckError(
                ErrorCode.INVALID_NAMESPACE,
                f"Cluster {cluster.name} has no namespace {ns!r}; it has "
                f"{', '.join(sorted({cluster.namespace, *cluster.namespaces}))}.",
                field="namespace",
            )
        return cluster, ns

    def pause(self, name: str, namespace: str | None, by: str) -> Pause:
        cluster, ns = self.pause_scope(name, namespace)
        return _pause(self._store.pause(cluster.name, ns or "", by))

    def resume(self, name: str, namespace: str | None) -> tuple[Cluster, str | None]:
        cluster, ns = self.pause_scope(name, namespace)
        self._store.resume(cluster.name, ns or "")
        return cluster, ns

    def pauses(self) -> list[Pause]:
        return [_pause(row) for row in self._store.pauses()]

    def pause_of(self, cluster: str, namespace: str) -> Pause | None:
        """The pause that stops new submits to (cluster, namespace), if any (read each time:
        every process sees an admin's pause and resume at once)."""
        row = self._store.pause_of(cluster, namespace)
        return _pause(row) if row is not None else None

    def health(self, cluster: Cluster) -> EngineHealth:
        """Whether the cluster's engine can run jobs now (BLAST found, scratch writable, the
        SLURM controller answering...); asked at most every HEALTH_TTL_S per cluster, since a
        listing may be polled and a silent controller takes seconds to time out."""
        now = time.monotonic()
        with self._mutex:
            cached = self._health.get(cluster.name)
        if cached is not None and now - cached[0] < HEALTH_TTL_S and cached[1] == cluster:
            return cached[2]
        health = engine_kind(cluster.engine).health(cluster, self._settings.scratch_dir)
        with self._mutex:
            self._health[cluster.name] = (now, cluster, health)
        return health

    def resolve_namespace(self, cluster: Cluster, namespace: str | None) -> str:
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

    def shutdown(self) -> None:
        """Every engine this process made ends its own work (see Engine.shutdown)."""
        with self._mutex:
            engines = [engine for _, engine in self._engines.values()]
        for engine in engines:
            engine.shutdown()

    def engine_for(self, cluster: str | Cluster) -> Engine:
        """One engine per cluster definition per process, so its slots are shared by all its
        jobs; a name means the cluster as defined now (a job's context has its own)."""
        if isinstance(cluster, str):
            cluster = self.get(cluster)
        key = repr(cluster)
        with self._mutex:
            found = self._engines.get(key)
            if found is None:
                engine = engine_kind(cluster.engine).factory(cluster, self._settings.scratch_dir)
                found = self._engines[key] = (cluster, engine)
            return found[1]


def _pause(row: ClusterPause) -> Pause:
    return Pause(row.cluster, row.namespace or None, row.paused_by, row.paused_at)
