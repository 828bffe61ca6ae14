"""The Admin page end to end (Chromium via Playwright, a real `blastdeck serve` with auth on):
an admin adds a user and makes them a token (shown once), the user signs in with it, sees only
their own tokens, makes and revokes one; the admin disables the user and the audit log shows
every step."""

# ruff: noqa: F811  (pytest injects the imported `page` fixture by argument name)

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import BLASTDECK, Server

# The page fixtures of the main e2e module (its checks on page errors and CSP reports too).
from tests.test_web_e2e import browser, page  # noqa: F401


def cli(data_dir: Path, *args: str) -> str:
    env = {"BLASTDECK_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"}
    run = subprocess.run([BLASTDECK, *args], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    data = tmp_path_factory.mktemp("e2e-admin") / "data"
    cli(data, "user", "add", "root", "--admin")
    root_token = cli(data, "token", "create", "root")
    running = Server(data, None)
    running.env["BLASTDECK_AUTH"] = "on"
    running.start()
    yield running, root_token
    running.kill(signal.SIGTERM)


def sign_in(page: Page, url: str, token: str, name: str) -> None:
    page.goto(f"{url}/admin")
    page.get_by_test_id("signin-token").fill(token)
    page.get_by_test_id("signin-submit").click()
    expect(page.get_by_test_id("user-name")).to_contain_text(name)


def test_admin_and_user_manage_accounts_and_tokens(server, page: Page) -> None:
    running, root_token = server
    url = running.url
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, url, root_token, "root")
    expect(page.get_by_test_id("nav-admin")).to_have_text("Admin")
    expect(page.get_by_test_id("users-empty")).to_have_count(0)  # root is listed
    expect(page.get_by_test_id("auth-off-note")).to_have_count(0)  # sign-in is on here
    page.get_by_test_id("user-add-name").fill("alice")
    page.get_by_test_id("user-add-groups").fill("lab, teaching")
    page.get_by_test_id("user-add").click()
    alice_row = page.locator('[data-testid="user-row"][data-name="alice"]')
    expect(alice_row).to_contain_text("lab, teaching")
    # a bad name: the server's error, nothing added
    page.get_by_test_id("user-add-name").fill("no good")
    page.get_by_test_id("user-add").click()
    expect(page.get_by_test_id("user-add-error")).to_contain_text("invalid_name")
    expect(page.get_by_test_id("user-row")).to_have_count(2)

    alice_row.get_by_test_id("user-token").click()
    expect(page.get_by_test_id("new-token")).to_contain_text("alice")
    alice_token = page.get_by_test_id("new-token-value").inner_text().strip()
    assert alice_token.startswith("bd_")
    page.get_by_test_id("new-token-done").click()
    expect(page.get_by_test_id("new-token")).to_have_count(0)  # shown once
    assert alice_token not in page.content()

    page.get_by_test_id("signout").click()
    sign_in(page, url, alice_token, "alice")
    expect(page.get_by_test_id("nav-admin")).to_have_text("Tokens")
    expect(page.get_by_test_id("users-card")).to_have_count(0)
    expect(page.get_by_test_id("token-row")).to_have_count(1)
    page.get_by_test_id("token-create").click()
    own = page.get_by_test_id("new-token-value").inner_text().strip()
    page.get_by_test_id("new-token-done").click()
    expect(page.get_by_test_id("token-row")).to_have_count(2)
    own_id = own.split("_")[1]
    own_row = page.locator(f'[data-testid="token-row"][data-id="{own_id}"]')
    own_row.get_by_test_id("token-revoke").click()
    expect(own_row.get_by_test_id("token-state")).to_contain_text("revoked")
    headers = {"Authorization": f"Bearer {own}"}
    assert httpx.get(f"{url}/api/tokens", headers=headers, timeout=10).status_code == 401

    page.get_by_test_id("signout").click()
    sign_in(page, url, root_token, "root")
    alice_row = page.locator('[data-testid="user-row"][data-name="alice"]')
    alice_row.get_by_test_id("user-disable").click()
    expect(alice_row.get_by_test_id("user-state")).to_have_text("disabled")
    headers = {"Authorization": f"Bearer {alice_token}"}
    assert httpx.get(f"{url}/api/tokens", headers=headers, timeout=10).status_code == 401
    page.reload()
    entries = page.get_by_test_id("audit-entry")
    expect(page.get_by_test_id("audit-empty")).to_have_count(0)
    expect(entries.first).to_contain_text("root changed user alice (disabled: true)")
    expect(page.get_by_test_id("audit-list")).to_contain_text("alice revoked a token of alice")
    expect(page.get_by_test_id("audit-list")).to_contain_text("root added user alice")
