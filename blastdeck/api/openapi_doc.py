"""The OpenAPI document: what FastAPI derives from the routes, plus what it cannot see.

- The schemas of the request bodies the routes read by hand (JSON or multipart): `JobCreate`,
  `DatabaseRegister`.
- OpenAPI links between operations: how the answer of one (a submitted job's id, a query id)
  fills in the parameters of the next. Clients and docs read them; the fuzzer
  (tests/test_fuzz.py) follows them to chain calls on real jobs.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from blastdeck.api.schemas.databases import DatabaseRegister
from blastdeck.api.schemas.jobs import JobCreate

_HAND_READ_BODIES: tuple[type[BaseModel], ...] = (JobCreate, DatabaseRegister)

_JOB = "/api/jobs/{job_id}"
_FROM_BODY_ID = {"job_id": "$response.body#/id"}
_FROM_REQUEST = {"job_id": "$request.path.job_id"}
_FROM_FIRST_ITEM = {"job_id": "$response.body#/items/0/id"}
# A job's own operations, each reachable from any answer that names the job.
_JOB_OPERATIONS: dict[str, tuple[str, str]] = {
    "GetJob": ("get", _JOB),
    "GetJobHits": ("get", f"{_JOB}/hits"),
    "GetJobQueries": ("get", f"{_JOB}/queries"),
    "GetJobEvents": ("get", f"{_JOB}/events"),
    "GetJobQuery": ("get", f"{_JOB}/query"),
    "GetJobConfig": ("get", f"{_JOB}/config"),
    "StreamJob": ("get", f"{_JOB}/stream"),
    "DownloadJob": ("get", f"{_JOB}/download"),
    "CancelJob": ("post", f"{_JOB}/cancel"),
    "DeleteJob": ("delete", _JOB),
}


def _job_links(parameters: dict[str, str]) -> dict[str, tuple[str, str, dict[str, str]]]:
    return {name: (*target, parameters) for name, target in _JOB_OPERATIONS.items()}


# (method, path, status) -> link name -> (method, path, parameters) of the operation it opens.
LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, dict[str, str]]]] = {
    ("post", "/api/jobs", "202"): _job_links(_FROM_BODY_ID),
    ("get", "/api/jobs", "200"): _job_links(_FROM_FIRST_ITEM),
    ("get", _JOB, "200"): _job_links(_FROM_BODY_ID),
    ("post", f"{_JOB}/cancel", "202"): _job_links(_FROM_BODY_ID),
    ("get", f"{_JOB}/queries", "200"): {
        "GetQueryAlignments": (
            "get",
            f"{_JOB}/alignments",
            {**_FROM_REQUEST, "query_id": "$response.body#/items/0/query_id"},
        ),
        "GetQueryHits": (
            "get",
            f"{_JOB}/hits",
            {**_FROM_REQUEST, "query_id": "$response.body#/items/0/query_id"},
        ),
    },
    ("get", f"{_JOB}/events", "200"): {
        "GetLaterEvents": (
            "get",
            f"{_JOB}/events",
            {**_FROM_REQUEST, "after": "$response.body#/items/0/id"},
        ),
    },
    ("get", "/api/programs", "200"): {
        "GetProgramOptions": ("get", "/api/options", {"program": "$response.body#/items/0/name"}),
    },
    ("post", "/api/session", "200"): {
        "GetSession": ("get", "/api/session", {}),
        "SignOut": ("delete", "/api/session", {}),
    },
    ("post", "/api/databases", "201"): {"ListDatabases": ("get", "/api/databases", {})},
    ("post", "/api/clusters", "201"): {"ListClusters": ("get", "/api/clusters", {})},
}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in _HAND_READ_BODIES:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    _add_links(document)
    return document


def _add_links(document: dict[str, Any]) -> None:
    paths = document["paths"]
    for (method, path, status), links in LINKS.items():
        response = paths[path][method]["responses"][status]
        response["links"] = {
            name: {
                "operationId": paths[target_path][target_method]["operationId"],
                **({"parameters": parameters} if parameters else {}),
            }
            for name, (target_method, target_path, parameters) in links.items()
        }


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
