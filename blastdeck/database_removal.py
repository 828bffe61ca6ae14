"""Deleting a database (DELETE /api/databases/{name}, `blastdeck db remove`).

Only its owner or an admin may; others get the same 'unknown' as a lookup, or 403 when they may
search it (a public or group database someone else added). Refused with `database_in_use`
while a queued or running job searches it. The files BlastDeck built for it (under the data
dir's databases dir) go, and so do its staged copies on every cluster's scratch; a registered
database's files belong to whoever put them there and are never touched.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from blastdeck.auth import Viewer
from blastdeck.clusters import ClusterRegistry
from blastdeck.database_taxa import taxid_set_path
from blastdeck.databases import DatabaseCatalog, storage_name
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.store.catalog import DatabaseStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RemovedDatabase:
    name: str
    files_removed: bool  # its built files were deleted (False: registered, files kept)
    staged_removed: list[str] = field(default_factory=list)  # staged copies deleted


class DatabaseRemoval:
    def __init__(
        self,
        catalog: DatabaseCatalog,
        store: DatabaseStore,
        databases_dir: Path,
        clusters: ClusterRegistry,
    ) -> None:
        self._catalog = catalog
        self._store = store
        self._dir = databases_dir
        self._clusters = clusters

    def remove(self, name: str, viewer: Viewer) -> RemovedDatabase:
        row = self._catalog.get(name, viewer)  # 404 for a database the viewer cannot use
        if not viewer.can_see(row.owner_id):
            raise BlastDeckError(
                ErrorCode.FORBIDDEN,
                f"Only the owner of {row.name} or an admin may delete it.",
                field="name",
            )
        job_ids = self._store.delete_unless_used(row.name)
        if job_ids:
            raise BlastDeckError(
                ErrorCode.DATABASE_IN_USE,
                f"Database {row.name} is searched by unfinished job(s) "
                f"{', '.join(job_ids)}; cancel them or wait until they end.",
                field="name",
                detail={"jobs": ",".join(job_ids)},
            )
        own_dir = self._dir / storage_name(row.name)
        files_removed = row.source != "registered" and _inside(Path(row.path), own_dir)
        if files_removed:
            shutil.rmtree(own_dir, ignore_errors=True)
        taxid_set_path(self._dir, storage_name(row.name)).unlink(missing_ok=True)
        return RemovedDatabase(row.name, files_removed, self._drop_staged(row.name))

    def _drop_staged(self, name: str) -> list[str]:
        removed: list[str] = []
        for cluster in self._clusters.list():
            try:
                engine = self._clusters.engine_for(cluster)
                drop = getattr(engine, "drop_staged", None)  # plugin engines may not stage
                if drop is not None:
                    removed.extend(drop(name))
            except (OSError, BlastDeckError) as exc:  # the row is gone: report, don't fail
                log.warning("staged copies of %s on %s: %s", name, cluster.name, exc)
        return removed


def _inside(path: Path, folder: Path) -> bool:
    """Is the database's prefix in the folder BlastDeck built it in (so its files are ours)?"""
    try:
        return path.resolve().parent == folder.resolve()
    except OSError:
        return False
