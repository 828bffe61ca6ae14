"""Deleting a database (DELETE /api/databases/{name}, `blastdeck db remove`).

Only its owner or an admin may; others get the same 'unknown' as a lookup, or 403 when they may
search it (a public or group database someone else added). Refused with `database_in_use`
while a queued or running job searches it. The files BlastDeck built for it (under the data
dir's databases dir) go, and so do its staged copies on every cluster's scratch; a registered
database's files belong to whoever put them there and are never touched. Recorded in the audit
log.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from blastdeck.auth import Viewer
from blastdeck.clusters import ClusterRegistry
from blastdeck.database_staging import drop_staged
from blastdeck.database_taxa import taxid_set_path
from blastdeck.databases import DatabaseCatalog, storage_name
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.store.audit import AuditLog
from blastdeck.store.catalog import DatabaseStore
from blastdeck.store.models import BlastDatabase


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
        audit: AuditLog,
    ) -> None:
        self._audit = audit
        self._catalog = catalog
        self._store = store
        self._dir = databases_dir
        self._clusters = clusters

    def remove(self, name: str, viewer: Viewer) -> RemovedDatabase:
        row = owned_database(self._catalog, name, viewer, "delete it")
        job_ids = self._store.delete_unless_used(row.name)
        if job_ids:
            raise database_in_use(row.name, job_ids, "cancel them or wait until they end")
        own_dir = self._dir / storage_name(row.name)
        files_removed = row.source != "registered" and built_here(Path(row.path), own_dir)
        if files_removed:
            shutil.rmtree(own_dir, ignore_errors=True)
        taxid_set_path(self._dir, storage_name(row.name)).unlink(missing_ok=True)
        removed = RemovedDatabase(row.name, files_removed, drop_staged(self._clusters, row.name))
        details = {"files_removed": files_removed, "staged_removed": len(removed.staged_removed)}
        self._audit.record(viewer.name, "database.remove", row.name, details)
        return removed


def built_here(path: Path, folder: Path) -> bool:
    """Is the database's prefix in the folder BlastDeck built it in (so its files are ours)?"""
    try:
        return path.resolve().parent == folder.resolve()
    except OSError:
        return False


def owned_database(
    catalog: DatabaseCatalog, name: str, viewer: Viewer, doing: str
) -> BlastDatabase:
    """The database by `name` when the viewer owns it or is an admin: else the 'unknown' of a
    lookup when they may not search it either, or 403 when they may (`doing`: "delete it")."""
    row = catalog.get(name, viewer)
    if not viewer.can_see(row.owner_id):
        raise BlastDeckError(
            ErrorCode.FORBIDDEN,
            f"Only the owner of {row.name} or an admin may {doing}.",
            field="name",
        )
    return row


def database_in_use(name: str, job_ids: list[str], advice: str) -> BlastDeckError:
    return BlastDeckError(
        ErrorCode.DATABASE_IN_USE,
        f"Database {name} is searched by unfinished job(s) {', '.join(job_ids)}; {advice}.",
        field="name",
        detail={"jobs": ",".join(job_ids)},
    )
