"""Several databases from the search form, end to end (Chromium via Playwright, a real `blastdeck
serve`, real BLAST+): the form offers the other databases of the program's molecule, the job
searches all of them as one, and the job page's header names every one; "duplicate" keeps them.
"""

# ruff: noqa: F811  (pytest injects the imported `page` fixture by argument name)

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import DEMO_DIR, Server, fasta, read_fasta

# The page fixtures of the main e2e module (its checks on page errors and CSP reports too).
from tests.test_web_e2e import browser, built_app, page  # noqa: F401


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("e2e-multidb") / "data", None)
    running.start()
    genes = read_fasta(DEMO_DIR / "demo-16s.fa")
    work = tmp_path_factory.mktemp("halves")
    for name, records in (("half-a", genes[:100]), ("half-b", genes[100:])):
        (work / f"{name}.fa").write_text(fasta(records))
        subprocess.run(
            ["makeblastdb", "-in", f"{name}.fa", "-dbtype", "nucl", "-out", name],
            check=True, capture_output=True, cwd=work,
        )  # fmt: skip
        added = httpx.post(
            f"{running.url}/api/databases", json={"name": name, "path": str(work / name)}
        )
        assert added.status_code in (200, 201), added.text
    yield running
    running.kill()


def test_the_form_searches_several_databases_and_the_job_names_them(
    server: Server, page: Page
) -> None:
    genes = read_fasta(DEMO_DIR / "demo-16s.fa")
    page.goto(f"{server.url}/search")
    page.get_by_test_id("program").select_option("blastn")
    page.get_by_test_id("database").select_option("half-a")
    more = page.get_by_test_id("more-databases")
    offered = more.locator("option").all_inner_texts()
    assert any(t.startswith("half-b") for t in offered) and any(
        t.startswith("demo-16s") for t in offered
    )
    assert not any(t.startswith("half-a") for t in offered)  # the chosen one is not offered
    page.get_by_test_id("program").select_option("blastp")  # protein: none of them fit
    expect(page.get_by_test_id("more-databases")).to_have_count(0)
    page.get_by_test_id("program").select_option("blastn")
    page.get_by_test_id("database").select_option("half-a")
    page.get_by_test_id("more-databases").select_option(["half-b"])
    page.get_by_test_id("query-input").fill(fasta([("q1", genes[3][1]), ("q2", genes[150][1])]))
    page.get_by_test_id("submit").click()

    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}"))
    job_id = re.search(r"/jobs/([0-9a-f-]{36})", page.url).group(1)
    expect(page.get_by_test_id("job-status")).to_have_text(
        re.compile("completed", re.I), timeout=60_000
    )
    expect(page.get_by_test_id("job-database")).to_have_text("half-a + half-b")
    job = server.job(job_id)
    assert job["databases"] == ["half-a", "half-b"]
    page.get_by_test_id("tab-run").click()
    page.get_by_test_id("config-preview").locator("summary").click()
    expect(page.get_by_test_id("config-text")).to_contain_text("-db 'half-a half-b'")

    page.goto(f"{server.url}/search?from={job_id}")  # duplicate: the same databases again
    expect(page.get_by_test_id("database")).to_have_value("half-a")
    expect(page.get_by_test_id("more-databases")).to_have_values(["half-b"])
