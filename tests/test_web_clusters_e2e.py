"""The Clusters page end to end (Chromium via Playwright, a real `blastdeck serve`, real BLAST+):
the submit-lock holder and the jobs waiting behind it appear live and go when the lock is
released; an admin pauses a namespace (a new job waits, paused) and resumes it; the add-cluster
form shows each server error next to its field, and the same form edits a cluster, prefilled.
The barrier engine (tests/support) holds a job inside its submit step: the only test double."""

# ruff: noqa: F811  (pytest injects the imported `page` fixture by argument name)

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import TEST_PLUGINS, Server, fasta, wait_for_job

# The page fixtures of the main e2e module (its checks on page errors and CSP reports too).
from tests.test_web_e2e import browser, built_app, page  # noqa: F401


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("e2e-clusters") / "data", None)
    repo = str(Path(__file__).resolve().parents[1])  # so the server imports the test plugin
    running.env["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))
    running.env["BLASTDECK_PLUGINS"] = TEST_PLUGINS
    running.start()
    yield running
    running.kill()


def submit(server: Server, query: str, cluster: str) -> str:
    body = {"program": "blastn", "database": "demo-16s", "query": query, "cluster": cluster}
    response = httpx.post(f"{server.url}/api/jobs", json=body, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def test_the_form_names_each_bad_field_then_adds_a_cluster(
    server: Server, page: Page, tmp_path: Path
) -> None:
    page.goto(f"{server.url}/search")
    page.get_by_test_id("nav-clusters").click()
    expect(page).to_have_url(f"{server.url}/clusters")
    expect(page.locator('[data-testid=cluster-card][data-name="local"]')).to_be_visible()

    # Each setting of the engine says what it takes and its default; a plugin's without a
    # line of help shows none.
    expect(page.get_by_test_id("cluster-setting-help-memory_limit_mb")).to_contain_text("in MB")
    expect(page.get_by_test_id("cluster-setting-help-scratch_dir")).to_contain_text("(default: ")

    page.get_by_test_id("cluster-name").fill("Bad Name!")
    page.get_by_test_id("cluster-add").click()
    expect(page.get_by_test_id("cluster-error-name")).to_contain_text("invalid_name")

    page.get_by_test_id("cluster-name").fill("tiny")
    page.get_by_test_id("cluster-slots").fill("0")
    page.get_by_test_id("cluster-add").click()
    expect(page.get_by_test_id("cluster-error-slots")).to_contain_text("invalid_request")

    page.get_by_test_id("cluster-slots").fill("2")
    page.get_by_test_id("cluster-setting-batch_letters").fill("lots")
    page.get_by_test_id("cluster-add").click()
    expect(page.get_by_test_id("cluster-error-settings.batch_letters")).to_contain_text(
        "invalid_cluster_setting"
    )

    page.get_by_test_id("cluster-setting-batch_letters").fill("")
    page.get_by_test_id("cluster-engine").select_option("barrier")
    page.get_by_test_id("cluster-setting-barrier_dir").fill(str(tmp_path / "barrier"))
    expect(page.get_by_test_id("cluster-setting-help-barrier_dir")).to_have_count(0)
    page.get_by_test_id("cluster-add").click()
    expect(page.get_by_test_id("cluster-added")).to_contain_text("tiny")
    card = page.locator('[data-testid=cluster-card][data-name="tiny"]')
    expect(card).to_contain_text("barrier")
    expect(card.get_by_test_id("cluster-slots-count")).to_have_text("2")

    # Edit: the same form, prefilled, its errors by the field; saved, the card shows it.
    card.get_by_test_id("cluster-edit").click()
    form = card.get_by_test_id("cluster-edit-form")
    expect(form.get_by_test_id("cluster-slots")).to_have_value("2")
    expect(form.get_by_test_id("cluster-setting-barrier_dir")).to_have_value(
        str(tmp_path / "barrier")
    )
    expect(form.get_by_test_id("cluster-engine")).to_be_disabled()
    form.get_by_test_id("cluster-slots").fill("10001")
    form.get_by_test_id("cluster-save").click()
    expect(form.get_by_test_id("cluster-error-slots")).to_contain_text("invalid_request")
    form.get_by_test_id("cluster-slots").fill("3")
    form.get_by_test_id("cluster-save").click()
    expect(form).to_have_count(0)
    expect(card.get_by_test_id("cluster-slots-count")).to_have_text("3")
    assert httpx.delete(f"{server.url}/api/clusters/tiny").status_code == 200
    expect(card).to_have_count(0)


def test_lock_holder_waiting_jobs_and_a_paused_namespace_live(
    server: Server, page: Page, tmp_path: Path, demo_16s
) -> None:
    barrier = tmp_path / "barrier"
    body = {"name": "held", "engine": "barrier", "settings": {"barrier_dir": str(barrier)}}
    assert httpx.post(f"{server.url}/api/clusters", json=body).status_code == 201
    page.goto(f"{server.url}/clusters")
    expect(page.get_by_test_id("clusters-live")).to_have_text("Live")
    card = page.locator('[data-testid=cluster-card][data-name="held"]')
    row = card.locator('[data-testid=slot-row][data-namespace="default"]')
    expect(row.get_by_test_id("slot-holder")).to_have_text("free")

    first = submit(server, fasta(demo_16s[:1]), "held")
    expect(row.get_by_test_id("slot-holder-link")).to_have_text(first[:8], timeout=30_000)
    second = submit(server, fasta(demo_16s[1:2]), "held")
    waiting = row.get_by_test_id("slot-waiting").get_by_test_id("slot-job")
    expect(waiting).to_have_count(1, timeout=30_000)
    expect(waiting).to_have_attribute("data-job", second)
    expect(row.get_by_test_id("slot-running")).to_contain_text(first[:8])
    expect(row.get_by_test_id("slot-queue-depth")).to_have_text("2")
    row.get_by_test_id("slot-holder-link").click()  # the holder's job page
    expect(page).to_have_url(f"{server.url}/jobs/{first}")
    page.go_back()

    # The admin (auth is off) pauses the namespace: the job waiting for the slot has not
    # submitted yet, so it now waits for the resume; the holder's submit goes on.
    row.get_by_test_id("slot-pause").click()
    expect(row.get_by_test_id("slot-paused")).to_contain_text(
        "cluster held / namespace default is paused by admin since"
    )
    expect(waiting).to_have_attribute("data-phase", "paused", timeout=30_000)
    (barrier / "release-all").write_text("")
    assert wait_for_job(server.job, first)["status"] == "completed"
    expect(row.get_by_test_id("slot-holder")).to_have_text("free")
    third = submit(server, fasta(demo_16s[2:3]), "held")
    expect(waiting).to_have_count(2, timeout=30_000)
    expect(waiting.nth(0)).to_have_attribute("data-job", second)  # in the order they waited
    expect(waiting.nth(1)).to_have_attribute("data-job", third)
    expect(waiting.nth(1)).to_have_attribute("data-phase", "paused", timeout=30_000)
    assert server.job(second)["phase"] == "paused"

    # The paused job's page says why it waits, at its Submit step.
    row.get_by_test_id("slot-waiting").get_by_role("link", name=third[:8]).click()
    expect(page).to_have_url(f"{server.url}/jobs/{third}")
    expect(page.get_by_test_id("step-submitting")).to_have_attribute("data-state", "waiting")
    expect(page.get_by_test_id("step-detail-submitting")).to_contain_text(
        "cluster held / namespace default is paused by admin since"
    )
    expect(page.get_by_test_id("step-detail-submitting")).to_contain_text("waiting to be resumed")
    page.go_back()

    row.get_by_test_id("slot-resume").click()
    expect(row.get_by_test_id("slot-paused")).to_have_text("no")
    for job_id in (second, third):
        assert wait_for_job(server.job, job_id)["status"] == "completed"
    expect(row.get_by_test_id("slot-waiting")).to_have_text("none")
