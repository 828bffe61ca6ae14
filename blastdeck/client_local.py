"""The CLI's backend without a server: works on the local data dir in this process.

Returns the same JSON shapes as the API (`api/payloads.py`), so the CLI draws the same thing
either way; `client.py` has the HTTP backend and the `Backend` protocol both follow.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from blastdeck.api.payloads import (
    changes_record,
    cluster_payload,
    database_payload,
    engine_models,
    event_model,
    job_payload,
    pause_model,
)
from blastdeck.auth import EVERYONE
from blastdeck.client import is_fasta_file, refuse_taxa_for_registered
from blastdeck.config import ClusterChanges, ClusterConfig, Settings
from blastdeck.databases import sharing_for
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.pipeline_model import JobStatus
from blastdeck.domain.submission import SubmitRequest
from blastdeck.results.columns import parse_columns
from blastdeck.results.formats import ExportFormat
from blastdeck.runtime import Runtime

# Who pauses a cluster from the CLI on the data dir (no signed-in user there).
LOCAL_ADMIN = "cli"


class LocalBackend:
    """Works on the data dir in this process; submitted jobs run here, in the CLI."""

    def __init__(self, settings: Settings) -> None:
        self._runtime = Runtime(settings)
        self._runtime.prepare()
        self._started = False

    def submit(self, request: SubmitRequest) -> dict[str, Any]:
        if not self._started:
            self._runtime.executor.start()
            self._started = True
        return job_payload(self._runtime.service.submit(request))

    def job(self, job_id: str) -> dict[str, Any]:
        return job_payload(self._runtime.service.get(job_id))

    def job_events(self, job_id: str) -> list[dict[str, Any]]:
        job = self._runtime.service.get(job_id)
        return [event_model(e).model_dump(mode="json") for e in self._runtime.jobs.events(job.id)]

    def job_commands(self, job_id: str) -> str:
        return self._runtime.service.config_preview(job_id)

    def jobs(
        self, status: str | None, search: str | None, limit: int, offset: int
    ) -> dict[str, Any]:
        """Every job on the data dir (no signed-in user here), as `GET /api/jobs` pages them."""
        rows, total = self._runtime.jobs.list(
            status=JobStatus(status) if status else None,
            owner_id=None,
            search=search.strip() if search else None,
            limit=limit,
            offset=offset,
        )
        return {"items": [job_payload(j) for j in rows], "total": total}

    def cancel(self, job_id: str) -> dict[str, Any]:
        return job_payload(self._runtime.service.cancel(job_id))

    def import_result(self, path: Path, title: str | None) -> dict[str, Any]:
        if not path.is_file():
            raise BlastDeckError(ErrorCode.FILE_NOT_FOUND, f"No such file: {path}", field="file")
        job = self._runtime.imports.import_file(path, EVERYONE, title=title, filename=path.name)
        return job_payload(job)

    def remove_database(self, name: str) -> dict[str, Any]:
        removed = self._runtime.database_removal.remove(name, EVERYONE)
        return {
            "name": removed.name,
            "files_removed": removed.files_removed,
            "staged_removed": removed.staged_removed,
        }

    def download(
        self, job_id: str, fmt: ExportFormat, out: Path, columns: str | None = None
    ) -> None:
        if columns is None:
            # Streamed (an export can be gigabytes) into a file beside `out`, renamed when whole.
            partial = out.with_name(f".{out.name}.part")
            try:
                with (
                    self._runtime.service.open_export(job_id, fmt) as src,
                    partial.open("wb") as dst,
                ):
                    shutil.copyfileobj(src, dst, 1 << 20)
                os.replace(partial, out)
            finally:
                partial.unlink(missing_ok=True)
            return
        if fmt not in (ExportFormat.TSV, ExportFormat.CSV):
            raise BlastDeckError(
                ErrorCode.INVALID_REQUEST,
                f"--columns applies to the tsv and csv downloads, not {fmt.value}.",
                field="columns",
            )
        chosen = parse_columns(columns)
        chunks = self._runtime.service.export_columns(
            job_id, chosen, fmt is ExportFormat.CSV, self._runtime.taxonomy
        )
        with out.open("wb") as sink:
            for chunk in chunks:
                sink.write(chunk)

    def hit_fasta(
        self, job_id: str, out: Path, region: str, subjects: str | None, query_index: int | None
    ) -> None:
        chunks = self._runtime.service.hit_sequences(job_id, region, subjects, query_index)
        with out.open("wb") as sink:
            for chunk in chunks:
                sink.write(chunk)

    def taxonomy_report(
        self, job_id: str, query_index: int | None, rank: str | None
    ) -> dict[str, Any]:
        return self._runtime.service.taxonomy_report(
            job_id, self._runtime.taxonomy, query_index=query_index, rank=rank
        ).report

    def databases(self) -> list[dict[str, Any]]:
        return [database_payload(d) for d in self._runtime.databases.list()]

    def add_database(
        self,
        name: str,
        source: Path,
        title: str | None,
        *,
        visibility: str | None = None,
        group: str | None = None,
        molecule: str | None = None,
        taxid_map: Path | None = None,
        taxid: int | None = None,
    ) -> dict[str, Any]:
        # On the data dir there is no signed-in user: the database has no owner.
        sharing = sharing_for(EVERYONE, visibility, group)
        if is_fasta_file(source):
            row = self._runtime.databases.build_file(
                name,
                source,  # read a part at a time: a FASTA of gigabytes never sits in memory
                title=title,
                sharing=sharing,
                molecule=molecule,
                taxid_map=taxid_map.read_bytes() if taxid_map is not None else None,
                taxid=taxid,
            )
        else:
            refuse_taxa_for_registered(taxid_map, taxid)
            path = str(source.resolve())
            row = self._runtime.databases.register(name, path, sharing, molecule)
        return database_payload(row)

    def clusters(self) -> list[dict[str, Any]]:
        registry = self._runtime.clusters
        return [cluster_payload(c, health=registry.health(c)) for c in registry.list()]

    def engines(self) -> list[dict[str, Any]]:
        return [engine.model_dump() for engine in engine_models()]

    # Cluster changes from the CLI on the data dir are in the audit log as the server's are.

    def add_cluster(self, config: ClusterConfig) -> dict[str, Any]:
        cluster = self._runtime.clusters.add(config)
        self._runtime.audit.record(LOCAL_ADMIN, "cluster.add", cluster.name, changes_record(config))
        return cluster_payload(cluster)

    def update_cluster(self, name: str, changes: ClusterChanges) -> dict[str, Any]:
        cluster = self._runtime.clusters.update(name, changes)
        self._runtime.audit.record(LOCAL_ADMIN, "cluster.update", name, changes_record(changes))
        return cluster_payload(cluster)

    def pause_cluster(self, name: str, namespace: str | None, resume: bool) -> dict[str, Any]:
        registry = self._runtime.clusters
        if resume:
            cluster, ns = registry.resume(name, namespace)
            left = registry.pause_of(cluster.name, ns) if ns else None
        else:
            left = registry.pause(name, namespace, LOCAL_ADMIN)
            cluster, ns = registry.get(left.cluster), left.namespace
        action = "cluster.resume" if resume else "cluster.pause"
        self._runtime.audit.record(LOCAL_ADMIN, action, cluster.name, {"namespace": ns})
        shown = pause_model(left)
        paused = shown.model_dump(mode="json") if shown else None
        return {"cluster": cluster.name, "namespace": ns, "paused": paused}

    def remove_cluster(self, name: str) -> dict[str, Any]:
        cluster = self._runtime.clusters.remove(name)
        self._runtime.audit.record(LOCAL_ADMIN, "cluster.remove", cluster.name)
        return {"name": cluster.name, "engine": cluster.engine}

    def close(self) -> None:
        self._runtime.stop()
