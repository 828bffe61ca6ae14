"""Sending the outbox: webhooks (httpx, signed) and e-mail (smtplib), and the loop that claims
due deliveries, sends them on a few threads and records each outcome with its back-off.

Embedded mode runs one `DeliveryLoop` in the server (woken when a commit of this process adds
outbox rows); distributed mode runs one in every worker's main process (worker.py). Each delivery
is claimed with a lease in one conditional UPDATE, so however many loops run, a delivery is
sent once unless a send failed or its sender died (then again: at least once). Each try's
outcome is counted for `GET /metrics` (`metrics.NOTIFICATION_DELIVERIES`) where the job
metrics go: this process's memory, or Redis in distributed mode.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import urlsplit, urlunsplit

import httpx

from blastdeck.config import Settings
from blastdeck.domain.errors import BlastDeckError
from blastdeck.domain.notifications import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    backoff_s,
    sign,
    summary_text,
    webhook_body,
)
from blastdeck.metrics import NOTIFICATION_DELIVERIES, Observations
from blastdeck.notifications import Notifications, job_summary, url_port
from blastdeck.store.jobs import JobStore
from blastdeck.store.models import utcnow
from blastdeck.store.notifications import Delivery

log = logging.getLogger(__name__)

SENDERS = 4  # deliveries sent at once by one loop
PURGE_EVERY_S = 3600.0


class PermanentFailure(Exception):
    """A try that would fail the same way again: the delivery is marked failed at once."""


class Sender:
    def __init__(self, settings: Settings, notifications: Notifications, jobs: JobStore) -> None:
        self._settings = settings
        self._notifications = notifications
        self._jobs = jobs
        # One client for every webhook (thread-safe): its TLS context is built once. No
        # connection is kept: one to a pinned address must never serve another host's request.
        self._http = httpx.Client(
            timeout=httpx.Timeout(settings.notify_timeout_s),
            limits=httpx.Limits(max_keepalive_connections=0),
            follow_redirects=False,
            trust_env=False,
        )

    def close(self) -> None:
        self._http.close()

    def send(self, delivery: Delivery) -> None:
        """Send one delivery; raises on failure (PermanentFailure: do not retry)."""
        summary = job_summary(self._settings, delivery, self._jobs.get(delivery.job_id))
        if delivery.kind == "webhook":
            self._webhook(delivery, summary)
        elif delivery.kind == "email":
            self._email(delivery, summary)
        else:
            raise PermanentFailure(f"unknown target type {delivery.kind!r}")

    def _webhook(self, delivery: Delivery, summary: dict) -> None:
        target = delivery.target
        url = target["url"]
        try:
            addresses = self._notifications.check_reachable(url)
        except BlastDeckError as exc:  # resolved now to a forbidden address
            raise PermanentFailure(exc.message) from None
        if not addresses:
            raise OSError(f"{urlsplit(url).hostname} does not resolve")
        body = webhook_body(summary, target.get("format", "json"))
        headers = {
            "content-type": "application/json",
            "user-agent": "BlastDeck-Webhook",
            DELIVERY_HEADER: delivery.id,
            EVENT_HEADER: summary["event"],
        }
        if target.get("secret"):
            headers[SIGNATURE_HEADER] = sign(body, target["secret"])
        # Connect to the address checked above (not a second lookup that could answer
        # differently); the Host header and TLS name stay the URL's host.
        parts = urlsplit(url)
        host = parts.hostname or ""
        address = addresses[0]
        netloc = f"[{address}]" if ":" in address else address
        pinned = urlunsplit(parts._replace(netloc=f"{netloc}:{url_port(url)}"))
        headers["host"] = parts.netloc.rsplit("@", 1)[-1]
        extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
        response = self._http.post(pinned, content=body, headers=headers, extensions=extensions)
        if 200 <= response.status_code < 300:
            return
        message = f"the receiver answered HTTP {response.status_code}"
        if 400 <= response.status_code < 500 and response.status_code not in (408, 425, 429):
            raise PermanentFailure(message)
        raise OSError(message)

    def _email(self, delivery: Delivery, summary: dict) -> None:
        s = self._settings
        if not s.smtp_host:
            raise PermanentFailure("no SMTP server is set (BLASTDECK_SMTP_HOST)")
        message = EmailMessage()
        job = summary["job"]
        message["Subject"] = f"BlastDeck job {job.get('title') or job['id']} {summary['status']}"
        message["From"] = s.smtp_from
        message["To"] = delivery.target["to"]
        message["Message-ID"] = make_msgid(idstring=delivery.id, domain="blastdeck")
        message[DELIVERY_HEADER] = delivery.id
        message.set_content(summary_text(summary))
        timeout = s.notify_timeout_s
        if s.smtp_tls == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=timeout)
        with smtp:
            if s.smtp_tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password or "")
            smtp.send_message(message)


class DeliveryLoop:
    """Claims due deliveries and sends them, until stopped. `wake()` makes it look now."""

    def __init__(
        self,
        settings: Settings,
        notifications: Notifications,
        jobs: JobStore,
        observations: Observations | None = None,
    ) -> None:
        self._settings = settings
        self._observations = observations  # None: metrics are off
        self._store = notifications.store
        self._sender = Sender(settings, notifications, jobs)
        self._owner = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # Longer than any one send can take, so a live sender never loses its delivery.
        self._lease_s = 4 * settings.notify_timeout_s + 30
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._free = threading.Semaphore(SENDERS)
        self._next_purge = 0.0
        self._pool = ThreadPoolExecutor(SENDERS, thread_name_prefix="blastdeck-notify")
        self._thread = threading.Thread(target=self._loop, daemon=True, name="blastdeck-notify")

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._sender.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                started = self.run_once()
                due_in = self._store.next_due_in()
            except Exception:  # the database away for a moment: look again later
                log.exception("notification delivery loop failed")
                started, due_in = 0, None
            self._purge_old()
            if started:
                continue
            wait = self._settings.notify_poll_s if due_in is None else due_in
            self._wake.wait(min(self._settings.notify_poll_s, max(0.01, wait)))

    def _purge_old(self) -> None:
        """Delivered and failed rows go with the retention of jobs (at most once an hour)."""
        days = self._settings.retention_days
        if not days or time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + PURGE_EVERY_S
        try:
            self._store.purge_ended_before(utcnow() - timedelta(days=days))
        except Exception:
            log.exception("purging old notifications failed")

    def run_once(self) -> int:
        """Claim as many due deliveries as there are free senders and start them."""
        claimed = 0
        while self._free.acquire(blocking=False):
            batch = self._store.claim_due(self._owner, self._lease_s, limit=1)
            if not batch:
                self._free.release()
                break
            claimed += 1
            self._pool.submit(self._deliver, batch[0])
        return claimed

    def _deliver(self, delivery: Delivery) -> None:
        try:
            self._attempt(delivery)
        finally:
            self._free.release()
            self._wake.set()

    def _attempt(self, delivery: Delivery) -> None:
        s = self._settings
        try:
            self._sender.send(delivery)
        except PermanentFailure as exc:
            self._store.attempt_failed(delivery.id, self._owner, str(exc), None)
            self._count(delivery, "failed")
            log.warning("notification %s failed for good: %s", delivery.id, exc)
            return
        except Exception as exc:  # every other failure is worth a retry
            tries = delivery.attempts + 1
            retry = (
                backoff_s(tries, s.notify_backoff_s, s.notify_backoff_max_s)
                if tries < s.notify_max_attempts
                else None
            )
            reason = _reason(exc)
            self._store.attempt_failed(delivery.id, self._owner, reason, retry)
            self._count(delivery, "failed" if retry is None else "retried")
            log.warning("notification %s try %d failed: %s", delivery.id, tries, reason)
            return
        self._store.delivered(delivery.id, self._owner)
        self._count(delivery, "delivered")

    def _count(self, delivery: Delivery, outcome: str) -> None:
        if self._observations is not None:
            labels = {"type": delivery.kind, "outcome": outcome}
            self._observations.add(NOTIFICATION_DELIVERIES, labels, 1)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "the receiver did not answer in time"
    if isinstance(exc, httpx.ConnectError | ConnectionError):
        return f"could not connect: {exc}"
    if isinstance(exc, smtplib.SMTPException):
        return f"the SMTP server refused: {exc}"
    return str(exc) or type(exc).__name__
