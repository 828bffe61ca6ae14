"""How the CLI reaches BlastDeck: a running server over HTTP (here), or the local data dir
directly (`client_local.py`).

Both return the API's JSON shapes, so the CLI draws the same thing either way. This module
imports no server-side code (no SQLAlchemy, FastAPI, Celery), so a CLI talking to a server
starts fast.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.pipeline_model import Phase, is_terminal

if TYPE_CHECKING:
    from blastdeck.config import ClusterConfig
    from blastdeck.domain.submission import SubmitRequest
    from blastdeck.results.formats import ExportFormat


class Backend(Protocol):
    def submit(self, request: SubmitRequest) -> dict[str, Any]: ...
    def job(self, job_id: str) -> dict[str, Any]: ...
    def cancel(self, job_id: str) -> dict[str, Any]: ...
    def download(self, job_id: str, fmt: ExportFormat, out: Path) -> None: ...
    def databases(self) -> list[dict[str, Any]]: ...
    def add_database(
        self,
        name: str,
        source: Path,
        title: str | None,
        *,
        visibility: str | None = None,
        group: str | None = None,
    ) -> dict[str, Any]: ...
    def clusters(self) -> list[dict[str, Any]]: ...
    def add_cluster(self, config: ClusterConfig) -> dict[str, Any]: ...
    def close(self) -> None: ...


def is_fasta_file(path: Path) -> bool:
    """A FASTA file (build a database) rather than a database prefix (register it)."""
    if not path.is_file():
        return False
    with path.open("rb") as fh:
        return fh.read(1) == b">"


class HttpBackend:
    def __init__(self, server: str, token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=server.rstrip("/"), timeout=60, headers=headers, verify=_tls_for(server)
        )

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise BlastDeckError(
                ErrorCode.INTERNAL_ERROR, f"cannot reach {self._http.base_url}: {exc}"
            ) from exc
        if response.status_code >= 400:
            try:
                body = response.json()
                code, message = ErrorCode(body["error_code"]), body["message"]
            except (ValueError, KeyError):
                code, message = ErrorCode.INTERNAL_ERROR, response.text[:500]
            raise BlastDeckError(
                code, message, field=body.get("field") if isinstance(body, dict) else None
            )
        return response

    def submit(self, request: SubmitRequest) -> dict[str, Any]:
        body = {k: v for k, v in request.__dict__.items() if v is not None}
        if isinstance(body.get("query"), bytes):
            body["query"] = body["query"].decode("utf-8", "replace")
        return self._call("POST", "/api/jobs", json=body).json()

    def job(self, job_id: str) -> dict[str, Any]:
        return self._call("GET", f"/api/jobs/{job_id}").json()

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self._call("POST", f"/api/jobs/{job_id}/cancel").json()

    def download(self, job_id: str, fmt: ExportFormat, out: Path) -> None:
        response = self._call("GET", f"/api/jobs/{job_id}/download", params={"format": fmt.value})
        out.write_bytes(response.content)

    def databases(self) -> list[dict[str, Any]]:
        return self._call("GET", "/api/databases").json()["items"]

    def add_database(
        self,
        name: str,
        source: Path,
        title: str | None,
        *,
        visibility: str | None = None,
        group: str | None = None,
    ) -> dict[str, Any]:
        sharing = {k: v for k, v in (("visibility", visibility), ("group", group)) if v}
        if is_fasta_file(source):
            with source.open("rb") as fh:
                files = {"file": (source.name, fh, "text/plain")}
                data = {"name": name, **({"title": title} if title else {}), **sharing}
                return self._call("POST", "/api/databases", data=data, files=files).json()
        body = {"name": name, "path": str(source.resolve()), **sharing}
        return self._call("POST", "/api/databases", json=body).json()

    def clusters(self) -> list[dict[str, Any]]:
        return self._call("GET", "/api/clusters").json()["items"]

    def add_cluster(self, config: ClusterConfig) -> dict[str, Any]:
        return self._call("POST", "/api/clusters", json=config.model_dump()).json()

    def close(self) -> None:
        self._http.close()


def _tls_for(server: str) -> ssl.SSLContext | bool:
    """Verify https servers against httpx's CA bundle. A plain http:// server needs no TLS,
    so skip loading that bundle (~0.1 s of every CLI call): a context that trusts no CA, so any
    TLS connection it were used for would fail verification rather than pass unchecked."""
    if server.strip().lower().startswith("http://"):
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return True


def follow(
    backend: Backend,
    job_id: str,
    on_update: Callable[[dict[str, Any]], None],
    interval_s: float | None = None,
) -> dict[str, Any]:
    """Poll a job until it ends, at the server's cadence (poll_after_ms) unless told otherwise."""
    while True:
        job = backend.job(job_id)
        on_update(job)
        if is_terminal(Phase(job["phase"])):
            return job
        time.sleep(interval_s if interval_s is not None else job["poll_after_ms"] / 1000)
