"""Notifications of a job's end, as the API and the job service see them: a submit's `notify`
targets checked (or the user's defaults), users' defaults, a job's deliveries, and the summary
every notification carries. Sending them is `notification_delivery.py`'s work."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from blastdeck.auth import Viewer
from blastdeck.config import Settings
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.notifications import (
    forbidden_address,
    forbidden_host_error,
    validate_targets,
)
from blastdeck.store.models import Job
from blastdeck.store.notifications import Delivery, NotificationStore

# getaddrinfo has no timeout of its own: it runs here, and a caller waits for it at most
# RESOLVE_TIMEOUT_S (a slow DNS server must not hold a submit).
_RESOLVER = ThreadPoolExecutor(4, thread_name_prefix="blastdeck-dns")
RESOLVE_TIMEOUT_S = 5.0


def _addresses(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (an IP literal: itself); [] when it does not resolve
    (or not within RESOLVE_TIMEOUT_S)."""
    try:
        return _RESOLVER.submit(_addresses, host, port).result(timeout=RESOLVE_TIMEOUT_S)
    except TimeoutError:
        return []


def url_port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def user_key(viewer: Viewer) -> str:
    return viewer.user_id or ""


class Notifications:
    def __init__(self, settings: Settings, store: NotificationStore) -> None:
        self._settings = settings
        self.store = store

    def check(self, raw: object, field: str = "notify") -> list[dict[str, Any]]:
        """`raw` targets validated, normalized, and allowed on this server: a webhook's host
        must not be (or resolve to) a loopback/private/link-local address unless the operator
        allows those; e-mail needs an SMTP server. A host that does not resolve now is kept:
        the delivery resolves it again, and retries."""
        targets = validate_targets(raw, field=field)
        for i, target in enumerate(targets):
            if target["type"] == "email" and not self._settings.smtp_host:
                raise BlastDeckError(
                    ErrorCode.EMAIL_UNAVAILABLE,
                    "This server sends no e-mail (BLASTDECK_SMTP_HOST is not set); use a "
                    "webhook instead.",
                    field=f"{field}[{i}].to",
                )
            if target["type"] == "webhook":
                self.check_reachable(target["url"], f"{field}[{i}].url")
        return targets

    def check_reachable(self, url: str, field: str = "url") -> list[str]:
        """The addresses a webhook URL's host resolves to, refused when one is forbidden."""
        host = urlsplit(url).hostname or ""
        addresses = resolve_host(host, url_port(url))
        if not self._settings.webhook_allow_private:
            for address in addresses:
                if forbidden_address(address):
                    raise forbidden_host_error(host, address, field)
        return addresses

    def targets_for_submit(self, raw: object, viewer: Viewer) -> list[dict[str, Any]] | None:
        """A new job's targets: its own `notify` when given (an empty list: none), else the
        submitting user's defaults."""
        targets = self.store.defaults(user_key(viewer)) if raw is None else self.check(raw)
        return targets or None

    def defaults(self, viewer: Viewer) -> list[dict[str, Any]]:
        return self.store.defaults(user_key(viewer))

    def set_defaults(self, viewer: Viewer, raw: object) -> list[dict[str, Any]]:
        targets = self.check(raw, "targets")
        self.store.set_defaults(user_key(viewer), targets)
        return targets

    def of_job(self, job_id: str) -> list[Delivery]:
        return self.store.of_job(job_id)


def public_target(target: dict[str, Any]) -> dict[str, Any]:
    """A target as the API shows it: never its secret, only whether it has one."""
    shown = {k: v for k, v in target.items() if k != "secret"}
    if target.get("type") == "webhook":
        shown["secret_set"] = bool(target.get("secret"))
    return shown


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def job_summary(settings: Settings, delivery: Delivery, job: Job | None) -> dict[str, Any]:
    """What every notification of `delivery` says: the job's end, its numbers and links."""
    base, job_id = settings.link_base, delivery.job_id
    facts: dict[str, Any] = {"id": job_id}
    if job is not None:
        duration = (
            (job.finished_at - job.created_at).total_seconds()
            if job.finished_at is not None
            else None
        )
        facts.update(
            title=job.title,
            program=job.program,
            database=job.database,
            cluster=job.cluster,
            phase=job.phase,
            error_code=job.error_code,
            error=job.error,
            query_count=job.query_count,
            query_letters=job.query_letters,
            hits_total=job.hits_total,
            hsps_total=job.hsps_total,
            created_at=_iso(job.created_at),
            finished_at=_iso(job.finished_at),
            duration_s=duration,
        )
    else:  # deleted since it ended: what the outbox row knows
        facts.update(
            title="",
            program="?",
            database="?",
            query_count=0,
            hits_total=None,
            hsps_total=None,
            created_at=None,
            finished_at=None,
            duration_s=None,
        )
    return {
        "event": f"job.{delivery.event}",
        "delivery_id": delivery.id,
        "status": delivery.event,
        "job": facts,
        "links": {
            "web": f"{base}/jobs/{job_id}",
            "api": f"{base}/api/jobs/{job_id}",
            "hits": f"{base}/api/jobs/{job_id}/hits",
        },
    }
