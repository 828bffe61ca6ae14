"""The Databases page end to end (Chromium via Playwright, a real `blastdeck serve`, real
makeblastdb and the real taxonomy): upload 20 bench 16S records with their taxid map and see the
database's coverage in the list; a map with a bad line shows the server's error naming the line;
delete the database with the page's button; a bigger upload shows the second bar (checking the
FASTA, then makeblastdb); register a path (the form admins see) and share it with a group from
its row."""

# ruff: noqa: F811  (pytest injects the imported `page` fixture by argument name)

from __future__ import annotations

import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import BLASTDECK, Server, fasta, read_fasta
from tests.support.bench_data import bench_16s_3000
from tests.support.taxonomy_cache import embedded_cache

# The page fixtures of the main e2e module (its checks on page errors and CSP reports too).
from tests.test_web_e2e import browser, page  # noqa: F401

BENCH = bench_16s_3000()
RECORDS = 20


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("e2e-databases") / "data", None)
    running.env["BLASTDECK_TAXONOMY_CACHE_DIR"] = str(embedded_cache()[0])
    running.start()
    plain = httpx.post(  # a database without taxids (both demo databases have them)
        f"{running.url}/api/databases",
        data={"name": "plain-16s"},
        files={"file": ("plain.fa", fasta(read_fasta(BENCH / "16s-3000.fa")[:5]), "text/plain")},
        timeout=120,
    )
    assert plain.status_code == 201, plain.text
    yield running
    running.kill()


@pytest.fixture(scope="module")
def upload_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The first 20 bench records, their map lines, and a copy of the map with a bad line 4."""
    records = read_fasta(BENCH / "16s-3000.fa")[:RECORDS]
    seqids = {defline.split()[0] for defline, _ in records}
    lines = [
        line
        for line in (BENCH / "16s-3000.taxid_map").read_text().splitlines()
        if line.split("\t")[0] in seqids
    ]
    assert len(lines) == RECORDS
    folder = tmp_path_factory.mktemp("upload")
    (folder / "bench20.fa").write_text(fasta(records))
    (folder / "bench20.taxid_map").write_text("\n".join(lines) + "\n")
    bad = [*lines[:3], f"{lines[3].split()[0]}\tnot-a-taxid", *lines[4:]]
    (folder / "bad.taxid_map").write_text("\n".join(bad) + "\n")
    return {
        "fasta": folder / "bench20.fa",
        "map": folder / "bench20.taxid_map",
        "bad_map": folder / "bad.taxid_map",
        "taxa": len({line.split("\t")[1] for line in lines}),
    }


def add(page: Page, name: str, fasta_file: Path, taxid_map: Path) -> None:
    page.get_by_test_id("db-name").fill(name)
    page.get_by_test_id("db-file").set_input_files(str(fasta_file))
    page.get_by_test_id("db-taxid-map").set_input_files(str(taxid_map))
    page.get_by_test_id("db-upload").click()


def test_upload_with_a_taxid_map_shows_coverage_then_delete(
    server: Server, page: Page, upload_files: dict
) -> None:
    page.goto(f"{server.url}/search")
    page.get_by_test_id("nav-databases").click()
    expect(page).to_have_url(f"{server.url}/databases")
    plain = page.locator("[data-testid=database-row][data-name=plain-16s]")
    expect(plain.get_by_test_id("db-coverage")).to_have_text("no taxids")
    proteins = page.locator("[data-testid=database-row][data-name=demo-proteins]")
    expect(proteins.get_by_test_id("db-coverage")).to_contain_text("with taxid: 8 (5 taxa)")
    demo = page.locator("[data-testid=database-row][data-name=demo-16s]")  # its shipped map
    expect(demo.get_by_test_id("db-coverage")).to_contain_text("with taxid: 189")

    # Record what the form showed on the way: the answer ends "building" quickly.
    page.evaluate(
        """() => {
        window.seenStages = new Set();
        new MutationObserver(() => {
          for (const id of ['db-upload-progress', 'db-building']) {
            if (document.querySelector(`[data-testid=${id}]`)) window.seenStages.add(id);
          }
        }).observe(document.body, { childList: true, subtree: true });
    }"""
    )
    add(page, "bench20", upload_files["fasta"], upload_files["map"])
    expect(page.get_by_test_id("db-added")).to_contain_text("Added bench20")
    assert "db-building" in page.evaluate("() => [...window.seenStages]")
    expect(page.get_by_test_id("db-building")).to_have_count(0)
    row = page.locator("[data-testid=database-row][data-name=bench20]")
    taxa = upload_files["taxa"]
    expect(row.get_by_test_id("db-coverage")).to_contain_text(
        f"with taxid: {RECORDS} ({taxa} taxa)"
    )
    expect(row).to_contain_text("nucl")
    expect(row.get_by_test_id("db-available")).to_have_text("ok")
    expect(row.get_by_test_id("db-size")).to_contain_text("KB")
    row.get_by_test_id("db-coverage").locator("summary").click()
    organisms = row.get_by_test_id("db-top-organisms").locator("li")
    expect(organisms.first).to_be_visible()
    api = httpx.get(f"{server.url}/api/databases/bench20").json()
    top = api["taxonomy"]["top_organisms"][0]
    expect(organisms.first).to_contain_text(f"({top['taxid']})")

    # Reloading the page's URL gets the app (the server serves /databases as the SPA).
    page.reload()
    expect(row).to_be_visible()

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_test_id("db-delete").click()
    expect(row).to_have_count(0)
    assert httpx.get(f"{server.url}/api/databases/bench20").status_code == 404


def test_a_bad_map_line_shows_the_servers_error(
    server: Server, page: Page, upload_files: dict
) -> None:
    page.goto(f"{server.url}/databases")
    add(page, "badmap", upload_files["fasta"], upload_files["bad_map"])
    error = page.get_by_test_id("db-upload-error")
    expect(error).to_contain_text("invalid_taxid_map")
    expect(error).to_contain_text("Taxid map line 4")
    expect(page.locator("[data-testid=database-row][data-name=badmap]")).to_have_count(0)
    assert httpx.get(f"{server.url}/api/databases/badmap").status_code == 404


def test_a_bigger_upload_shows_checking_then_building(server: Server, page: Page, tmp_path) -> None:
    """~48 MB: long enough for the page's polls (every 500 ms) to see the server at work. The
    server checks and builds 16 MB in ~0.5 s, about one poll's period: CI once saw no poll land
    in it; 48 MB takes ~1.5 s, two polls at least."""
    rng = random.Random(5)
    letters = bytes.maketrans(bytes(range(256)), b"ACGT" * 64)
    big = tmp_path / "big.fa"
    with big.open("wb") as out:
        for i in range(6000):
            out.write(b">big%d\n%s\n" % (i, rng.randbytes(8000).translate(letters)))
    page.goto(f"{server.url}/databases")
    page.evaluate(
        """() => {
        window.seenPhases = new Set();
        new MutationObserver(() => {
          const bar = document.querySelector('[data-testid=db-build-progress]');
          const label = document.querySelector('[data-testid=db-build-label]');
          if (bar) window.seenPhases.add(bar.dataset.phase + ': ' + label.textContent);
        }).observe(document.body, { childList: true, subtree: true, attributes: true });
    }"""
    )
    page.get_by_test_id("db-name").fill("bigone")
    page.get_by_test_id("db-file").set_input_files(str(big))
    page.get_by_test_id("db-upload").click()
    expect(page.get_by_test_id("db-added")).to_contain_text("Added bigone", timeout=60_000)
    seen = page.evaluate("() => [...window.seenPhases]")
    assert any(
        s.startswith("checking: Checking FASTA")
        or s.startswith("building: Building (makeblastdb) ~")
        for s in seen
    ), seen
    assert httpx.delete(f"{server.url}/api/databases/bigone").status_code == 200


def test_register_a_path_then_share_it_with_a_group(server: Server, page: Page) -> None:
    demo = httpx.get(f"{server.url}/api/databases/demo-16s").json()
    page.goto(f"{server.url}/databases")
    form = page.get_by_test_id("db-register-form")  # auth is off: the one user is an admin
    form.get_by_test_id("db-register-name").fill("reg16s")
    form.get_by_test_id("db-register-path").fill(demo["path"])
    form.get_by_test_id("db-register").click()
    expect(page.get_by_test_id("db-added")).to_contain_text("Added reg16s")
    row = page.locator("[data-testid=database-row][data-name=reg16s]")
    expect(row.get_by_test_id("db-staged")).to_have_text("not staged")

    row.get_by_test_id("db-sharing-open").click()
    row.get_by_test_id("db-sharing-visibility").select_option("group")
    row.get_by_test_id("db-sharing-group").fill("lab")
    row.get_by_test_id("db-sharing-save").click()
    expect(page.get_by_test_id("db-changed")).to_contain_text("reg16s is now @lab/reg16s")
    shared = page.locator("[data-testid=database-row][data-name='@lab/reg16s']")
    expect(shared).to_contain_text("group @lab")
    assert httpx.get(f"{server.url}/api/databases/reg16s").status_code == 404

    form.get_by_test_id("db-register-name").fill("reg16s-bad")
    form.get_by_test_id("db-register-path").fill("/nowhere/at/all")
    form.get_by_test_id("db-register").click()
    expect(page.get_by_test_id("db-register-error")).to_contain_text("No BLAST database found")
    assert httpx.delete(f"{server.url}/api/databases/@lab/reg16s").status_code == 200


def test_cli_db_remove_through_the_server(server: Server, upload_files: dict) -> None:
    """`blastdeck db remove --server`: the database leaves the page's list as it does the API's."""
    with upload_files["fasta"].open("rb") as fh:
        response = httpx.post(
            f"{server.url}/api/databases",
            data={"name": "viacli"},
            files={"file": ("viacli.fa", fh, "text/plain")},
            timeout=120,
        )
    assert response.status_code == 201, response.text
    command = [BLASTDECK, "db", "remove", "viacli", "--server", server.url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "removed viacli" in done.stdout
    assert httpx.get(f"{server.url}/api/databases/viacli").status_code == 404
    again = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "unknown_database" in again.stderr
