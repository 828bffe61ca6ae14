"""Narrow windows (Chromium via Playwright, a real `blastdeck serve`): on the Jobs page every
job's status and its actions stay in view without scrolling sideways, from a phone's width to a
laptop's, where every column is shown; at 1280 and 1920 px a job's hit and taxonomy tables are
whole, nothing behind a sideways scroll; no page of the app is wider than a phone's window (a
job's tabs wrap, a table inside a card scrolls within it)."""

# ruff: noqa: F811  (pytest injects the imported `page` fixture by argument name)

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import Server, fasta, wait_for_job

# The page fixtures of the main e2e module (its checks on page errors and CSP reports too).
from tests.test_web_e2e import browser, built_app, page  # noqa: F401

TITLE = "A fairly long title, as researchers give their searches, for a narrow screen"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_16s) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("e2e-jobs-narrow") / "data", None)
    running.start()
    for n in range(3):
        body = {"program": "blastn", "database": "demo-16s", "query": fasta(demo_16s[n : n + 1])}
        response = httpx.post(f"{running.url}/api/jobs", json=body | {"title": f"{TITLE} {n}"})
        assert response.status_code == 202, response.text
        wait_for_job(running.job, response.json()["id"])
    yield running
    running.kill()


@pytest.mark.parametrize("width", [360, 420, 600, 700, 800, 1024, 1280])
def test_every_jobs_status_and_actions_are_in_view(server: Server, page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{server.url}/jobs")
    rows = page.get_by_test_id("job-row")
    expect(rows).to_have_count(3)
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll
    for row in rows.all():
        for part in (row.get_by_test_id("job-row-status"), row.get_by_test_id("delete-job"),
                     row.get_by_test_id("duplicate-job"), row.get_by_role("link")):  # fmt: skip
            expect(part).to_be_visible()
            box = part.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (
                width,
                box,
            )
    program = page.get_by_role("columnheader", name="Program")
    created = page.get_by_role("columnheader", name="Created")
    if width > 900:  # a laptop's window: every column (at 1024 px Delete was past the edge)
        expect(created).to_be_visible()
        expect(rows.first.get_by_test_id("job-row-queries")).to_be_visible()
    if width > 640:  # a split screen's: what the job is, not its queries, date or duration
        expect(program).to_be_visible()
        expect(rows.first.get_by_test_id("job-row-hits")).to_be_visible()
    if width <= 900:
        expect(created).to_be_hidden()
        expect(rows.first.get_by_test_id("job-row-queries")).to_be_hidden()
    if width <= 640:  # a phone's: what is left out there is on the job's page
        expect(program).to_be_hidden()
    job_id = rows.first.get_attribute("data-job-id")
    rows.first.get_by_test_id("job-row-status").click()  # the whole entry opens the job
    expect(page).to_have_url(f"{server.url}/jobs/{job_id}")


PAGES = ["/search", "/jobs", "/databases", "/clusters", "/usage", "/admin"]
JOB_TABS = ["run", "hits", "taxonomy", "alignments", "graphic", "downloads"]


@pytest.mark.parametrize("width", [360, 420])
def test_no_page_is_wider_than_a_phone(server: Server, page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    job_id = httpx.get(f"{server.url}/api/jobs").json()["items"][0]["id"]
    paths = PAGES + [f"/jobs/{job_id}?tab={tab}" for tab in JOB_TABS]
    wider = {}
    for path in paths:
        page.goto(f"{server.url}{path}")
        page.wait_for_load_state("networkidle")
        if (scroll := page.evaluate("document.documentElement.scrollWidth")) > width:
            wider[path] = scroll
    assert not wider, wider
    page.goto(f"{server.url}/jobs/{job_id}?tab=run")
    expect(page.get_by_role("tab", name="Downloads")).to_be_in_viewport()


@pytest.mark.parametrize("width", [1280, 1920])
def test_a_jobs_tables_fit_a_desktop_window_whole(server: Server, page: Page, width: int) -> None:
    # At these widths nothing of the Hits and Taxonomy tables is behind a sideways scroll: the
    # taxonomy tab's two tables side by side were cut off at every width, and the hit table's
    # descriptions grew with the window past the page's own 1280 px.
    page.set_viewport_size({"width": width, "height": 900})
    job_id = httpx.get(f"{server.url}/api/jobs").json()["items"][0]["id"]
    cut = {}
    for tab, table in (("hits", "hits-table"), ("taxonomy", "taxonomy-organisms")):
        page.goto(f"{server.url}/jobs/{job_id}?tab={tab}")
        expect(page.get_by_test_id(table)).to_be_visible()
        page.wait_for_load_state("networkidle")
        widths = page.evaluate(
            "[...document.querySelectorAll('.table-card')].map(e => [e.scrollWidth, e.clientWidth])"
        )
        assert widths, tab
        if any(scroll > client for scroll, client in widths):
            cut[tab] = widths
    assert not cut, cut
