"""Importing a BLAST result from the Jobs page end to end (Chromium via Playwright, a real
`blastdeck serve`, a BLAST XML written by a real search): the file is picked, the new job opens
with its BLAST steps skipped and its hits; a truncated file shows the server's error."""

# ruff: noqa: F811  (pytest injects the imported `page` fixture by argument name)

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import Server, fasta, wait_for_job

# The page fixtures of the main e2e module (its checks on page errors and CSP reports too).
from tests.test_web_e2e import browser, built_app, page  # noqa: F401


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("e2e-import") / "data", None)
    running.start()
    yield running
    running.kill()


@pytest.fixture(scope="module")
def blast_xml(server: Server, demo_16s, tmp_path_factory: pytest.TempPathFactory) -> Path:
    body = {
        "program": "blastn",
        "database": "demo-16s",
        "query": fasta(demo_16s[:2]),
        "options": {"max_target_seqs": 5},
    }
    job = httpx.post(f"{server.url}/api/jobs", json=body, timeout=30).json()
    assert wait_for_job(server.job, job["id"])["phase"] == "completed"
    xml = httpx.get(f"{server.url}/api/jobs/{job['id']}/download?format=xml", timeout=60)
    assert xml.status_code == 200
    path = tmp_path_factory.mktemp("import") / "elsewhere.xml"
    path.write_bytes(xml.content)
    return path


def test_import_from_the_jobs_page_opens_the_imported_job(
    server: Server, page: Page, blast_xml: Path
) -> None:
    page.goto(f"{server.url}/jobs")
    page.get_by_test_id("import-file").set_input_files(str(blast_xml))
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}"), timeout=30_000)
    job_id = re.search(r"/jobs/([0-9a-f-]{36})", page.url).group(1)  # type: ignore[union-attr]
    job = server.job(job_id)
    assert job["source"] == "imported" and job["phase"] == "completed"
    expect(page.get_by_test_id("job-source")).to_have_text("imported: BLAST ran elsewhere")
    expect(page.get_by_test_id("duplicate-job")).to_have_count(0)
    page.get_by_test_id("tab-hits").click()
    expect(page.get_by_test_id("hits-table").get_by_test_id("hit-row").first).to_be_visible()
    page.get_by_test_id("tab-run").click()
    for key in ("warming_up", "configuring", "staging_db", "submitting", "running"):
        expect(page.get_by_test_id(f"step-badge-{key}")).to_have_text("skipped")
    expect(page.get_by_test_id("step-badge-exporting_results")).to_have_text("completed")


def test_a_truncated_file_shows_the_servers_error(
    server: Server, page: Page, blast_xml: Path, tmp_path: Path
) -> None:
    cut = tmp_path / "cut.xml"
    cut.write_bytes(blast_xml.read_bytes()[:3000])
    before = httpx.get(f"{server.url}/api/jobs", timeout=10).json()["total"]
    page.goto(f"{server.url}/jobs")
    page.get_by_test_id("import-file").set_input_files(str(cut))
    expect(page.get_by_test_id("import-error")).to_contain_text("not readable at line")
    assert httpx.get(f"{server.url}/api/jobs", timeout=10).json()["total"] == before
