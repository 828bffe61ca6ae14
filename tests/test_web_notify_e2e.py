"""Notifications on the web page end to end (Chromium via Playwright, a real `blastdeck serve`,
real BLAST+, a real HTTP receiver and SMTP server): the search form's Notifications section sends
a signed webhook and an e-mail target, and the job page shows each delivery."""

# ruff: noqa: F811  (pytest injects the imported `page` fixture by argument name)

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import Server, fasta, free_port
from tests.support.notify_receivers import HttpReceiver, SmtpReceiver

# The page fixtures of the main e2e module (its checks on page errors and CSP reports too).
from tests.test_web_e2e import browser, built_app, page  # noqa: F401


@pytest.fixture(scope="module")
def receivers() -> Iterator[tuple[HttpReceiver, SmtpReceiver]]:
    hook, smtp = HttpReceiver().start(), SmtpReceiver(free_port()).start()
    yield hook, smtp
    hook.stop()
    smtp.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, receivers) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("e2e-notify") / "data", None)
    running.env.update(
        BLASTDECK_WEBHOOK_ALLOW_PRIVATE="on",  # the receiver listens on 127.0.0.1
        BLASTDECK_SMTP_HOST="127.0.0.1",
        BLASTDECK_SMTP_PORT=str(receivers[1].port),
    )
    running.start()
    yield running
    running.kill()


def test_the_form_sends_notify_targets_and_the_job_page_shows_them(
    server: Server, page: Page, receivers, demo_16s
) -> None:
    hook, smtp = receivers
    page.goto(f"{server.url}/search")
    page.get_by_test_id("query-input").fill(fasta(demo_16s[:2]))
    page.get_by_test_id("database").select_option("demo-16s")
    page.get_by_test_id("notify-section").locator("summary").click()
    page.get_by_test_id("notify-webhook").fill(hook.url)
    page.get_by_test_id("notify-secret").fill("web-secret")
    page.get_by_test_id("notify-email").fill("lab@example.org")
    page.get_by_test_id("submit").click()

    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}"))
    job_id = re.search(r"/jobs/([0-9a-f-]{36})", page.url).group(1)
    expect(page.get_by_test_id("job-status")).to_have_text(
        re.compile("completed", re.I), timeout=60_000
    )
    page.get_by_test_id("tab-run").click()
    rows = page.get_by_test_id("notification")
    expect(rows).to_have_count(2, timeout=30_000)
    expect(rows.filter(has_text="webhook")).to_contain_text("signed")
    expect(rows.filter(has_text="lab@example.org")).to_be_visible()
    for row in (rows.nth(0), rows.nth(1)):
        expect(row).to_have_attribute("data-status", "delivered", timeout=30_000)
        expect(row).to_contain_text("delivered (1 try)")

    [hit] = hook.wait_for(1)
    expected = hmac.new(b"web-secret", hit.body, hashlib.sha256).hexdigest()
    assert hit.headers["x-blastdeck-signature"] == f"sha256={expected}"
    assert json.loads(hit.body)["job"]["id"] == job_id
    [(message, _, rcpt)] = smtp.wait_for(1)
    assert rcpt == ["lab@example.org"] and job_id in message.get_payload(decode=True).decode()
