"""/api/taxonomy through the real app (create_app with the test settings): the embedded NCBI
Taxonomy from the data dir's cache, an operator's taxdump, bounded parameters, error codes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from blastdeck.taxonomy import Taxonomy, for_settings
from blastdeck.taxonomy.shared import cache_dir_for
from tests.conftest import make_settings
from tests.support.taxdump import write_taxdump
from tests.support.taxonomy_cache import embedded_cache


@pytest.fixture(autouse=True)
def user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's cache, where BlastDeck keeps the taxonomy index, holding this test run's
    fresh build of it (linked in: building it again for each test would take a minute)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    (tmp_path / "xdg" / "blastdeck").mkdir(parents=True)
    link = tmp_path / "xdg" / "blastdeck" / "taxonomy"
    link.symlink_to(embedded_cache()[0], target_is_directory=True)
    return link


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """The app as `blastdeck serve` makes it."""
    with TestClient(create_app(make_settings(tmp_path / "data", demo_databases=False))) as client:
        yield client


def test_the_index_is_opened_when_the_app_starts(tmp_path: Path, user_cache: Path) -> None:
    settings = make_settings(tmp_path / "data", demo_databases=False)
    taxonomy = for_settings(settings)
    assert taxonomy.cache_dir == user_cache.resolve()
    with TestClient(create_app(settings)):
        assert taxonomy._index is not None  # before any request
        assert taxonomy.ensure_ready().path.parent == embedded_cache()[0]


def test_where_the_index_is_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(tmp_path / "data")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "elsewhere"))
    assert cache_dir_for(settings) == (tmp_path / "elsewhere" / "blastdeck" / "taxonomy")
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a-file"))  # no usable user cache
    assert cache_dir_for(settings) == settings.resolved_data_dir / "taxonomy-cache"
    configured = SimpleNamespace(taxonomy_cache_dir=str(tmp_path / "mine"), taxonomy_dir=None)
    assert cache_dir_for(configured) == tmp_path / "mine"  # the proposed setting, when added


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code and body["message"]
    return body


def test_a_taxon(client: TestClient) -> None:
    body = client.get("/api/taxonomy/562").json()
    assert body["taxid"] == 562 and body["scientific_name"] == "Escherichia coli"
    assert (body["common_name"], body["rank"], body["parent_taxid"]) == ("E. coli", "species", 561)
    assert body["lineage"] == {
        "superkingdom": {"taxid": 2, "name": "Bacteria"},
        "phylum": {"taxid": 1224, "name": "Pseudomonadota"},
        "class": {"taxid": 1236, "name": "Gammaproteobacteria"},
        "order": {"taxid": 91347, "name": "Enterobacterales"},
        "family": {"taxid": 543, "name": "Enterobacteriaceae"},
        "genus": {"taxid": 561, "name": "Escherichia"},
        "species": {"taxid": 562, "name": "Escherichia coli"},
    }
    assert body["full_lineage"][0] == {
        "taxid": 131567,
        "name": "cellular organisms",
        "rank": "no rank",
    }
    assert body["full_lineage"][-1] == {"taxid": 562, "name": "Escherichia coli", "rank": "species"}
    assert body["descendant_count"] > 1000 and body["child_count"] > 100
    assert body["merged_from"] is None
    bacteria = client.get("/api/taxonomy/2").json()
    assert bacteria["lineage"]["phylum"] is None and bacteria["parent_taxid"] == 131567


def test_search(client: TestClient) -> None:
    body = client.get("/api/taxonomy/search", params={"q": "Esch", "limit": 3}).json()
    assert body["query"] == "Esch" and len(body["items"]) == 3
    first = body["items"][0]
    assert first == {
        "taxid": 561,
        "scientific_name": "Escherichia",
        "common_name": None,
        "rank": "genus",
        "matched_name": "Escherichia",
        "name_class": "scientific name",
        "exact": False,
    }
    human = client.get("/api/taxonomy/search", params={"q": "human"}).json()["items"][0]
    assert (human["taxid"], human["name_class"], human["exact"]) == (9606, "common name", True)
    assert len(client.get("/api/taxonomy/search", params={"q": "a"}).json()["items"]) == 10
    nothing = client.get("/api/taxonomy/search", params={"q": "zzzzqqq"}).json()
    assert nothing["items"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "x" * 101}, "q"),
        ({"q": "e", "limit": 0}, "limit"),
        ({"q": "e", "limit": 51}, "limit"),
        ({"q": "e", "limit": "ten"}, "limit"),
    ],
)
def test_search_parameters_are_bounded(client: TestClient, params: dict, field: str) -> None:
    body = _error(client.get("/api/taxonomy/search", params=params), 422, "invalid_request")
    assert body["field"] == field


def test_resolve(client: TestClient) -> None:
    assert (
        client.get("/api/taxonomy/resolve", params={"name": "escherichia COLI"}).json()["taxid"]
        == 562
    )
    assert client.get("/api/taxonomy/resolve", params={"name": "txid9606"}).json()["taxid"] == 9606
    ambiguous = _error(
        client.get("/api/taxonomy/resolve", params={"name": "Bacillus"}), 422, "ambiguous_taxon"
    )
    assert ambiguous["field"] == "name"
    assert "Bacillus (1386, genus; Bacteria" in ambiguous["detail"]["candidates"]
    assert "Bacillus (55087, genus; Eukaryota" in ambiguous["detail"]["candidates"]
    unknown = _error(
        client.get("/api/taxonomy/resolve", params={"name": "Escherichia colli"}),
        404,
        "unknown_taxon",
    )
    assert unknown["detail"]["suggestions"].startswith("Escherichia coli (562)")
    assert "Did you mean: Escherichia coli (562)" in unknown["message"]
    _error(client.get("/api/taxonomy/resolve", params={"name": "x" * 201}), 422, "invalid_request")


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/taxonomy/99999999", 404, "unknown_taxon"),
        ("/api/taxonomy/3", 404, "unknown_taxon"),
        ("/api/taxonomy/0", 422, "invalid_request"),
        ("/api/taxonomy/-1", 422, "invalid_request"),
        ("/api/taxonomy/2147483648", 422, "invalid_request"),
        ("/api/taxonomy/Escherichia", 422, "invalid_request"),
    ],
)
def test_bad_taxids(client: TestClient, path: str, status: int, code: str) -> None:
    _error(client.get(path), status, code)


def test_every_route_declares_its_response_model(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    ours = {p: spec for p, spec in paths.items() if p.startswith("/api/taxonomy")}
    assert set(ours) == {"/api/taxonomy/search", "/api/taxonomy/resolve", "/api/taxonomy/{taxid}"}
    for spec in ours.values():
        schema = spec["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema["$ref"].rsplit("/", 1)[-1] in {"SearchResult", "TaxonModel"}
        assert "404" in spec["get"]["responses"] and "422" in spec["get"]["responses"]


def test_with_auth_on_a_token_is_needed(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", demo_databases=False, auth="on")
    with TestClient(create_app(settings)) as client:
        _error(client.get("/api/taxonomy/562"), 401, "unauthorized")


# -- an operator's taxdump (the runtime's taxonomy, as runtime.py will wire it) --------------


@pytest.fixture
def dump_client(tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    app = create_app(make_settings(tmp_path / "data", demo_databases=False))
    with TestClient(app) as client:
        yield client, tmp_path


def _wire(client: TestClient, taxonomy: Taxonomy) -> None:
    client.app.state.runtime.taxonomy = taxonomy


def test_a_taxdump_is_built_in_the_background_then_served(dump_client: tuple) -> None:
    client, tmp_path = dump_client
    _wire(client, Taxonomy(tmp_path / "cache", write_taxdump(tmp_path / "dump")))
    first = client.get("/api/taxonomy/469598")
    _error(first, 503, "taxonomy_unavailable")
    assert first.headers["retry-after"] == "15" and "being built" in first.json()["message"]
    deadline = time.monotonic() + 30
    while (answer := client.get("/api/taxonomy/469598")).status_code == 503:
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.05)
    body = answer.json()
    assert (body["taxid"], body["merged_from"], body["scientific_name"]) == (
        562,
        469598,
        "Escherichia coli",
    )
    assert (
        client.get("/api/taxonomy/resolve", params={"name": "Bacillus coli"}).json()["taxid"] == 562
    )


def test_a_broken_taxdump_is_a_503_saying_what_is_wrong(dump_client: tuple) -> None:
    client, tmp_path = dump_client
    missing = write_taxdump(tmp_path / "missing")
    (missing / "names.dmp").unlink()
    _wire(client, Taxonomy(tmp_path / "cache-1", missing))
    body = _error(client.get("/api/taxonomy/562"), 503, "taxonomy_unavailable")
    assert "has no names.dmp" in body["message"]

    garbled = write_taxdump(tmp_path / "garbled")
    (garbled / "nodes.dmp").write_text("1\t|\t1\t|\tno rank\t|\nnot a taxdump line\n")
    _wire(client, Taxonomy(tmp_path / "cache-2", garbled))
    deadline = time.monotonic() + 30
    while "being built" in (body := client.get("/api/taxonomy/562").json())["message"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert body["error_code"] == "taxonomy_unavailable" and "nodes.dmp:2" in body["message"]
