"""How the CLI reaches BlastDeck: a running server over HTTP (here), or the local data dir
directly (`client_local.py`).

Both return the API's JSON shapes, so the CLI draws the same thing either way. This module
imports no server-side code (no SQLAlchemy, FastAPI, Celery), so a CLI talking to a server
starts fast.
"""

from __future__ import annotations

import html
import re
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

import httpx

from blastdeck.database_files import source_kind
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.pipeline_model import Phase, is_terminal

if TYPE_CHECKING:
    from blastdeck.config import ClusterChanges, ClusterConfig
    from blastdeck.domain.submission import SubmitRequest
    from blastdeck.results.formats import ExportFormat


class Backend(Protocol):
    def submit(self, request: SubmitRequest) -> dict[str, Any]: ...
    def job(self, job_id: str) -> dict[str, Any]: ...
    def job_commands(self, job_id: str) -> str: ...
    def job_events(self, job_id: str) -> list[dict[str, Any]]: ...
    def jobs(
        self, status: str | None, search: str | None, limit: int, offset: int
    ) -> dict[str, Any]: ...
    def cancel(self, job_id: str) -> dict[str, Any]: ...
    def import_result(self, path: Path, title: str | None) -> dict[str, Any]: ...
    def download(
        self, job_id: str, fmt: ExportFormat, out: Path, columns: str | None = None
    ) -> None: ...
    def hit_fasta(
        self, job_id: str, out: Path, region: str, subjects: str | None, query_index: int | None
    ) -> None: ...
    def taxonomy_report(
        self, job_id: str, query_index: int | None, rank: str | None
    ) -> dict[str, Any]: ...
    def databases(self) -> list[dict[str, Any]]: ...
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
    ) -> dict[str, Any]: ...
    def remove_database(self, name: str) -> dict[str, Any]: ...
    def clusters(self) -> list[dict[str, Any]]: ...
    def engines(self) -> list[dict[str, Any]]: ...
    def add_cluster(self, config: ClusterConfig) -> dict[str, Any]: ...
    def update_cluster(self, name: str, changes: ClusterChanges) -> dict[str, Any]: ...
    def pause_cluster(self, name: str, namespace: str | None, resume: bool) -> dict[str, Any]: ...
    def remove_cluster(self, name: str) -> dict[str, Any]: ...
    def close(self) -> None: ...


def refuse_taxa_for_registered(taxid_map: Path | None, taxid: int | None) -> None:
    """A registered database already has its taxids (or none): they are read from it."""
    if taxid_map is not None or taxid is not None:
        raise BlastDeckError(
            ErrorCode.INVALID_REQUEST,
            "--taxid-map and --taxid are for building from FASTA; a registered database's "
            "taxids are read from the database itself.",
            field="taxid_map" if taxid_map is not None else "taxid",
        )


def is_fasta_file(path: Path) -> bool:
    """A FASTA file, plain or gzipped (build a database), rather than a database prefix
    (register it); a missing or empty file is refused with its own error code."""
    return source_kind(path) == "fasta"


class HttpBackend:
    """A running server over HTTP. Every answer becomes the server's JSON or a
    `BlastDeckError`: the server's own error, or `server_unreachable` when no BlastDeck answer
    came (no connection, a timeout, or another program's page, such as a proxy's 502)."""

    def __init__(self, server: str, token: str | None = None) -> None:
        self._server = _shown_url(server)
        # A bad --server or --token is reported by the first request, where the CLI turns
        # errors into messages.
        self._problem: BlastDeckError | None = None
        if not server.strip().lower().startswith(("http://", "https://")):
            self._problem = BlastDeckError(
                ErrorCode.INVALID_REQUEST,
                "--server must be an http:// or https:// URL, such as http://127.0.0.1:8000; "
                f"got {_excerpt(server)!r}.",
                field="server",
            )
        elif token and not _TOKEN_TEXT_RE.fullmatch(token):
            self._problem = BlastDeckError(
                ErrorCode.UNAUTHORIZED,
                "The token has characters an API token never has (spaces, line breaks or "
                "non-ASCII); copy it again from `blastdeck token create`.",
                field="token",
            )
        headers = {"Authorization": f"Bearer {token}"} if token and not self._problem else {}
        try:
            self._http = httpx.Client(
                base_url=server.strip().rstrip("/"),
                timeout=60,
                headers=headers,
                verify=_tls_for(server),
            )
        except httpx.InvalidURL as exc:
            self._http = httpx.Client(timeout=60)
            self._problem = self._problem or BlastDeckError(
                ErrorCode.INVALID_REQUEST,
                f"--server is not a valid URL ({_excerpt(str(exc))}): {_excerpt(server)!r}.",
                field="server",
            )

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if self._problem is not None:
            raise self._problem
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise BlastDeckError(
                ErrorCode.SERVER_UNREACHABLE,
                f"Cannot reach the BlastDeck server at {self._server}: {_transport_problem(exc)}.",
            ) from exc
        if response.status_code >= 400:
            raise _error_of(response, self._server)
        return response

    def _json(self, method: str, url: str, *keys: str, **kwargs: Any) -> dict[str, Any]:
        """The JSON object a BlastDeck route answers, holding the keys the CLI reads."""
        response = self._call(method, url, **kwargs)
        body = _json_or_none(response)
        if not isinstance(body, dict) or any(key not in body for key in keys):
            raise _not_blastdeck(self._server, response, "where BlastDeck answers JSON")
        return body

    def _items(self, url: str) -> list[dict[str, Any]]:
        return self._items_of(self._json("GET", url, "items"), url)

    def _items_of(self, page: dict[str, Any], url: str) -> list[dict[str, Any]]:
        items = page["items"]
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise BlastDeckError(
                ErrorCode.SERVER_UNREACHABLE,
                f"The server at {self._server} answered {url} with JSON BlastDeck never "
                f"sends there{_NOT_BLASTDECK}",
            )
        return items

    def submit(self, request: SubmitRequest) -> dict[str, Any]:
        body = _given(request.__dict__)
        if isinstance(body.get("query"), bytes):
            body["query"] = body["query"].decode("utf-8", "replace")
        return self._json("POST", "/api/jobs", *_JOB_KEYS, json=body)

    def job(self, job_id: str) -> dict[str, Any]:
        return self._json("GET", f"/api/jobs/{_segment(job_id)}", *_JOB_KEYS)

    def job_events(self, job_id: str) -> list[dict[str, Any]]:
        return self._items(f"/api/jobs/{_segment(job_id)}/events")

    def job_commands(self, job_id: str) -> str:
        response = self._call("GET", f"/api/jobs/{_segment(job_id)}/config")
        if _media_type(response) != "text/plain":
            raise _not_blastdeck(
                self._server, response, "where BlastDeck answers the job's commands as plain text"
            )
        return response.text

    def jobs(
        self, status: str | None, search: str | None, limit: int, offset: int
    ) -> dict[str, Any]:
        params = {"status": status, "q": search, "limit": limit, "offset": offset}
        page = self._json("GET", "/api/jobs", "items", "total", params=_given(params))
        self._items_of(page, "/api/jobs")  # checked: a list of objects, as BlastDeck sends
        return page

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self._json("POST", f"/api/jobs/{_segment(job_id)}/cancel", *_JOB_KEYS)

    def import_result(self, path: Path, title: str | None) -> dict[str, Any]:
        with path.open("rb") as fh:  # streamed from the file, never read whole
            files = {"file": (path.name, fh, "application/octet-stream")}
            data = {"title": title} if title else {}
            return self._json("POST", "/api/jobs/import", *_JOB_KEYS, data=data, files=files)

    def download(
        self, job_id: str, fmt: ExportFormat, out: Path, columns: str | None = None
    ) -> None:
        params = {"format": fmt.value} | ({"columns": columns} if columns is not None else {})
        url = f"/api/jobs/{_segment(job_id)}/download"
        self._save(url, params, out, fmt.media_type, f"the {fmt.value} download")

    def hit_fasta(
        self, job_id: str, out: Path, region: str, subjects: str | None, query_index: int | None
    ) -> None:
        """The hit subjects' sequences (`download?format=fasta`), streamed into `out`."""
        params = {"format": "fasta", "region": region, "subjects": subjects}
        params["query_index"] = query_index
        url = f"/api/jobs/{_segment(job_id)}/download"
        self._save(url, _given(params), out, "text/x-fasta", "FASTA")

    def _save(
        self, url: str, params: dict[str, Any], out: Path, media_type: str, what: str
    ) -> None:
        """A download streamed into a file beside `out`, renamed to `out` when whole: an
        export can be gigabytes, and one the server cuts off (its render failed midway) leaves
        nothing behind."""
        if self._problem is not None:
            raise self._problem
        partial = out.with_name(f".{out.name}.part")
        written = 0
        try:
            with self._http.stream("GET", url, params=params) as response:
                if response.status_code >= 400:
                    response.read()
                    raise _error_of(response, self._server)
                if _media_type(response) != media_type:
                    response.read()
                    raise _not_blastdeck(
                        self._server, response, f"where BlastDeck sends {what} ({media_type})"
                    )
                with partial.open("wb") as sink:
                    for chunk in response.iter_bytes():
                        written += sink.write(chunk)
            partial.replace(out)
        except httpx.HTTPError as exc:
            message = f"Cannot reach the BlastDeck server at {self._server}"
            if written:  # the server cut it off: its log says why
                message = (
                    f"{what[0].upper()}{what[1:]} from the BlastDeck server at {self._server} "
                    f"broke off after {written:,} bytes; nothing was saved, ask again"
                )
            raise BlastDeckError(
                ErrorCode.SERVER_UNREACHABLE, f"{message}: {_transport_problem(exc)}."
            ) from exc
        finally:
            partial.unlink(missing_ok=True)

    def taxonomy_report(
        self, job_id: str, query_index: int | None, rank: str | None
    ) -> dict[str, Any]:
        params = {"query_index": query_index, "rank": rank}
        return self._json(
            "GET",
            f"/api/jobs/{_segment(job_id)}/taxonomy",
            "organisms",
            "tree",
            params=_given(params),
        )

    def databases(self) -> list[dict[str, Any]]:
        return self._items("/api/databases")

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
        choices = (("visibility", visibility), ("group", group), ("molecule", molecule))
        sharing = {k: v for k, v in choices if v}
        if is_fasta_file(source):
            taxa = {"taxid": str(taxid)} if taxid is not None else {}
            with source.open("rb") as fh:
                files: dict[str, Any] = {"file": (source.name, fh, "text/plain")}
                if taxid_map is not None:
                    files["taxid_map"] = (taxid_map.name, taxid_map.read_bytes(), "text/plain")
                data = {"name": name, **({"title": title} if title else {}), **sharing, **taxa}
                return self._json("POST", "/api/databases", *_DB_KEYS, data=data, files=files)
        refuse_taxa_for_registered(taxid_map, taxid)
        body = {"name": name, "path": str(source.resolve()), **sharing}
        return self._json("POST", "/api/databases", *_DB_KEYS, json=body)

    def remove_database(self, name: str) -> dict[str, Any]:
        # Each part of a qualified name (`alice/x`, `@lab/x`) is one segment: no name can
        # reach another route.
        path = "/".join(_segment(part) for part in name.split("/"))
        return self._json("DELETE", f"/api/databases/{path}", "name", "staged_removed")

    def clusters(self) -> list[dict[str, Any]]:
        return self._items("/api/clusters")

    def engines(self) -> list[dict[str, Any]]:
        return self._items("/api/clusters/engines")

    def add_cluster(self, config: ClusterConfig) -> dict[str, Any]:
        return self._json("POST", "/api/clusters", *_CLUSTER_KEYS, json=config.model_dump())

    def update_cluster(self, name: str, changes: ClusterChanges) -> dict[str, Any]:
        body = changes.model_dump(exclude_unset=True)
        url = f"/api/clusters/{_segment(name)}"
        return self._json("PATCH", url, *_CLUSTER_KEYS, json=body)

    def pause_cluster(self, name: str, namespace: str | None, resume: bool) -> dict[str, Any]:
        action = "resume" if resume else "pause"
        url = f"/api/clusters/{_segment(name)}/{action}"
        return self._json("POST", url, "cluster", "paused", json={"namespace": namespace})

    def remove_cluster(self, name: str) -> dict[str, Any]:
        return self._json("DELETE", f"/api/clusters/{_segment(name)}", "name", "engine")

    def close(self) -> None:
        self._http.close()


# What the CLI reads from each answer (cli.py: timeline, follow, the db and cluster commands).
_JOB_KEYS = (
    "id", "program", "database", "cluster", "namespace", "phase", "steps", "progress",
    "poll_after_ms", "hits_total",
)  # fmt: skip
_DB_KEYS = ("name", "molecule", "sequences", "letters")
_CLUSTER_KEYS = ("name", "engine", "namespace")
_NOT_BLASTDECK = (
    ". That is not a BlastDeck answer: check that --server is BlastDeck's URL and, behind a "
    "proxy, that BlastDeck is running."
)
_TOKEN_TEXT_RE = re.compile(r"[!-~]+")  # printable ASCII without spaces
_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_TAG_RE = re.compile(r"<[^>]*>")
# Control characters (terminal escapes), invisible and bidi-override characters, and square
# brackets (markup to the terminal printer): none of them reach the screen from an answer.
_UNSAFE_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\[\]\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]+")
_MAX_EXCERPT = 80
_MAX_BODY_READ = 65536


def _given(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters that have a value: an absent one is left to the server's default."""
    return {key: value for key, value in params.items() if value is not None}


def _error_of(response: httpx.Response, server: str) -> BlastDeckError:
    """The BlastDeck error an error answer carries, or a clear one when it carries none."""
    body = _json_or_none(response)
    if isinstance(body, dict):
        code, message, field = body.get("error_code"), body.get("message"), body.get("field")
        if isinstance(code, str) and isinstance(message, str):
            field = field if isinstance(field, str) else None
            try:
                return BlastDeckError(ErrorCode(code), message, field=field)
            except ValueError:  # a newer server's code: keep its words and say which
                return BlastDeckError(
                    ErrorCode.INTERNAL_ERROR,
                    f"{message} (error code {_excerpt(code)!r}, unknown to this CLI)",
                    field=field,
                )
    return _not_blastdeck(server, response, "instead of a BlastDeck error")


def _not_blastdeck(server: str, response: httpx.Response, expected: str) -> BlastDeckError:
    """An answer that is not BlastDeck's: what came, and `expected` ("where BlastDeck answers
    JSON", "instead of a BlastDeck error")."""
    return BlastDeckError(
        ErrorCode.SERVER_UNREACHABLE,
        f"The server at {server} answered HTTP {_status(response)} with "
        f"{_describe_body(response)} {expected}{_NOT_BLASTDECK}",
    )


def _media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip().lower()


def _json_or_none(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:  # not JSON (UnicodeDecodeError and JSONDecodeError are ValueErrors)
        return None
    except RecursionError:  # nested too deep to be anything BlastDeck sends
        return None


def _status(response: httpx.Response) -> str:
    return f"{response.status_code} {_excerpt(response.reason_phrase or '')}".strip()


def _describe_body(response: httpx.Response) -> str:
    """What came instead: an HTML page titled '502 Bad Gateway', a text/plain body, ..."""
    if not response.content:
        return "an empty body"
    media_type = _excerpt(_media_type(response))
    text = response.content[:_MAX_BODY_READ].decode("utf-8", "replace")
    if media_type in ("text/html", "application/xhtml+xml") or "<html" in text[:1024].lower():
        title = _TITLE_RE.search(text)
        shown = _excerpt(html.unescape(title.group(1))) if title else ""
        if shown:
            return f"an HTML page titled {shown!r}"
        shown = _excerpt(html.unescape(_TAG_RE.sub(" ", text)))
        return f"an HTML page ({shown!r})" if shown else "an HTML page"
    kind = f"a {media_type} body" if media_type else "a body"
    shown = _excerpt(text)
    return f"{kind} ({shown!r})" if shown else kind


def _excerpt(text: str) -> str:
    """A short, single-line, printable piece of text that came from elsewhere."""
    cleaned = " ".join(_UNSAFE_RE.sub(" ", text).split())
    if len(cleaned) > _MAX_EXCERPT:
        cleaned = cleaned[: _MAX_EXCERPT - 3] + "..."
    return cleaned


def _transport_problem(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time"
    detail = _excerpt(str(exc))
    if isinstance(exc, httpx.ConnectError):
        return f"the connection failed ({detail})" if detail else "the connection failed"
    return detail or type(exc).__name__


def _shown_url(server: str) -> str:
    """The server URL for messages, without a user:password@ part."""
    try:
        url = httpx.URL(server.strip())
        if url.userinfo:
            url = url.copy_with(username=None, password=None)
        return _excerpt(str(url).rstrip("/"))
    except (httpx.InvalidURL, TypeError, ValueError):
        return _excerpt(server)


def _segment(value: str) -> str:
    """A job id as one path segment, so no id can reach another route."""
    return quote(value, safe="")


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


def _tls_for(server: str) -> ssl.SSLContext | bool:
    """Verify https servers against httpx's CA bundle. A plain http:// server needs no TLS,
    so skip loading that bundle (~0.1 s of every CLI call): a context that trusts no CA, so any
    TLS connection it were used for would fail verification rather than pass unchecked."""
    if server.strip().lower().startswith("http://"):
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return True
