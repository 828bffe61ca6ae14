"""Share links and hit sequences in the web page end to end (issue 15): Chromium via Playwright
against a real `blastdeck serve` with auth on and real BLAST+. The owner signs in, makes a link
on the job page, copies it and revokes it; a fresh browser with no session opens the link and
sees the job's run summary and result tabs read-only, ticks hits and downloads their FASTA,
which equals what `blastdbcmd` prints; a forged, revoked or expired link, or a link followed by
another job's address, shows the invalid-link page."""

# ruff: noqa: F811  (pytest injects the imported `browser` and `page` fixtures by argument name)

from __future__ import annotations

import functools
import re
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import fasta, wait_for_job
from tests.test_auth import cli

# The page fixtures of the main e2e module (its checks on page errors and CSP reports too).
from tests.test_web_e2e import LockedServer, badge, browser, page  # noqa: F401


class AuthServer(LockedServer):
    """A server with auth on, the tokens of its two users, and its submit lock in Redis."""

    tokens: dict[str, str]

    def headers(self, user: str = "alice") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def get(self, path: str, user: str = "alice", **params) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", headers=self.headers(user), params=params, timeout=30)

    def share(self, job_id: str, **body) -> dict:
        response = httpx.post(
            f"{self.url}/api/jobs/{job_id}/shares", headers=self.headers(), json=body, timeout=10
        )
        assert response.status_code == 201, response.text
        return response.json()

    @property
    def database(self) -> Path:
        return self.data_dir / "databases" / "demo-16s" / "demo-16s"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_16s) -> Iterator[dict]:
    data = tmp_path_factory.mktemp("e2e-share") / "data"
    tokens = {}
    for name in ("alice", "bob"):
        assert cli(data, "user", "add", name).returncode == 0
        tokens[name] = cli(data, "token", "create", name).stdout.decode().strip()
    running = AuthServer(data)
    running.tokens = tokens
    running.env["BLASTDECK_AUTH"] = "on"
    running.start()
    jobs = {}
    for user, records in (("alice", demo_16s[:3]), ("bob", demo_16s[10:11])):
        body = {"program": "blastn", "database": "demo-16s", "query": fasta(records),
                "options": {"evalue": 1e-10, "max_target_seqs": 15}}  # fmt: skip
        made = httpx.post(
            f"{running.url}/api/jobs", json=body, headers=running.headers(user), timeout=30
        )
        assert made.status_code == 202, made.text
        job_id = made.json()["id"]
        done = wait_for_job(lambda i, u=user: running.get(f"/api/jobs/{i}", u).json(), job_id)
        assert done["phase"] == "completed" and 3 < done["hits_total"] <= 50, done  # one page
        jobs[user] = done
    yield {"server": running, "jobs": jobs}
    running.release_submit_slot()
    running.kill()


@pytest.fixture
def owner(browser: Browser, server: dict) -> Iterator[Page]:
    """Alice, signed in through the page, in a browser context of her own."""
    own = server["server"]
    context = browser.new_context(accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=own.url)
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
    opened.goto(f"{own.url}/jobs/{server['jobs']['alice']['id']}")
    opened.get_by_test_id("signin-token").fill(own.tokens["alice"])
    opened.get_by_test_id("signin-submit").click()
    expect(opened.get_by_test_id("job-status")).to_have_text(re.compile("completed", re.I))
    yield opened
    context.close()
    assert not problems, problems


@functools.cache
def blastdbcmd(db: Path, entry: str, *extra: str) -> bytes:
    return subprocess.run(
        ["blastdbcmd", "-db", db, "-entry", entry, *extra], check=True, capture_output=True
    ).stdout


def expected_full(db: Path, hsps: list[dict], subjects: set[str] | None = None) -> bytes:
    """Each subject once, whole, in the job's order (query order, BLAST's order within one)."""
    chosen = [h["subject_id"] for h in hsps if subjects is None or h["subject_id"] in subjects]
    return b"".join(blastdbcmd(db, s) for s in dict.fromkeys(chosen))


def expected_regions(db: Path, hsps: list[dict], subjects: set[str] | None = None) -> bytes:
    """Each distinct HSP region once, on its strand, in the job's order."""
    out, seen = [], set()
    for h in hsps:
        if subjects is not None and h["subject_id"] not in subjects:
            continue
        start, end = sorted((h["sstart"], h["send"]))
        strand = "minus" if h["sstart"] > h["send"] else "plus"
        if (h["subject_id"], start, end, strand) not in seen:
            seen.add((h["subject_id"], start, end, strand))
            out.append(
                blastdbcmd(db, h["subject_id"], "-range", f"{start}-{end}", "-strand", strand)
            )
    return b"".join(out)


def job_hsps(own: AuthServer, job_id: str, **params) -> list[dict]:
    response = own.get(f"/api/jobs/{job_id}/hsps", sort="query", limit=1000, **params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def download(page: Page, test_id: str) -> tuple[str, bytes]:
    with page.expect_download() as info:
        page.get_by_test_id(test_id).click()
    got = info.value
    return got.suggested_filename, Path(got.path()).read_bytes()


def make_link(owner: Page, days: str = "") -> str:
    owner.get_by_test_id("share-job").click()
    if days:
        owner.get_by_test_id("share-days").fill(days)
    owner.get_by_test_id("share-create").click()
    url = owner.get_by_test_id("share-url").input_value()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/shared/[A-Za-z0-9_-]{43}", url), url
    return url


def test_a_link_opens_the_job_read_only_without_signing_in(
    server: dict, owner: Page, page: Page
) -> None:
    own, job = server["server"], server["jobs"]["alice"]
    # the owner: a bad expiry is refused on the form, a good one makes a link to copy
    owner.get_by_test_id("share-job").click()
    owner.get_by_test_id("share-days").fill("0")
    owner.get_by_test_id("share-create").click()
    expect(owner.get_by_test_id("share-days-error")).to_contain_text("from 1 to 3650")
    owner.get_by_test_id("share-job").click()  # closed
    url = make_link(owner, "7")
    owner.get_by_test_id("share-copy").click()
    expect(owner.get_by_test_id("share-copied")).to_have_text("Copied.")
    assert owner.evaluate("navigator.clipboard.readText()") == url
    row = owner.get_by_test_id("share-row")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("share-state")).to_have_text("active")
    listed = own.get(f"/api/jobs/{job['id']}/shares").json()["items"]
    assert [s["id"] for s in listed] == [row.get_attribute("data-share-id")]
    assert listed[0]["expires_at"] is not None

    # a stranger: no session at all, auth on
    assert page.context.cookies() == []
    asked: list[str] = []
    page.on("request", lambda r: asked.append(urlsplit(r.url).path))
    page.goto(url)
    expect(page.get_by_test_id("shared-banner")).to_be_visible()
    expect(page.get_by_test_id("job-id")).to_have_text(job["id"])
    expect(page.get_by_test_id("job-status")).to_have_text(re.compile("completed", re.I))
    rows = page.get_by_test_id("hits-table").get_by_test_id("hit-row")
    expect(rows.first).to_be_visible()
    expect(page.get_by_test_id("hits-summary")).to_have_attribute(
        "data-total", str(job["hits_total"])
    )
    # read-only: no sign-in, no cancel, duplicate or share, no commands or event log
    for absent in ("signin", "cancel-job", "duplicate-job", "share-job", "share-panel"):
        expect(page.get_by_test_id(absent)).to_have_count(0)
    page.get_by_test_id("tab-run").click()
    expect(page.get_by_test_id("step-completed")).to_have_attribute("data-state", "completed")
    expect(page.get_by_test_id("event-log")).to_have_count(0)
    expect(page.get_by_test_id("config-preview")).to_have_count(0)
    # every result tab reads through the link
    page.get_by_test_id("tab-taxonomy").click()
    expect(page.get_by_test_id("taxonomy-summary")).to_be_visible()
    page.get_by_test_id("tab-alignments").click()
    expect(page.get_by_test_id("alignment").first).to_be_visible()
    page.get_by_test_id("tab-graphic").click()
    expect(page.get_by_test_id("graphic-svg")).to_be_visible()
    page.get_by_test_id("tab-downloads").click()
    assert page.get_by_test_id("download-tsv").get_attribute("href").startswith("/api/shared/")
    _, tsv = download(page, "download-tsv")
    assert tsv == own.get(f"/api/jobs/{job['id']}/download", format="tsv").content
    name, whole = download(page, "download-fasta")
    assert name.endswith(".fasta")
    assert whole == expected_full(own.database, job_hsps(own, job["id"]))
    assert page.context.cookies() == []  # still no session: the link alone opened all of it
    token = url.rsplit("/", 1)[1]
    api = [p for p in asked if p.startswith("/api/")]
    assert api and all(p.startswith(f"/api/shared/{token}") or p == "/api/session" for p in api)


def test_ticked_hits_download_as_blastdbcmd_prints_them(
    server: dict, owner: Page, page: Page
) -> None:
    own, job = server["server"], server["jobs"]["alice"]
    url = make_link(owner)
    page.goto(f"{url}?tab=hits")
    table = page.get_by_test_id("hits-table")
    rows = table.get_by_test_id("hit-row")
    expect(rows.first).to_be_visible()
    expect(page.get_by_test_id("fasta-selected")).to_be_disabled()
    expect(page.get_by_test_id("fasta-query")).to_be_disabled()

    # two hits of the first query on subjects other queries hit too: their subjects, whole,
    # then their HSP regions of that query only (not the other queries' regions on them)
    hsps0 = job_hsps(own, job["id"], query_index=0)
    others = {h["subject_id"] for h in job_hsps(own, job["id"]) if h["query_index"] != 0}
    both = [s for s in dict.fromkeys(h["subject_id"] for h in hsps0) if s in others]
    assert len(both) >= 2, both
    subjects = {both[0], both[1]}
    for subject in subjects:
        table.locator(
            f'[data-testid="hit-row"][data-query-index="0"][data-subject="{subject}"]'
        ).get_by_test_id("hit-select").check()
    expect(page.get_by_test_id("fasta-ticked")).to_have_text("2 hits ticked")
    _, got = download(page, "fasta-selected")
    assert got == expected_full(own.database, hsps0, subjects)
    page.get_by_test_id("fasta-region").select_option("hsp")
    _, got = download(page, "fasta-selected")
    assert got == expected_regions(own.database, hsps0, subjects)
    assert got != expected_regions(own.database, job_hsps(own, job["id"]), subjects)

    # every hit on the page (all the job's: one page), across queries, then none; the ticks
    # survive a change of sort
    page.get_by_test_id("hits-select-page").check()
    expect(table.locator('[data-testid="hit-select"]:checked')).to_have_count(rows.count())
    page.get_by_test_id("fasta-region").select_option("full")
    _, got = download(page, "fasta-selected")
    assert got == expected_full(own.database, job_hsps(own, job["id"]))  # the page is every hit
    page.get_by_test_id("sort-max_score").click()
    expect(table.locator('[data-testid="hit-select"]:checked')).to_have_count(rows.count())
    page.get_by_test_id("hits-select-page").uncheck()
    expect(page.get_by_test_id("fasta-selected")).to_be_disabled()

    # all hits of one query, and of the whole job, each region
    page.get_by_test_id("filter-query").select_option("1")
    expect(page.get_by_test_id("fasta-query")).to_contain_text("All hits of query #2")
    hsps1 = job_hsps(own, job["id"], query_index=1)
    _, got = download(page, "fasta-query")
    assert got == expected_full(own.database, hsps1)
    page.get_by_test_id("fasta-region").select_option("hsp")
    _, got = download(page, "fasta-query")
    assert got == expected_regions(own.database, hsps1)
    _, got = download(page, "fasta-job")
    assert got == expected_regions(own.database, job_hsps(own, job["id"]))

    # the owner's own page has the same controls, over /api/jobs
    owner.goto(f"{own.url}/jobs/{job['id']}?tab=hits")
    owner.get_by_test_id("hit-select").first.check()
    href = owner.get_by_test_id("fasta-selected").get_attribute("href")
    assert href.startswith(f"/api/jobs/{job['id']}/download?format=fasta&region=full&subjects=")


def test_forged_revoked_expired_and_misused_links_show_the_invalid_page(
    server: dict, owner: Page, page: Page
) -> None:
    own, job, bobs = server["server"], server["jobs"]["alice"], server["jobs"]["bob"]
    url = make_link(owner)
    share_id = owner.get_by_test_id("share-new").get_attribute("data-share-id")
    token = url.rsplit("/", 1)[1]
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (forged, "x", "A" * 129, f"{token}/{bobs['id']}", f"{token}/hits"):
        page.goto(f"{own.url}/shared/{bad}")
        expect(page.get_by_test_id("share-invalid")).to_contain_text("This link is not valid")
        expect(page.get_by_test_id("job-page")).to_have_count(0)
    # another job's own address is not opened by a link: it wants a sign-in
    page.goto(f"{own.url}/jobs/{bobs['id']}?share={token}")
    expect(page.get_by_test_id("signin")).to_be_visible()
    expect(page.get_by_test_id("job-page")).to_have_count(0)

    # revoked on the owner's page: the open page says so at its next read
    page.goto(url)
    expect(page.get_by_test_id("job-id")).to_have_text(job["id"])
    owner.once("dialog", lambda dialog: dialog.accept())
    row = owner.locator(f'[data-testid="share-row"][data-share-id="{share_id}"]')
    row.get_by_test_id("share-revoke").click()
    expect(row).to_have_attribute("data-state", "revoked")
    expect(row.get_by_test_id("share-revoke")).to_have_count(0)
    expect(owner.get_by_test_id("share-new")).to_have_count(0)
    page.get_by_test_id("tab-taxonomy").click()  # its first read since the revoke
    expect(page.get_by_test_id("share-invalid")).to_be_visible()
    page.reload()
    expect(page.get_by_test_id("share-invalid")).to_be_visible()

    # expired: works until its time, then is the same invalid page
    # (time enough for the first load on a busy machine; then wait for the expiry itself)
    soon = datetime.now(UTC) + timedelta(seconds=10)
    expiring = own.share(job["id"], expires_at=soon.isoformat())
    page.goto(expiring["url"])
    expect(page.get_by_test_id("job-id")).to_have_text(job["id"])
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.5)
    page.reload()
    expect(page.get_by_test_id("share-invalid")).to_be_visible()


def test_a_running_job_is_followed_through_its_link(server: dict, page: Page, demo_16s) -> None:
    """No stream under a link: the page polls the shared job through the wait for the submit
    slot and BLAST to its hits."""
    own = server["server"]
    own.hold_submit_slot()
    try:
        body = {"program": "blastn", "database": "demo-16s", "query": fasta(demo_16s[30:32]),
                "options": {"evalue": 1e-20}}  # fmt: skip
        made = httpx.post(f"{own.url}/api/jobs", json=body, headers=own.headers(), timeout=30)
        assert made.status_code == 202, made.text
        job_id = made.json()["id"]
        link = own.share(job_id)
        page.goto(link["url"])
        expect(page.get_by_test_id("shared-banner")).to_be_visible()
        expect(badge(page, "submitting")).to_have_text("waiting", timeout=30_000)
        expect(page.get_by_test_id("tab-taxonomy")).to_be_disabled()  # until it completes
    finally:
        own.release_submit_slot()
    expect(page.get_by_test_id("job-status")).to_have_text(
        re.compile("completed", re.I), timeout=60_000
    )
    page.wait_for_url(re.compile(r"tab=hits"))  # seen completing: opens its hits, as the owner's
    expect(page.get_by_test_id("hits-table").get_by_test_id("hit-row").first).to_be_visible()
    assert page.url.startswith(link["url"])
