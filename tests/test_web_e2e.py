"""The web page end to end: Debian's Chromium (driven by Playwright) against a real
`blastdeck serve` with real BLAST+, serving the built app from blastdeck/static.

The submit lock is the real Redis lock (embedded mode with BLASTDECK_REDIS_URL): holding its key
from the test makes a job wait at `waiting_for_submit_slot` for as long as the test needs, which
is how the timeline's in-between states (Stage DB skipped, Submit waiting) become observable.
"""

from __future__ import annotations

import re
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from playwright.sync_api import Browser, Page, expect, sync_playwright

from blastdeck.api.web import STATIC_DIR
from blastdeck.domain.pipeline_model import STEPS
from tests.conftest import Server, fasta, wait_for_job
from tests.test_auth import cli

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
]
REDIS_URL = "redis://127.0.0.1:6379/0"
STEP_KEYS = [step.value for step in STEPS]  # the literal contract is pinned in test_domain


@pytest.fixture(scope="module", autouse=True)
def built_app() -> None:
    if not (STATIC_DIR / "index.html").is_file():
        pytest.fail("the web app is not built: run `make web` (make test does it first)")
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: apt-get install chromium (make test does it)")


class LockedServer(Server):
    """A server whose submit lock lives in the real Redis under a prefix of its own."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir, None)
        self.lock_prefix = f"e2e-{uuid.uuid4().hex[:8]}"
        self.env.update(
            BLASTDECK_REDIS_URL=REDIS_URL,
            BLASTDECK_LOCK_PREFIX=self.lock_prefix,
            BLASTDECK_SUBMIT_BACKOFF_MAX_S="0.2",
        )
        self.redis = redis.Redis.from_url(REDIS_URL)

    @property
    def lock_key(self) -> str:
        return f"{self.lock_prefix}:local:default"

    def hold_submit_slot(self) -> None:
        assert self.redis.set(self.lock_key, "e2e-test:hold", nx=True, ex=120)

    def release_submit_slot(self) -> None:
        self.redis.delete(self.lock_key)

    def submit(self, query: str, **options) -> dict:
        body = {"program": "blastn", "database": "demo-16s", "query": query, "options": options}
        response = httpx.post(f"{self.url}/api/jobs", json=body, timeout=30)
        assert response.status_code == 202, response.text
        return response.json()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LockedServer]:
    running = LockedServer(tmp_path_factory.mktemp("e2e") / "data")
    running.start()
    yield running
    running.release_submit_slot()
    if running.proc and running.proc.poll() is None:
        running.kill(signal.SIGTERM)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(accept_downloads=True)
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    opened.on(
        "console",
        lambda msg: (
            problems.append(msg.text)
            if msg.type == "error" and "Content-Security-Policy" in msg.text
            else None
        ),
    )
    yield opened
    context.close()
    assert not problems, problems  # no script errors, nothing the CSP had to block


@pytest.fixture(scope="module")
def finished_job(server: LockedServer, demo_16s) -> dict:
    job = server.submit(fasta(demo_16s[:3]), evalue=1e-10, max_target_seqs=20)
    done = wait_for_job(server.job, job["id"])
    assert done["phase"] == "completed"
    return done


def badge(page: Page, step: str):
    return page.get_by_test_id(f"step-badge-{step}")


def test_search_form_runs_a_job_and_the_page_follows_it_to_the_hits(
    server: LockedServer, page: Page, demo_16s
) -> None:
    page.goto(f"{server.url}/search")
    page.get_by_test_id("program").select_option("blastn")
    page.get_by_test_id("query-input").fill(fasta(demo_16s[10:12]))
    page.get_by_test_id("database").select_option("demo-16s")
    page.get_by_test_id("opt-evalue").fill("1e-20")
    page.get_by_test_id("submit").click()

    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}"))
    job_id = re.search(r"/jobs/([0-9a-f-]{36})", page.url).group(1)
    expect(page.get_by_test_id("job-status")).to_have_text(
        re.compile("completed", re.I), timeout=60_000
    )
    # a job seen completing switches to its hits, once
    page.wait_for_url(re.compile(r"tab=hits"))
    expect(page.get_by_test_id("hits-table").locator("tbody tr").first).to_be_visible()
    job = server.job(job_id)
    assert job["options"] == {"evalue": 1e-20}
    rows = page.get_by_test_id("hits-table").locator("tbody tr").count()
    assert rows == min(50, job["hits_total"])

    page.get_by_test_id("tab-run").click()
    for key in STEP_KEYS:
        expect(page.get_by_test_id(f"step-{key}")).to_be_visible()
        expect(badge(page, key)).to_have_text(re.compile(r"^(completed|skipped)$"))
    expect(page.get_by_test_id("event-log")).to_contain_text("completed")
    page.get_by_test_id("config-preview").locator("summary").click()
    expect(page.get_by_test_id("config-text")).to_contain_text("-db demo-16s")
    expect(page.get_by_test_id("config-text")).to_contain_text("-evalue 1e-20")


def test_second_job_shows_stage_db_skipped_while_submit_waits(
    server: LockedServer, page: Page, finished_job: dict, demo_16s
) -> None:
    """The database copy is warm after the first job, so Stage DB is skipped; with the submit
    slot held, Submit shows waiting (for cluster local / namespace default) meanwhile."""
    server.hold_submit_slot()
    try:
        page.goto(f"{server.url}/search")
        page.get_by_test_id("program").select_option("blastn")
        page.get_by_test_id("query-input").fill(fasta(demo_16s[20:21]))
        page.get_by_test_id("database").select_option("demo-16s")
        page.get_by_test_id("submit").click()
        page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}"))

        expect(badge(page, "submitting")).to_have_text("waiting", timeout=30_000)
        expect(badge(page, "staging_db")).to_have_text("skipped")
        expect(page.get_by_test_id("step-staging_db")).to_contain_text("warm copy")  # the reason
        expect(page.get_by_test_id("step-submitting")).to_contain_text("local")
        expect(page.get_by_test_id("step-submitting")).to_contain_text("default")
        for later in ("running", "exporting_results", "completed"):
            expect(badge(page, later)).to_have_text("pending")
        expect(page.get_by_test_id("job-phase")).to_have_text("waiting_for_submit_slot")
    finally:
        server.release_submit_slot()
    expect(badge(page, "submitting")).to_have_text("completed", timeout=30_000)
    expect(page.get_by_test_id("job-status")).to_have_text(
        re.compile("completed", re.I), timeout=60_000
    )
    expect(badge(page, "staging_db")).to_have_text("skipped")


def test_downloads_tab_serves_the_tsv(server: LockedServer, page: Page, finished_job: dict) -> None:
    page.goto(f"{server.url}/jobs/{finished_job['id']}?tab=downloads")
    with page.expect_download() as download_info:
        page.get_by_test_id("download-tsv").click()
    downloaded = Path(download_info.value.path()).read_bytes()
    expected = httpx.get(
        f"{server.url}/api/jobs/{finished_job['id']}/download?format=tsv", timeout=30
    ).content
    assert downloaded == expected and downloaded.count(b"\n") > 1
    for fmt in ("csv", "json", "xml", "xml2", "text", "html", "tabular", "asn1"):
        expect(page.get_by_test_id(f"download-{fmt}")).to_be_visible()


def test_deep_links_survive_a_reload(server: LockedServer, page: Page, finished_job: dict) -> None:
    page.goto(f"{server.url}/jobs/{finished_job['id']}?tab=downloads")
    expect(page.get_by_test_id("download-tsv")).to_be_visible()
    page.reload()
    expect(page.get_by_test_id("download-tsv")).to_be_visible()
    page.goto(f"{server.url}/jobs/{finished_job['id']}?tab=run")
    expect(badge(page, "completed")).to_have_text("completed")


def test_hits_table_sorts_filters_and_pages(
    server: LockedServer, page: Page, finished_job: dict
) -> None:
    job_id = finished_job["id"]
    page.goto(f"{server.url}/jobs/{job_id}?tab=hits")
    table = page.get_by_test_id("hits-table")
    expect(table.locator("tbody tr").first).to_be_visible()
    assert table.locator("tbody tr").count() == min(50, finished_job["hits_total"])
    expect(page.get_by_test_id("hits-pager")).to_contain_text(str(finished_job["hits_total"]))

    strict = httpx.get(
        f"{server.url}/api/jobs/{job_id}/hits", params={"min_pident": 99, "limit": 1}, timeout=10
    ).json()["total"]
    assert 0 < strict < finished_job["hits_total"]
    page.get_by_test_id("filter-identity").fill("99")
    expect(table.locator("tbody tr")).to_have_count(min(50, strict), timeout=10_000)
    expect(page.get_by_test_id("hits-pager")).to_contain_text(str(strict))


def test_alignments_and_graphic_tabs_draw_the_hits(
    server: LockedServer, page: Page, finished_job: dict
) -> None:
    page.goto(f"{server.url}/jobs/{finished_job['id']}?tab=alignments")
    first = page.get_by_test_id("alignment").first
    expect(first).to_be_visible(timeout=60_000)  # the first request builds them (BLAST runs)
    expect(first).to_contain_text("Query")
    expect(first).to_contain_text("Sbjct")
    page.get_by_test_id("tab-graphic").click()
    graphic = page.locator("svg rect")
    expect(graphic.first).to_be_visible()
    assert graphic.count() >= 2


def test_jobs_list_filters_duplicates_and_deletes(
    server: LockedServer, page: Page, finished_job: dict
) -> None:
    page.goto(f"{server.url}/jobs")
    rows = page.get_by_test_id("job-row")
    expect(rows.first).to_be_visible()
    page.get_by_test_id("jobs-search").fill(finished_job["id"][:8])
    expect(rows).to_have_count(1, timeout=10_000)

    rows.first.get_by_test_id("duplicate-job").click()
    page.wait_for_url(re.compile(r"/search\?from="))
    expect(page.get_by_test_id("database")).to_have_value("demo-16s")
    expect(page.get_by_test_id("query-input")).to_have_value(re.compile(r"^>"), timeout=10_000)
    expect(page.get_by_test_id("opt-evalue")).to_have_value("1e-10")

    # delete a finished job of its own, so other tests keep theirs
    doomed = server.submit(">gone\n" + "ACGT" * 30)
    wait_for_job(server.job, doomed["id"])
    page.goto(f"{server.url}/jobs")
    page.get_by_test_id("jobs-search").fill(doomed["id"][:8])
    expect(rows).to_have_count(1, timeout=10_000)
    page.once("dialog", lambda dialog: dialog.accept())
    rows.first.get_by_test_id("delete-job").click()
    expect(rows).to_have_count(0, timeout=10_000)
    gone = httpx.get(f"{server.url}/api/jobs/{doomed['id']}", timeout=10)
    assert gone.status_code == 404


def test_cancel_from_the_job_page(server: LockedServer, page: Page, demo_16s) -> None:
    server.hold_submit_slot()
    try:
        job = server.submit(fasta(demo_16s[30:31]))
        page.goto(f"{server.url}/jobs/{job['id']}")
        expect(badge(page, "submitting")).to_have_text("waiting", timeout=30_000)
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_test_id("cancel-job").click()
        expect(page.get_by_test_id("job-status")).to_have_text(
            re.compile("cancelled", re.I), timeout=30_000
        )
        assert page.locator("[data-testid^=step-] .spinner").count() == 0
    finally:
        server.release_submit_slot()
    assert server.job(job["id"])["phase"] == "cancelled"


def test_unknown_job_shows_not_found(server: LockedServer, page: Page) -> None:
    page.goto(f"{server.url}/jobs/{uuid.uuid4()}")
    expect(page.get_by_test_id("not-found")).to_be_visible()


def test_invalid_query_is_caught_on_the_form(server: LockedServer, page: Page) -> None:
    page.goto(f"{server.url}/search")
    page.get_by_test_id("program").select_option("blastn")
    page.get_by_test_id("query-input").fill(">p\nMKWVTFISLLFLFSSAYSRGVFRRDTHKSEIAHRFKDLGEE")
    page.get_by_test_id("database").select_option("demo-16s")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("error-query")).to_be_visible()
    assert "/search" in page.url


def test_server_errors_show_next_to_their_field(server: LockedServer, page: Page) -> None:
    page.goto(f"{server.url}/search")
    page.get_by_test_id("program").select_option("blastn")
    page.get_by_test_id("query-input").fill(">q\n" + "ACGTTGCA" * 20)
    page.get_by_test_id("database").select_option("demo-16s")
    page.get_by_test_id("namespace").fill("bad namespace!")
    page.get_by_test_id("submit").click()
    error = page.get_by_test_id("error-namespace")
    expect(error).to_be_visible()
    expect(error).to_contain_text("invalid_namespace")
    assert "/search" in page.url


def test_live_updates_pause_when_the_server_is_down_and_recover(
    tmp_path: Path, page: Page, demo_16s
) -> None:
    own = LockedServer(tmp_path / "data")
    own.start()
    try:
        own.hold_submit_slot()
        job = own.submit(fasta(demo_16s[:1]))
        page.goto(f"{own.url}/jobs/{job['id']}")
        expect(badge(page, "submitting")).to_have_text("waiting", timeout=30_000)
        expect(page.get_by_test_id("live-paused")).to_have_count(0)

        own.kill(signal.SIGKILL)
        expect(page.get_by_test_id("live-paused")).to_be_visible(timeout=15_000)
        expect(badge(page, "submitting")).to_have_text("waiting")  # last known state stays

        own.start()
        own.release_submit_slot()
        expect(page.get_by_test_id("live-paused")).to_have_count(0, timeout=20_000)
        expect(page.get_by_test_id("job-status")).to_have_text(
            re.compile("completed", re.I), timeout=60_000
        )
    finally:
        own.release_submit_slot()
        if own.proc and own.proc.poll() is None:
            own.kill(signal.SIGTERM)


def test_sign_in_with_a_token_then_act_with_the_session_cookie(
    tmp_path: Path, page: Page, demo_16s
) -> None:
    """Auth on: the page asks for a token, the server keeps it in an HttpOnly, SameSite=Strict
    cookie (never in page storage), and state-changing requests carry the CSRF header."""
    data = tmp_path / "data"
    assert cli(data, "user", "add", "erin").returncode == 0
    token = cli(data, "token", "create", "erin").stdout.decode().strip()
    own = LockedServer(data)
    own.env["BLASTDECK_AUTH"] = "on"
    own.start()
    try:
        page.goto(f"{own.url}/jobs")
        expect(page.get_by_test_id("signin")).to_be_visible()
        page.get_by_test_id("signin-token").fill("bd_000000000000_wrong")
        page.get_by_test_id("signin-submit").click()
        expect(page.get_by_test_id("signin-error")).to_contain_text("unauthorized")

        page.get_by_test_id("signin-token").fill(token)
        page.get_by_test_id("signin-submit").click()
        expect(page.get_by_test_id("user-name")).to_contain_text("erin")
        cookies = {c["name"]: c for c in page.context.cookies()}
        session = cookies["blastdeck_session"]
        assert session["httpOnly"] and session["sameSite"] == "Strict"
        assert not cookies["blastdeck_csrf"]["httpOnly"]
        stored = page.evaluate("JSON.stringify(localStorage) + JSON.stringify(sessionStorage)")
        assert token not in stored

        # a submit from the form (POST with the cookie) needs and gets the CSRF header
        page.goto(f"{own.url}/search")
        page.get_by_test_id("program").select_option("blastn")
        page.get_by_test_id("query-input").fill(fasta(demo_16s[40:41]))
        page.get_by_test_id("database").select_option("demo-16s")
        page.get_by_test_id("submit").click()
        page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}"))
        expect(page.get_by_test_id("job-status")).to_have_text(
            re.compile("completed", re.I), timeout=60_000
        )

        page.get_by_test_id("signout").click()
        expect(page.get_by_test_id("signin")).to_be_visible()
    finally:
        if own.proc and own.proc.poll() is None:
            own.kill(signal.SIGTERM)
