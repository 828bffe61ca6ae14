"""Notifications of a job's end: what a target may be, which addresses a webhook may reach,
the bodies sent and how they are signed, and the retry back-off. Pure rules, no I/O."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
from typing import Any
from urllib.parse import urlsplit

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.wording import counted, hits_and_hsps

EVENTS = ("completed", "failed", "cancelled")
TARGET_TYPES = ("webhook", "email")
FORMATS = ("json", "slack")
MAX_TARGETS = 10
MAX_URL_CHARS = 2000
MAX_SECRET_CHARS = 200
MAX_EMAIL_CHARS = 254
SIGNATURE_HEADER = "X-BlastDeck-Signature"
DELIVERY_HEADER = "X-BlastDeck-Delivery"
EVENT_HEADER = "X-BlastDeck-Event"
# One address, no display name: local@domain with a dot in the domain; no spaces, no commas,
# no CR/LF (nothing that could add a header or a second recipient).
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def _bad(message: str, field: str) -> BlastDeckError:
    return BlastDeckError(ErrorCode.INVALID_NOTIFICATION, message, field=field)


def validate_targets(raw: object, *, field: str = "notify") -> list[dict[str, Any]]:
    """The targets as stored: each checked and normalized (defaults filled in), or a 4xx
    `invalid_notification` naming the first bad one. Address rules are `check_host`'s."""
    if not isinstance(raw, list):
        raise _bad("notify must be a list of targets.", field)
    if len(raw) > MAX_TARGETS:
        raise _bad(f"At most {MAX_TARGETS} notification targets per job.", field)
    return [_target(item, f"{field}[{i}]") for i, item in enumerate(raw)]


def _target(item: object, field: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise _bad("A notification target must be an object with a type.", field)
    kind = item.get("type")
    if kind not in TARGET_TYPES:
        raise _bad(f"type must be one of {', '.join(TARGET_TYPES)}.", f"{field}.type")
    allowed = {"type", "on"} | ({"url", "secret", "format"} if kind == "webhook" else {"to"})
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise _bad(f"Unknown field {unknown[0]!r} in a {kind} target.", f"{field}.{unknown[0]}")
    on = item.get("on", list(EVENTS))
    if not isinstance(on, list) or not on or any(e not in EVENTS for e in on):
        raise _bad(f"on must be a non-empty list of {', '.join(EVENTS)}.", f"{field}.on")
    target: dict[str, Any] = {"type": kind, "on": [e for e in EVENTS if e in on]}
    if kind == "email":
        to = item.get("to")
        if not isinstance(to, str) or len(to) > MAX_EMAIL_CHARS or not _EMAIL.match(to):
            raise _bad("to must be one e-mail address (name@example.org).", f"{field}.to")
        target["to"] = to
        return target
    target["url"] = check_url(item.get("url"), f"{field}.url")
    secret = item.get("secret", "")
    if not isinstance(secret, str) or len(secret) > MAX_SECRET_CHARS:
        raise _bad(f"secret must be text of at most {MAX_SECRET_CHARS} characters.", field)
    fmt = item.get("format", "json")
    if fmt not in FORMATS:
        raise _bad(f"format must be one of {', '.join(FORMATS)}.", f"{field}.format")
    target.update(secret=secret, format=fmt)
    return target


def check_url(url: object, field: str = "url") -> str:
    """An absolute http(s) URL with a host and no credentials in it."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_CHARS:
        raise _bad(f"url must be an http(s) URL of at most {MAX_URL_CHARS} characters.", field)
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise _bad("url must not contain spaces or control characters.", field)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        raise _bad("url is not a valid URL.", field) from None
    if parts.scheme not in ("http", "https"):
        raise _bad("A webhook url must start with http:// or https://.", field)
    if not parts.hostname:
        raise _bad("A webhook url must name a host.", field)
    if parts.username is not None or parts.password is not None:
        raise _bad("Put no user or password in a webhook url; use the secret.", field)
    return url


def forbidden_address(address: str) -> bool:
    """Whether a webhook may not reach this IP address unless the operator allows private
    ones: loopback, private, link-local (cloud metadata), unspecified, multicast, reserved."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_multicast
        or ip.is_reserved
        or not ip.is_global
    )


def forbidden_host_error(host: str, address: str, field: str = "url") -> BlastDeckError:
    return BlastDeckError(
        ErrorCode.NOTIFICATION_TARGET_FORBIDDEN,
        f"Webhooks may not reach {host} ({address}): a loopback, private or link-local "
        "address. The operator can allow them with BLASTDECK_WEBHOOK_ALLOW_PRIVATE=on.",
        field=field,
    )


def backoff_s(attempts: int, base_s: float, max_s: float) -> float:
    """Wait before try number `attempts + 1` after `attempts` failed ones: base, 2x, 4x..."""
    return float(min(max_s, base_s * (2 ** max(0, attempts - 1))))


def sign(body: bytes, secret: str) -> str:
    """The signature header's value: sha256=<hex HMAC-SHA256 of the body with the secret>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_body(summary: dict[str, Any], fmt: str) -> bytes:
    """The JSON sent to a webhook: the summary itself, or a Slack incoming-webhook message."""
    if fmt == "slack":
        return json.dumps({"text": summary_text(summary, one_line=True)}).encode()
    return json.dumps(summary, separators=(",", ":")).encode()


def summary_text(summary: dict[str, Any], *, one_line: bool = False) -> str:
    """The summary as text: a Slack line, or the body of the e-mail."""
    job = summary["job"]
    head = f"BlastDeck job {job['title'] or job['id']} {summary['status']}"
    facts = [
        f"{job['program']} of {counted(job['query_count'], 'query')} against {job['database']}",
    ]
    if summary["status"] == "completed":
        facts.append(hits_and_hsps(job["hits_total"], job["hsps_total"]))
    elif job.get("error"):
        facts.append(f"{job.get('error_code')}: {job['error']}")
    if job.get("duration_s") is not None:
        facts.append(f"took {job['duration_s']:.1f} s")
    link = summary["links"]["web"]
    if one_line:
        return f"{head}: {'; '.join(facts)} <{link}|open>"
    lines = [head, "", *facts, "", f"Job: {link}", f"API: {summary['links']['api']}"]
    lines += [f"Submitted: {job['created_at']}", f"Ended: {job['finished_at']}", f"Id: {job['id']}"]
    return "\n".join(lines) + "\n"
