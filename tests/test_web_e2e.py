"""The web page end to end: Debian's Chromium (driven by Playwright) against a real
`blastdeck serve` with real BLAST+, serving the built app from blastdeck/static.

The submit lock is the real Redis lock (embedded mode with BLASTDECK_REDIS_URL): holding its key
from the test makes a job wait at `waiting_for_submit_slot` for as long as the test needs, which
is how the timeline's in-between states (Stage DB skipped, Submit waiting) become observable.
"""

from __future__ import annotations

import re
import shutil
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from playwright.sync_api import Browser, Page, expect, sync_playwright

from blastdeck.api.web import STATIC_DIR
from blastdeck.domain.pipeline_model import STEPS
from blastdeck.taxonomy import Taxonomy
from blastdeck.taxonomy.shared import user_cache_dir
from tests.conftest import SLOW_OPTIONS, Server, fasta, wait_for_job
from tests.support.taxdb import build_demo_taxdb
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

    def submit(self, query: str, cluster: str | None = None, **options) -> dict:
        body = {"program": "blastn", "database": "demo-16s", "query": query, "options": options}
        if cluster:
            body["cluster"] = cluster
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


# What the Hits tab shows of a partial table, read at one instant: [batches done, batches in
# all, hits in the table, hit rows on the page], or null once the table is complete.
PARTIAL_VIEW = """() => {
  const note = document.querySelector('[data-testid="hits-partial"]');
  const summary = document.querySelector('[data-testid="hits-summary"]');
  if (!note || !summary) return null;
  return [Number(note.dataset.batchesDone), Number(note.dataset.batchesTotal),
          Number(summary.dataset.total),
          document.querySelectorAll('[data-testid="hit-row"]').length];
}"""


def hit_rows(page: Page):
    return page.get_by_test_id("hits-table").get_by_test_id("hit-row")


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
    expect(hit_rows(page).first).to_be_visible()
    job = server.job(job_id)
    assert job["options"] == {"evalue": 1e-20}
    assert hit_rows(page).count() == min(50, job["hits_total"])
    # the header says "completed" once: the phase is shown only while it says more
    expect(page.get_by_test_id("job-phase")).to_be_hidden()
    letters = f"{job['query_letters']:,}"
    expect(page.get_by_test_id("job-queries")).to_have_text(f"2 queries ({letters} letters)")

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
    for fmt in ("csv", "ext", "json", "xml", "xml2", "text", "html", "tabular", "asn1"):
        expect(page.get_by_test_id(f"download-{fmt}")).to_be_visible()
    with page.expect_download() as download_info:  # Galaxy's 25 columns, made by blast_formatter
        page.get_by_test_id("download-ext").click()
    extended = Path(download_info.value.path()).read_bytes()
    assert extended.split(b"\n", 1)[0].split(b"\t")[-1] == b"salltitles"
    assert len(extended.splitlines()) == len(downloaded.splitlines())


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
    hits_total = finished_job["hits_total"]
    page.goto(f"{server.url}/jobs/{job_id}?tab=hits")
    rows = hit_rows(page)
    expect(rows.first).to_be_visible()
    assert rows.count() == min(50, hits_total)
    # the tab counts hits (query-subject pairs), not HSPs
    expect(page.get_by_test_id("hits-count")).to_have_text(f"{hits_total:,}")
    expect(page.get_by_test_id("hits-pager")).to_contain_text(f"of {hits_total:,} hits")
    expect(page.get_by_test_id("hits-partial")).to_have_count(0)

    # the API's default order (BLAST's ranking), row for row
    ranked = httpx.get(f"{server.url}/api/jobs/{job_id}/hits", params={"limit": 50}).json()
    shown = [
        (int(r.get_attribute("data-query-index")), r.get_attribute("data-subject"))
        for r in rows.all()
    ]
    assert shown == [(h["query_index"], h["subject_id"]) for h in ranked["items"]]

    # sorted by max score, high first
    page.get_by_test_id("sort-max_score").click()
    by_score = httpx.get(
        f"{server.url}/api/jobs/{job_id}/hits",
        params={"sort": "max_score", "order": "desc", "limit": 1},
    ).json()["items"][0]
    expect(rows.first).to_have_attribute("data-subject", by_score["subject_id"], timeout=10_000)
    page.get_by_test_id("sort-evalue").click()

    strict = httpx.get(
        f"{server.url}/api/jobs/{job_id}/hits", params={"min_pident": 99, "limit": 1}, timeout=10
    ).json()["total"]
    assert 0 < strict < hits_total
    page.get_by_test_id("filter-identity").fill("99")
    expect(rows).to_have_count(min(50, strict), timeout=10_000)
    expect(page.get_by_test_id("hits-pager")).to_contain_text(f"of {strict:,} hit")


def test_a_hit_shows_its_hsp_count_and_opens_to_its_hsps(
    server: LockedServer, page: Page, finished_job: dict
) -> None:
    job_id = finished_job["id"]
    assert finished_job["hsps_total"] >= finished_job["hits_total"]
    # the hit with the most HSPs, so the expanded table has more than one row when BLAST has one
    hits = httpx.get(f"{server.url}/api/jobs/{job_id}/hits", params={"limit": 1000}).json()
    most = max(hits["items"], key=lambda h: h["hsps"])
    page.goto(f"{server.url}/jobs/{job_id}?tab=hits")
    page.get_by_test_id("filter-query").select_option(str(most["query_index"]))
    row = page.locator(
        f'[data-testid="hit-row"][data-query-index="{most["query_index"]}"]'
        f'[data-subject="{most["subject_id"]}"]'
    )
    expect(row).to_be_visible(timeout=10_000)
    expect(row.get_by_test_id("hit-hsp-count")).to_have_text(str(most["hsps"]))
    row.click()  # one click opens it
    detail = page.get_by_test_id("hit-hsps-row")
    expect(detail.get_by_test_id("hsp-row")).to_have_count(most["hsps"], timeout=10_000)
    hsps = httpx.get(
        f"{server.url}/api/jobs/{job_id}/hsps",
        params={"query_index": most["query_index"], "limit": 1000},
    ).json()["items"]
    own = [h for h in hsps if h["subject_id"] == most["subject_id"]]
    assert len(own) == most["hsps"]
    expect(detail).to_contain_text(f"{most['hsps']} HSP")
    for hsp in own:
        expect(detail).to_contain_text(f"{hsp['qstart']:,}\u2013{hsp['qend']:,}")
    row.get_by_test_id("hit-expand").click()  # and closes it
    expect(page.get_by_test_id("hit-hsps-row")).to_have_count(0)


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
    expect(rows.first.get_by_test_id("job-row-queries")).to_have_text("3")
    expect(rows.first.get_by_test_id("job-row-hits")).to_have_text(
        f"{finished_job['hits_total']:,}"
    )

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


def test_cancel_from_the_job_page_asks_first_and_shows_the_step_cancelled(
    server: LockedServer, page: Page, demo_16s
) -> None:
    server.hold_submit_slot()
    try:
        job = server.submit(fasta(demo_16s[30:31]))
        page.goto(f"{server.url}/jobs/{job['id']}")
        expect(badge(page, "submitting")).to_have_text("waiting", timeout=30_000)
        asked: list[str] = []

        def answer(accept: bool):
            def handle(dialog) -> None:
                asked.append(dialog.message)
                dialog.accept() if accept else dialog.dismiss()

            return handle

        page.once("dialog", answer(False))
        page.get_by_test_id("cancel-job").click()
        expect(badge(page, "submitting")).to_have_text("waiting")
        assert asked and job["id"][:8] in asked[0] and asked[0].startswith("Cancel")
        assert server.job(job["id"])["status"] == "running"  # a "no" cancels nothing

        page.once("dialog", answer(True))
        page.get_by_test_id("cancel-job").click()
        expect(page.get_by_test_id("job-status")).to_have_text(
            re.compile("cancelled", re.I), timeout=30_000
        )
        # the step the cancel stopped says so, with its own badge: not failed, not pending
        expect(badge(page, "submitting")).to_have_text("cancelled")
        expect(page.get_by_test_id("step-submitting")).to_have_attribute("data-state", "cancelled")
        assert page.locator('[data-testid^="step-"][data-state="failed"]').count() == 0
        assert page.locator("[data-testid^=step-] .spinner").count() == 0
        expect(page.get_by_test_id("job-phase")).to_be_hidden()  # "cancelled" once
        expect(page.get_by_test_id("tab-hits")).to_be_disabled()
    finally:
        server.release_submit_slot()
    done = server.job(job["id"])
    assert done["phase"] == "cancelled"
    assert [s["key"] for s in done["steps"] if s["status"] == "cancelled"] == ["submitting"]


def test_cancel_from_the_jobs_list_asks_first(server: LockedServer, page: Page, demo_16s) -> None:
    server.hold_submit_slot()
    try:
        job = server.submit(fasta(demo_16s[31:32]))
        page.goto(f"{server.url}/jobs")
        page.get_by_test_id("jobs-search").fill(job["id"][:8])
        rows = page.get_by_test_id("job-row")
        expect(rows).to_have_count(1, timeout=10_000)
        page.once("dialog", lambda dialog: dialog.dismiss())
        rows.first.get_by_test_id("cancel-job").click()
        expect(rows.first.get_by_test_id("cancel-job")).to_be_visible()
        assert server.job(job["id"])["status"] == "running"
        messages: list[str] = []
        page.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.accept()))
        rows.first.get_by_test_id("cancel-job").click()
        expect(rows.first).to_have_attribute("data-status", "cancelled", timeout=30_000)
        assert messages and job["id"][:8] in messages[0]
    finally:
        server.release_submit_slot()


def test_unknown_job_shows_not_found(server: LockedServer, page: Page) -> None:
    page.goto(f"{server.url}/jobs/{uuid.uuid4()}")
    expect(page.get_by_test_id("not-found")).to_be_visible()


def test_the_admin_page_says_sign_in_is_off(server: LockedServer, page: Page) -> None:
    """With auth off (this server's default), the Admin page says so, and what it lists
    that is empty says it is empty rather than showing a bare table."""
    page.goto(f"{server.url}/admin")
    expect(page.get_by_test_id("auth-off-note")).to_contain_text("Sign-in is off")
    expect(page.get_by_test_id("users-empty")).to_be_visible()
    if httpx.get(f"{server.url}/api/audit").json()["total"] == 0:  # the module's order aside
        expect(page.get_by_test_id("audit-empty")).to_be_visible()
    else:
        expect(page.get_by_test_id("audit-entry").first).to_be_visible()


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


def test_an_accession_in_the_query_box_is_read_from_the_database(
    server: LockedServer, page: Page, demo_16s
) -> None:
    """The form lets sequence ids through to the server (its own check mirrors the server's
    rule), which reads them from its databases or names the ones it cannot find."""
    accession = demo_16s[4][0].split()[0]
    page.goto(f"{server.url}/search")
    page.get_by_test_id("program").select_option("blastn")
    page.get_by_test_id("query-input").fill("NOPE12345")
    page.get_by_test_id("database").select_option("demo-16s")
    page.get_by_test_id("submit").click()
    error = page.get_by_test_id("error-query")
    expect(error).to_contain_text("query_id_not_found")
    expect(error).to_contain_text("NOPE12345 is in none of the nucleotide databases")
    assert "/search" in page.url

    page.get_by_test_id("query-input").fill(accession)
    page.get_by_test_id("submit").click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}"))
    job = server.job(re.search(r"/jobs/([0-9a-f-]{36})", page.url).group(1))
    assert job["query_count"] == 1 and job["title"].startswith(f"{accession} ")


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
    assert cli(data, "user", "add", "root", "--admin").returncode == 0
    token = cli(data, "token", "create", "erin").stdout.decode().strip()
    admin_token = cli(data, "token", "create", "root").stdout.decode().strip()
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

        page.goto(f"{own.url}/jobs")
        expect(page.get_by_test_id("job-row")).to_have_count(1)
        expect(page.get_by_test_id("job-row-owner")).to_have_count(0)  # users see their own

        page.get_by_test_id("signout").click()
        expect(page.get_by_test_id("signin")).to_be_visible()
        page.get_by_test_id("signin-token").fill(admin_token)
        page.get_by_test_id("signin-submit").click()
        expect(page.get_by_test_id("user-name")).to_contain_text("root")
        page.goto(f"{own.url}/jobs")
        expect(page.get_by_test_id("job-row-owner")).to_have_text(["erin"])  # admins see whose
    finally:
        if own.proc and own.proc.poll() is None:
            own.kill(signal.SIGTERM)


def test_queries_with_the_same_id_are_two_entries_everywhere(
    server: LockedServer, page: Page, demo_16s
) -> None:
    """Queries are addressed by their place: two queries named `same` are #1 and #2 in every
    query picker, and Alignments and Graphic show the one picked."""
    (_, first), (_, second) = demo_16s[50], demo_16s[120]
    job = server.submit(f">same first\n{first}\n>same second\n{second}\n", max_target_seqs=5)
    done = wait_for_job(server.job, job["id"])
    assert done["phase"] == "completed"
    queries = httpx.get(f"{server.url}/api/jobs/{job['id']}/queries").json()["items"]
    assert [q["query_id"] for q in queries] == ["same", "same"]

    def option_texts(test_id: str) -> list[str]:
        select = page.get_by_test_id(test_id)
        expect(select.locator("option[value='1']")).to_have_count(1, timeout=10_000)
        return [t.strip() for t in select.locator("option").all_inner_texts()]

    page.goto(f"{server.url}/jobs/{job['id']}?tab=hits")
    expected = [
        f"#{q['query_index'] + 1} same \u2014 {q['qlen']:,} bp, "
        + (f"{q['hits']} hits" if q["hits"] != 1 else "1 hit")
        for q in queries
    ]
    assert option_texts("filter-query") == ["All queries", *expected]
    page.get_by_test_id("filter-query").select_option("1")
    rows = hit_rows(page)
    expect(rows.first).to_have_attribute("data-query-index", "1", timeout=10_000)
    assert {r.get_attribute("data-query-index") for r in rows.all()} == {"1"}

    second_alignments = httpx.get(
        f"{server.url}/api/jobs/{job['id']}/alignments", params={"query_index": 1}, timeout=120
    ).json()["items"]
    first_alignments = httpx.get(
        f"{server.url}/api/jobs/{job['id']}/alignments", params={"query_index": 0}, timeout=120
    ).json()["items"]
    page.get_by_test_id("tab-alignments").click()
    assert option_texts("alignment-query") == expected
    alignments = page.get_by_test_id("alignment")
    expect(alignments.first).to_contain_text(first_alignments[0]["subject_id"], timeout=60_000)
    page.get_by_test_id("alignment-query").select_option("1")
    expect(alignments.first).to_contain_text(second_alignments[0]["subject_id"], timeout=30_000)
    expect(alignments).to_have_count(min(20, len(second_alignments)))

    page.get_by_test_id("tab-graphic").click()
    assert option_texts("graphic-query") == expected
    page.get_by_test_id("graphic-query").select_option("1")
    subjects = {a["subject_id"] for a in second_alignments}
    graphic_rows = page.get_by_test_id("graphic-row")
    expect(graphic_rows).to_have_count(min(100, len(subjects)), timeout=10_000)
    assert {r.get_attribute("data-subject") for r in graphic_rows.all()} == subjects
    expect(page.get_by_test_id("graphic-caption")).to_contain_text("#2 same")


def test_hits_of_a_running_job_are_shown_partial_then_complete(
    server: LockedServer, page: Page, demo_16s
) -> None:
    """Issue 16: while BLAST runs, the Hits tab is open and shows the batches finished so far,
    says so, and fills in as batches finish; once completed it is the full table, without a
    reload. One slot runs the batches one after another (12 queries of ~1,500 letters in
    batches of 4,000 letters: the cluster's batch_letters, since 12 queries are one blastn query
    batch), so the job is seen half done."""
    cluster = {"name": "serial", "engine": "local", "slots": 1}
    added = httpx.post(
        f"{server.url}/api/clusters", json={**cluster, "settings": {"batch_letters": "4000"}}
    )
    assert added.status_code in (200, 201), added.text
    job = server.submit(fasta(demo_16s[:12]), cluster="serial", **SLOW_OPTIONS)
    page.goto(f"{server.url}/jobs/{job['id']}?tab=hits")

    # the tab opens as soon as the job runs, and says its table is partial
    note = page.get_by_test_id("hits-partial")
    expect(note).to_contain_text("batches done; more hits will appear", timeout=60_000)
    expect(page.get_by_test_id("tab-hits")).to_be_enabled()
    # the Run tab meanwhile: the time BLAST has run, and what it can say of the time left
    page.get_by_test_id("tab-run").click()
    expect(page.get_by_test_id("run-elapsed")).to_contain_text("BLAST Run:", timeout=60_000)
    expect(page.get_by_test_id("time-left")).to_contain_text("Time left")
    page.get_by_test_id("tab-hits").click()

    # watch the page (no reload) until the job has completed: hits from finished batches while
    # it runs, each labelled with the batches done, then the whole table
    partial_views: list[tuple[int, int, int, int]] = []  # batches done, of, hits in all, rows
    deadline = time.monotonic() + 300
    while server.job(job["id"])["phase"] not in ("completed", "failed", "cancelled"):
        assert time.monotonic() < deadline, "the job did not finish in 300 s"
        view = page.evaluate(PARTIAL_VIEW)
        if view is not None:
            partial_views.append(tuple(view))
        time.sleep(0.2)
    done = server.job(job["id"])
    assert done["phase"] == "completed"
    with_hits = [v for v in partial_views if v[3] > 0 and 0 < v[0] < v[1]]
    assert with_hits, f"no partial table with hits was seen: {partial_views[-5:]}"
    assert all(v[1] == 4 for v in with_hits), with_hits[:5]
    assert with_hits[0][2] < done["hits_total"]  # later batches added hits

    expect(note).to_have_count(0, timeout=30_000)
    expect(page.get_by_test_id("hits-count")).to_have_text(f"{done['hits_total']:,}")
    expect(page.get_by_test_id("hits-pager")).to_contain_text(f"of {done['hits_total']:,} hits")
    assert hit_rows(page).count() == min(50, done["hits_total"])


def test_a_database_without_its_files_is_listed_but_disabled(
    server: LockedServer, page: Page, demo_16s
) -> None:
    added = httpx.post(
        f"{server.url}/api/databases",
        data={"name": "e2e-gone"},
        files={"file": ("x.fa", fasta(demo_16s[:3]).encode(), "application/octet-stream")},
        timeout=60,
    )
    assert added.status_code == 201, added.text
    prefix = Path(added.json()["path"])
    moved = prefix.parent.with_name(prefix.parent.name + "-moved")
    shutil.move(prefix.parent, moved)
    try:
        page.goto(f"{server.url}/search")
        page.get_by_test_id("program").select_option("blastn")
        gone = page.get_by_test_id("database").locator("option[value='e2e-gone']")
        expect(gone).to_be_disabled(timeout=10_000)
        expect(gone).to_contain_text("unavailable:")
        expect(page.get_by_test_id("database")).to_have_value("demo-16s")  # a searchable one
    finally:
        shutil.move(moved, prefix.parent)


def test_query_loc_takes_a_checked_range(server: LockedServer, page: Page) -> None:
    page.goto(f"{server.url}/search")
    page.get_by_test_id("program").select_option("blastn")
    page.get_by_test_id("query-input").fill(">q\n" + "ACGTTGCA" * 20)
    page.get_by_test_id("database").select_option("demo-16s")
    page.get_by_test_id("advanced").locator("summary").click()
    page.get_by_test_id("opt-query_loc").fill("120-20")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("error-opt-query_loc")).to_contain_text("START must be below STOP")
    assert "/search" in page.url
    page.get_by_test_id("opt-query_loc").fill("20-120")
    page.get_by_test_id("submit").click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}"))
    job_id = re.search(r"/jobs/([0-9a-f-]{36})", page.url).group(1)
    assert server.job(job_id)["options"] == {"query_loc": "20-120"}


def test_taxonomy_tab_opens_the_hits_of_an_organism(
    server: LockedServer, page: Page, tmp_path: Path
) -> None:
    """A job on a database with taxids (the demo 16S genes, makeblastdb -taxid_map): the hit
    table names each organism and sorts by it; the Taxonomy tab draws the tree and the
    organism table, rolls up to a rank, and a click opens the hits of that organism."""
    taxonomy = Taxonomy(user_cache_dir())  # the index the server opened at its start
    db = build_demo_taxdb(taxonomy, tmp_path)
    added = httpx.post(
        f"{server.url}/api/databases", json={"name": "taxdemo-e2e", "path": str(db["path"])}
    )
    assert added.status_code in (200, 201), added.text
    queries = [(f"q{i}", seq) for i, (_, seq) in enumerate(db["records"][:40:10])]
    body = {"program": "blastn", "database": "taxdemo-e2e", "query": fasta(queries),
            "options": {"evalue": 1e-10, "max_target_seqs": 50}}  # fmt: skip
    job = httpx.post(f"{server.url}/api/jobs", json=body, timeout=30).json()
    assert wait_for_job(server.job, job["id"])["phase"] == "completed"
    api = f"{server.url}/api/jobs/{job['id']}"

    page.goto(f"{server.url}/jobs/{job['id']}?tab=hits")
    by_name = httpx.get(f"{api}/hits", params={"sort": "organism", "limit": 1}).json()
    page.get_by_test_id("sort-organism").click()
    first = hit_rows(page).first.get_by_test_id("hit-organism")
    expect(first).to_have_text(by_name["items"][0]["scientific_name"], timeout=10_000)

    page.get_by_test_id("tab-taxonomy").click()
    report = httpx.get(f"{api}/taxonomy").json()
    organisms = page.get_by_test_id("taxonomy-organism")
    expect(organisms).to_have_count(len(report["organisms"]), timeout=20_000)
    expect(page.get_by_test_id("taxonomy-node")).to_have_count(len(report["tree"]))
    expect(page.get_by_test_id("taxonomy-summary")).to_have_attribute(
        "data-hits", str(report["hits"])
    )
    genera = httpx.get(f"{api}/taxonomy", params={"rank": "genus"}).json()
    page.get_by_test_id("taxonomy-rank").select_option("genus")
    expect(organisms).to_have_count(len(genera["organisms"]), timeout=10_000)
    page.get_by_test_id("taxonomy-rank").select_option("")

    chosen = next(o for o in report["organisms"] if o["taxid"])
    expected = httpx.get(f"{api}/hits", params={"taxid": chosen["taxid"], "limit": 1}).json()
    page.locator(f'[data-testid="taxonomy-organism"][data-taxid="{chosen["taxid"]}"]').click()
    expect(page).to_have_url(re.compile(rf"tab=hits.*taxid={chosen['taxid']}"))
    expect(page.get_by_test_id("filter-taxon")).to_contain_text(chosen["scientific_name"])
    summary = page.get_by_test_id("hits-summary")
    expect(summary).to_have_attribute("data-total", str(expected["total"]), timeout=10_000)
    expect(hit_rows(page)).to_have_count(min(50, expected["total"]))
    page.get_by_test_id("filter-taxon-clear").click()
    expect(summary).to_have_attribute("data-total", str(report["hits"]), timeout=10_000)

    # The alignments name the subject's organism too.
    aligned = httpx.get(f"{api}/alignments", params={"query_index": 0, "limit": 1}).json()
    page.get_by_test_id("tab-alignments").click()
    expect(page.get_by_test_id("alignment-organism").first).to_contain_text(
        aligned["items"][0]["scientific_name"], timeout=10_000
    )


def test_usage_page_draws_the_period_and_an_empty_one(
    server: LockedServer, page: Page, finished_job: dict
) -> None:
    usage = httpx.get(f"{server.url}/api/usage").json()
    page.goto(f"{server.url}/search")
    page.get_by_test_id("nav-usage").click()
    expect(page.get_by_test_id("usage-jobs")).to_have_text(str(usage["jobs"]))
    expect(page.get_by_test_id("usage-days-chart").locator("canvas")).to_be_visible()
    row = page.locator('[data-testid="usage-databases-row"][data-name="demo-16s"]')
    expect(row).to_be_visible()
    timing = page.locator('[data-testid="usage-timings-row"][data-cluster="local"]').first
    expect(timing).to_contain_text(" / ")
    page.get_by_test_id("usage-from").fill("2020-01-01")
    page.get_by_test_id("usage-to").fill("2020-01-31")
    page.get_by_test_id("usage-apply").click()
    expect(page.get_by_test_id("usage-empty")).to_be_visible()
    expect(page.get_by_test_id("usage-jobs")).to_have_text("0")
