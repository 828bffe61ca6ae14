"""/api/databases: the BLAST databases a viewer may search, and adding one."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import get_args

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from blastdeck.api.deps import RuntimeDep, ViewerDep, get_admin
from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.api.multipart_spool import spool_multipart
from blastdeck.api.payloads import database_model
from blastdeck.api.schemas.databases import (
    Database,
    DatabaseList,
    DatabaseRegister,
    DatabaseRemoved,
    DatabaseUpdate,
    UploadProgress,
    Visibility,
)
from blastdeck.auth import Viewer
from blastdeck.build_progress import EXPIRE_AFTER_S, BuildProgress, parse_upload_id
from blastdeck.database_staging import staged_copies
from blastdeck.databases import sharing_for
from blastdeck.domain.clusters import Cluster
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.names import check_name
from blastdeck.runtime import Runtime
from blastdeck.store.models import BlastDatabase

MAX_NAME_PARAM = 200  # the longest stored name (store/models.py)
router = APIRouter(prefix="/api/databases", tags=["databases"], responses=ERROR_RESPONSES)

# The body is read by hand (JSON or multipart); api/openapi_doc.py adds DatabaseRegister.
_DATABASE_BODY = {
    "parameters": [
        {
            "name": "X-Upload-Id",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "format": "uuid"},
            "description": "a UUID the client made for a FASTA upload: the build's progress "
            "is then at /api/databases/uploads/{upload_id} (422 invalid_upload_id if malformed)",
        }
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/DatabaseRegister"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "name": {"type": "string", "description": "default: the file's name"},
                        "title": {"type": "string"},
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "FASTA, plain or gzipped",
                        },
                        "molecule": {
                            "type": "string",
                            "enum": ["nucl", "prot"],
                            "description": "default: detected from the residues",
                        },
                        "visibility": {
                            "type": "string",
                            "enum": ["public", "private", "group"],
                            "description": "default: private for a signed-in user",
                        },
                        "group": {"type": "string", "description": "for visibility 'group'"},
                        "taxid_map": {
                            "type": "string",
                            "format": "binary",
                            "description": "the sequences' taxids: 'seqid<TAB>taxid' lines "
                            "(makeblastdb -taxid_map); every line is checked first",
                        },
                        "taxid": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": 2147483647,
                            "description": "one taxid for every sequence (instead of a map)",
                        },
                    },
                }
            },
        },
    },
}


@router.get("")
def list_databases(runtime: RuntimeDep, viewer: ViewerDep) -> DatabaseList:
    """The databases the viewer may search: public ones, their own, their groups'; each with
    the clusters holding a staged copy of it."""
    among = runtime.clusters.list()  # read once for every database listed
    rows = runtime.databases.list(viewer)
    return DatabaseList(items=[_with_staged(runtime, d, among) for d in rows])


@router.post("", status_code=201, openapi_extra=_DATABASE_BODY)
async def add_database(request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> Database:
    """Register an existing BLAST+ database by path (JSON, admins), or build one from a FASTA
    upload. `visibility` is public, private (default for a signed-in user) or group (with
    `group`, one of the user's groups); the database records who added it."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await _build_from_upload(request, runtime, viewer)
    get_admin(viewer)  # a path on the server: only an admin may point BlastDeck at one
    try:
        body = DatabaseRegister.model_validate_json(await request.body())
    except ValueError:
        raise BlastDeckError(
            ErrorCode.INVALID_REQUEST,
            "Send JSON {name, path} to register a database, or multipart with a FASTA 'file'.",
        ) from None
    sharing = sharing_for(viewer, body.visibility, body.group)
    row = await run_in_threadpool(
        runtime.databases.register, body.name, body.path, sharing, body.molecule
    )
    await run_in_threadpool(
        runtime.audit.record, viewer.name, "database.register", row.name, {"path": row.path}
    )
    return await run_in_threadpool(_with_staged, runtime, row)  # reads files: off the loop


@router.get("/uploads/{upload_id}")
def get_upload_progress(upload_id: str, runtime: RuntimeDep, viewer: ViewerDep) -> UploadProgress:
    """How far the build of an upload sent with the header `X-Upload-Id` has got: checking the
    FASTA (bytes), then makeblastdb (bytes written against an estimate). Known only to the API
    process building it, until 10 minutes after it ended, and to its uploader or an admin:
    anything else is 404 `unknown_upload` (with several API processes the page then shows a
    bar without a percent)."""
    entry = runtime.build_progress.get(parse_upload_id(upload_id))
    if entry is None or not viewer.can_see(entry.owner_id):
        raise BlastDeckError(
            ErrorCode.UNKNOWN_UPLOAD,
            "No upload with this id is being built here (unknown, ended over "
            f"{EXPIRE_AFTER_S / 60:.0f} minutes ago, or handled by another API process).",
            field="upload_id",
        )
    return UploadProgress.model_validate(entry, from_attributes=True)


@router.get("/{name:path}")
def get_database(name: str, runtime: RuntimeDep, viewer: ViewerDep) -> Database:
    """One database by its name (plain or qualified), with its taxonomy coverage: sequences
    with a taxid, distinct taxids, the organisms with most sequences."""
    if len(name) > MAX_NAME_PARAM:
        raise BlastDeckError(
            ErrorCode.UNKNOWN_DATABASE, f"Unknown database {name[:80]!r}.", field="name"
        )
    return _with_staged(runtime, runtime.databases.get(name, viewer))


@router.patch("/{name:path}")
def update_database(
    name: str, body: DatabaseUpdate, runtime: RuntimeDep, viewer: ViewerDep
) -> Database:
    """Change who may search a database (its owner or an admin): `visibility` public, private
    or group (with `group`, one of the viewer's groups unless an admin). Its name follows its
    scope (`x`, `<owner>/x`, `@<group>/x`), so the answer names it anew; refused with
    `database_in_use` while a queued or running job searches it, and `database_exists` when
    the new name is taken. Recorded in the audit log."""
    if len(name) > MAX_NAME_PARAM:
        raise BlastDeckError(
            ErrorCode.UNKNOWN_DATABASE, f"Unknown database {name[:80]!r}.", field="name"
        )
    row = runtime.database_visibility.change(name, viewer, body.visibility, body.group)
    return _with_staged(runtime, row)


@router.delete("/{name:path}")
def delete_database(name: str, runtime: RuntimeDep, viewer: ViewerDep) -> DatabaseRemoved:
    """Delete a database (its owner or an admin): refused with `database_in_use` while a
    queued or running job searches it. Its built files and its staged copies on the clusters
    are removed; a registered database's own files are never touched."""
    if len(name) > MAX_NAME_PARAM:
        raise BlastDeckError(
            ErrorCode.UNKNOWN_DATABASE, f"Unknown database {name[:80]!r}.", field="name"
        )
    removed = runtime.database_removal.remove(name, viewer)
    return DatabaseRemoved(
        name=removed.name,
        files_removed=removed.files_removed,
        staged_removed=removed.staged_removed,
    )


def _with_staged(
    runtime: Runtime, row: BlastDatabase, among: Sequence[Cluster] | None = None
) -> Database:
    return database_model(row, staged_copies(runtime.clusters, row.name, Path(row.path), among))


async def _build_from_upload(request: Request, runtime: Runtime, viewer: Viewer) -> Database:
    """The FASTA (and taxid map) streamed to files in the data dir as they arrive, then built
    from there: a multi-GB upload never sits in memory, and one cut off half-way leaves no
    file and no database. With the header `X-Upload-Id` (a UUID the client made), its
    progress can be read meanwhile at /api/databases/uploads/{id}."""
    upload_id = request.headers.get("x-upload-id")
    upload_id = parse_upload_id(upload_id) if upload_id is not None else None
    folder = runtime.settings.databases_dir
    folder.mkdir(parents=True, exist_ok=True)
    spool = folder / f".upload-{uuid.uuid4().hex}"
    files = {"file": spool.with_suffix(".part"), "taxid_map": spool.with_suffix(".map")}
    with runtime.build_progress.tracking(upload_id, viewer.user_id) as progress:
        row = await _spool_and_build(request, runtime, viewer, files, progress)
    runtime.build_progress.done(progress, row.name)
    return await run_in_threadpool(_with_staged, runtime, row)


async def _spool_and_build(
    request: Request,
    runtime: Runtime,
    viewer: Viewer,
    files: dict[str, Path],
    progress: BuildProgress,
) -> BlastDatabase:
    try:
        form, filenames = await spool_multipart(request, files, "the FASTA")
        name = form.get("name") or _name_from_filename(filenames["file"])
        sharing = sharing_for(
            viewer, _form_visibility(form.get("visibility")), _form_str(form.get("group"))
        )
        taxid_map = files["taxid_map"].read_bytes() if "taxid_map" in filenames else None
        row = await run_in_threadpool(
            partial(
                runtime.databases.build_file,
                name,
                files["file"],
                title=form.get("title") or None,
                sharing=sharing,
                molecule=_form_str(form.get("molecule")),
                taxid_map=taxid_map,
                taxid=_form_str(form.get("taxid")),
                progress=progress,
            )
        )
    finally:
        for path in files.values():
            path.unlink(missing_ok=True)
    return row


def _name_from_filename(filename: str) -> str:
    """A database name from an upload's file name; a name with a path in it is refused."""
    if "/" in filename or "\\" in filename or ".." in filename:
        raise BlastDeckError(
            ErrorCode.INVALID_NAME,
            f"Upload file name {filename[:80]!r} contains a path; give a plain name.",
            field="file",
        )
    filename = filename.removesuffix(".gz")
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    return check_name(stem, what="database", field="name")


def _form_str(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _form_visibility(value: object) -> str | None:
    """The form's visibility, held to the same values as the JSON body's (the documented
    enum): a blank or differently written one is refused, not taken for the default."""
    if value is None:
        return None
    if value not in get_args(Visibility):
        allowed = ", ".join(get_args(Visibility))
        raise BlastDeckError(
            ErrorCode.INVALID_REQUEST,
            f"visibility must be one of {allowed}, not {str(value)[:40]!r}.",
            field="visibility",
        )
    return str(value)
