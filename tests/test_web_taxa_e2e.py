"""The search form's organism field end to end (Chromium via Playwright, a real `blastdeck
serve`, real BLAST+ and the real taxonomy): autocomplete from /api/taxonomy/search, a taxon
included and one excluded, sent as the job's taxids / negative_taxids; a database without
taxids disables the field and says why."""

# ruff: noqa: F811  (pytest injects the imported `page` fixture by argument name)

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import Server, fasta, wait_for_job
from tests.support.taxonomy_cache import embedded_cache

# The page fixtures of the main e2e module (its checks on page errors and CSP reports too).
from tests.test_web_e2e import browser, page  # noqa: F401


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_16s) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("e2e-taxa") / "data", None)
    running.env["BLASTDECK_TAXONOMY_CACHE_DIR"] = str(embedded_cache()[0])
    running.start()
    response = httpx.post(
        f"{running.url}/api/databases",
        data={"name": "coli-16s", "taxid": "562"},  # every sequence Escherichia coli
        files={"file": ("coli.fa", fasta(demo_16s[:20]), "text/plain")},
        timeout=120,
    )
    assert response.status_code == 201, response.text
    plain = httpx.post(  # no taxids
        f"{running.url}/api/databases",
        data={"name": "plain-16s"},
        files={"file": ("plain.fa", fasta(demo_16s[:20]), "text/plain")},
        timeout=120,
    )
    assert plain.status_code == 201, plain.text
    yield running
    running.kill()


def jobs_made(server: Server) -> int:
    return httpx.get(f"{server.url}/api/jobs", timeout=10).json()["total"]


def test_the_organism_field_searches_within_and_excludes_taxa(
    server: Server, page: Page, demo_16s
) -> None:
    page.goto(f"{server.url}/search")
    page.get_by_test_id("database").select_option("plain-16s")
    expect(page.get_by_test_id("organism-input")).to_be_disabled()
    expect(page.get_by_test_id("organism-hint")).to_contain_text("has no taxids")

    page.get_by_test_id("database").select_option("coli-16s")
    expect(page.get_by_test_id("organism-hint")).to_contain_text(
        "20 of 20 sequences have a taxid (1 taxa)"
    )
    page.get_by_test_id("organism-input").fill("Escherichi")
    suggestion = page.get_by_test_id("organism-suggestion").filter(has_text="genus").first
    expect(suggestion).to_contain_text("Escherichia")
    suggestion.click()
    page.get_by_test_id("organism-mode").select_option("exclude")
    page.get_by_test_id("organism-input").fill("Homo sapi")
    page.get_by_test_id("organism-suggestion").filter(has_text="taxid 9606").click()
    chips = page.get_by_test_id("organism-chip")
    expect(chips).to_have_count(2)
    expect(chips.first).to_contain_text("only Escherichia")
    expect(chips.nth(1)).to_contain_text("not Homo sapiens")

    page.get_by_test_id("query-input").fill(fasta(demo_16s[:2]))
    page.get_by_test_id("submit").click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}"))
    job_id = re.search(r"/jobs/([0-9a-f-]{36})", page.url).group(1)
    job = wait_for_job(server.job, job_id)
    assert job["phase"] == "completed", job
    shown = job["taxon_filter"]
    assert shown["taxids"] == ["561"] and shown["negative_taxids"] == ["9606"]
    assert shown["blast_option"] == "-taxidlist" and shown["database_taxids"] == 1
    assert shown["include_names"] == ["Escherichia"] and shown["exclude_names"] == ["Homo sapiens"]
    assert (shown["searched_sequences"], shown["database_sequences"]) == (20, 20)
    assert job["hits_total"] > 0
    # The job page says what it searched within, by name
    expect(page.get_by_test_id("job-organisms")).to_have_text(
        "only within Escherichia; excluding Homo sapiens; 20 of 20 sequences searched"
    )

    # Duplicating the job brings its organisms back, by name.
    page.goto(f"{server.url}/search?from={job_id}")
    chips = page.get_by_test_id("organism-chip")
    expect(chips).to_have_count(2)
    expect(chips.first).to_contain_text("only Escherichia")
    expect(chips.nth(1)).to_contain_text("not Homo sapiens")


def test_a_filter_the_server_refuses_shows_on_the_organism_field(
    server: Server, page: Page, demo_16s
) -> None:
    page.goto(f"{server.url}/search")
    page.get_by_test_id("database").select_option("coli-16s")
    page.get_by_test_id("organism-input").fill("Mus musculus")
    page.get_by_test_id("organism-suggestion").filter(has_text="taxid 10090").click()
    page.get_by_test_id("query-input").fill(fasta(demo_16s[:1]))
    page.get_by_test_id("submit").click()
    error = page.get_by_test_id("error-organism")
    expect(error).to_contain_text("taxon_filter_empty")
    expect(error).to_contain_text("No sequence of the database coli-16s")
    expect(page).to_have_url(re.compile(r"/search$"))  # no job was made


def test_the_organism_field_picks_by_keyboard_and_enter_there_never_sends_the_form(
    server: Server, page: Page, demo_16s
) -> None:
    # A new user typed a name, pressed ArrowDown and Enter: the form went, unfiltered.
    before = jobs_made(server)
    page.goto(f"{server.url}/search")
    page.get_by_test_id("database").select_option("coli-16s")
    page.get_by_test_id("query-input").fill(fasta(demo_16s[:2]))
    field = page.get_by_test_id("organism-input")
    field.fill("Escherichi")  # the suggestions: Escherichia (561), Escherichia coli (562), ...
    expect(page.get_by_test_id("organism-suggestion").nth(1)).to_contain_text("taxid 562")
    field.press("ArrowDown")
    field.press("ArrowDown")
    expect(page.locator("#organism-suggestion-1")).to_have_attribute("aria-selected", "true")
    expect(field).to_have_attribute("aria-activedescendant", "organism-suggestion-1")
    field.press("Enter")
    chips = page.get_by_test_id("organism-chip")
    expect(chips).to_have_count(1)
    expect(chips.first).to_contain_text("only Escherichia coli")
    expect(field).to_have_value("")
    expect(page).to_have_url(re.compile(r"/search$"))

    # Enter with nothing highlighted picks the best suggestion (the first).
    page.get_by_test_id("organism-mode").select_option("exclude")
    field.fill("Homo sapi")
    expect(page.get_by_test_id("organism-suggestion").first).to_contain_text("taxid 9606")
    field.press("Enter")
    expect(chips).to_have_count(2)
    expect(chips.nth(1)).to_contain_text("not Homo sapiens")
    expect(page).to_have_url(re.compile(r"/search$"))
    assert jobs_made(server) == before  # nothing was sent

    page.get_by_test_id("submit").click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}"))
    job_id = re.search(r"/jobs/([0-9a-f-]{36})", page.url).group(1)
    job = wait_for_job(server.job, job_id)
    assert job["phase"] == "completed", job
    assert job["taxon_filter"]["taxids"] == ["562"]
    assert job["taxon_filter"]["negative_taxids"] == ["9606"]


def test_a_name_typed_but_not_chosen_stops_the_submit(server: Server, page: Page, demo_16s) -> None:
    before = jobs_made(server)
    page.goto(f"{server.url}/search")
    page.get_by_test_id("database").select_option("coli-16s")
    page.get_by_test_id("query-input").fill(fasta(demo_16s[:1]))
    field = page.get_by_test_id("organism-input")
    field.fill("Escherichi")
    page.get_by_test_id("submit").click()
    error = page.get_by_test_id("error-organism")
    expect(error).to_contain_text("taxon_not_chosen")
    expect(error).to_contain_text('"Escherichi" is not chosen')
    expect(page).to_have_url(re.compile(r"/search$"))
    assert jobs_made(server) == before

    field.press("Escape")  # clears the text, and with it the error
    expect(field).to_have_value("")
    expect(error).to_have_count(0)
    page.get_by_test_id("submit").click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}"))
    job_id = re.search(r"/jobs/([0-9a-f-]{36})", page.url).group(1)
    assert wait_for_job(server.job, job_id)["taxon_filter"] is None
