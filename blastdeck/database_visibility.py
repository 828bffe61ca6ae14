"""Changing who may search a database (PATCH /api/databases/{name}): its visibility and group.

The owner or an admin may; the new sharing follows the rules of an upload (`sharing_for`: a
group needs a member of it, or an admin). The database keeps its owner. A database's name
carries its scope (`databases.py`: `x`, `<owner>/x`, `@<group>/x`), so a new visibility is a
new name: refused with `database_exists` when that name is taken in the new scope, and with
`database_in_use` while a queued or running job searches it (the job names it by the old name).
The files BlastDeck built move to the new name's folder; staged copies under the old name are
dropped (the next job stages again); every change is recorded in the audit log.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from blastdeck.auth import Viewer
from blastdeck.clusters import ClusterRegistry
from blastdeck.database_removal import built_here, database_in_use, owned_database
from blastdeck.database_staging import drop_staged
from blastdeck.database_taxa import taxid_set_path
from blastdeck.databases import (
    DatabaseCatalog,
    plain_name,
    qualified_name,
    sharing_for,
    storage_name,
)
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.sharing import Visibility
from blastdeck.store.audit import AuditLog
from blastdeck.store.catalog import DatabaseStore
from blastdeck.store.models import BlastDatabase
from blastdeck.store.users import UserStore


class DatabaseVisibility:
    def __init__(
        self,
        catalog: DatabaseCatalog,
        store: DatabaseStore,
        databases_dir: Path,
        clusters: ClusterRegistry,
        users: UserStore,
        audit: AuditLog,
    ) -> None:
        self._catalog = catalog
        self._store = store
        self._dir = databases_dir
        self._clusters = clusters
        self._users = users
        self._audit = audit

    def change(
        self, name: str, viewer: Viewer, visibility: str, group: str | None
    ) -> BlastDatabase:
        row = owned_database(self._catalog, name, viewer, "change who can search it")
        checked = sharing_for(viewer, visibility, group)  # the viewer's right to the group
        owner_name = self._users.name_of(row.owner_id) if row.owner_id else None
        if checked.visibility is Visibility.PRIVATE and not owner_name:
            raise BlastDeckError(
                ErrorCode.INVALID_REQUEST,
                f"{row.name} has no owner to be private to (it was added with no user signed "
                "in); share it with a group, or keep it public.",
                field="visibility",
            )
        sharing = replace(checked, owner_id=row.owner_id, owner_name=owner_name)
        new_name = qualified_name(
            plain_name(row.name), sharing.visibility, owner_name, sharing.group
        )
        unchanged = (sharing.visibility.value, sharing.group) == (row.visibility, row.share_group)
        if new_name == row.name and unchanged:
            return row
        old_dir, new_dir = self._dir / storage_name(row.name), self._dir / storage_name(new_name)
        ours = row.source != "registered" and built_here(Path(row.path), old_dir)
        path = str(new_dir / Path(row.path).name) if ours else row.path
        values = {
            "name": new_name,
            "visibility": sharing.visibility.value,
            "share_group": sharing.group,
            "path": path,
        }
        moves: list[tuple[Path, Path]] = []
        if new_name != row.name:  # an unowned private database made public keeps its name
            moves = [(old_dir, new_dir)] if ours else []
            taxids = taxid_set_path(self._dir, storage_name(row.name))
            if taxids.exists():
                moves.append((taxids, taxid_set_path(self._dir, storage_name(new_name))))
        job_ids = self._store.rename_unless_used(row.name, values, _mover(moves))
        if job_ids:
            raise database_in_use(row.name, job_ids, "change its visibility once they end")
        dropped = drop_staged(self._clusters, row.name) if new_name != row.name else []
        self._audit.record(
            viewer.name,
            "database.visibility",
            new_name,
            {
                "from": row.name,
                "visibility": sharing.visibility.value,
                "group": sharing.group,
                "staged_removed": len(dropped),
            },
        )
        return self._catalog.get(new_name, viewer)


def _mover(moves: list[tuple[Path, Path]]) -> Callable[[], Callable[[], None]]:
    """Move each (source, target) by rename (a folder left at the target by a crashed build
    is replaced, as `build` does); the returned function moves them back."""

    def move() -> Callable[[], None]:
        done: list[tuple[Path, Path]] = []
        try:
            for source, target in moves:
                if source.is_dir() and target.exists():
                    shutil.rmtree(target)
                os.replace(source, target)
                done.append((source, target))
        except OSError:
            _back(done)
            raise
        return lambda: _back(done)

    return move


def _back(done: list[tuple[Path, Path]]) -> None:
    for source, target in reversed(done):
        target.rename(source)
