"""/api/databases and /api/clusters: what can be searched, and where."""

from __future__ import annotations

from functools import partial
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from blastdeck.api.deps import AdminDep, RuntimeDep, ViewerDep, get_admin
from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.api.payloads import cluster_payload, database_payload
from blastdeck.config import ClusterConfig
from blastdeck.databases import sharing_for
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.names import check_name
from blastdeck.locks import submit_lock_key

router = APIRouter(prefix="/api", tags=["catalog"], responses=ERROR_RESPONSES)


class DatabaseRegister(BaseModel):
    name: str
    path: str = Field(description="absolute path prefix of an existing BLAST+ database")
    visibility: Literal["public", "private", "group"] = "public"
    group: str | None = Field(default=None, description="for visibility 'group'")
    molecule: Literal["nucl", "prot"] | None = Field(default=None, description="checked if given")


_DATABASE_BODY = {
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
                    },
                }
            },
        },
    }
}


@router.get("/databases", tags=["databases"])
def list_databases(runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    """The databases the viewer may search: public ones, their own, their groups'."""
    return {"items": [database_payload(d) for d in runtime.databases.list(viewer)]}


@router.post("/databases", status_code=201, tags=["databases"], openapi_extra=_DATABASE_BODY)
async def add_database(request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    """Register an existing BLAST+ database by path (JSON, admins), or build one from a FASTA
    upload. `visibility` is public, private (default for a signed-in user) or group (with
    `group`, one of the user's groups); the database records who added it."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise BlastDeckError(
                ErrorCode.INVALID_REQUEST, "Upload the FASTA as the 'file' field.", field="file"
            )
        name = form.get("name") or _name_from_filename(upload.filename or "")
        title = form.get("title")
        visibility, group = _form_str(form.get("visibility")), _form_str(form.get("group"))
        sharing = sharing_for(viewer, visibility, group)
        fasta = await upload.read()
        row = await run_in_threadpool(
            partial(
                runtime.databases.build,
                str(name),
                fasta,
                title=str(title) if title else None,
                sharing=sharing,
                molecule=_form_str(form.get("molecule")),
            )
        )
        return database_payload(row)
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
    return database_payload(row)


@router.get("/clusters", tags=["clusters"])
def list_clusters(runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    """Each cluster with who holds its submit slot per namespace, and its unfinished jobs."""
    load = runtime.jobs.cluster_load()
    items = []
    for cluster in runtime.clusters.list():
        in_use = {ns for (name, ns) in load if name == cluster.name}
        namespaces = sorted({cluster.namespace, *cluster.namespaces, *in_use})
        slots = []
        for ns in namespaces:
            key = submit_lock_key(cluster.name, ns, runtime.settings.lock_prefix)
            holder = runtime.lock.holder(key)
            slots.append(
                {
                    "namespace": ns,
                    "lock_key": key,
                    "holder_job_id": holder.job_id if holder else None,
                    "ttl_ms": holder.ttl_ms if holder else None,
                    "queue_depth": load.get((cluster.name, ns), 0),
                }
            )
        depth = sum(n for (name, _), n in load.items() if name == cluster.name)
        items.append(cluster_payload(cluster, slots, depth))
    return {"items": items}


@router.post("/clusters", status_code=201, tags=["clusters"])
def add_cluster(body: ClusterConfig, runtime: RuntimeDep, viewer: AdminDep) -> dict[str, Any]:
    return cluster_payload(runtime.clusters.add(body))


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
