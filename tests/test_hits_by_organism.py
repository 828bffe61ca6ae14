"""Hits and HSPs that name their organism (issue 12): a real job on a real taxid database
(the demo 16S genes, `makeblastdb -taxid_map`), the real NCBI Taxonomy; organisms, lineages,
the taxon filter with descendants, the organism sort, alignments, and bad input."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from blastdeck.taxonomy import STANDARD_RANKS, Taxonomy
from tests.support import taxdb

# The finished job on a taxid database, and its app (module-scoped fixtures).
client, job, taxonomy = taxdb.client, taxdb.job, taxdb.taxonomy


def _all(client: TestClient, job: dict, kind: str = "hits", **params) -> dict:
    response = client.get(f"/api/jobs/{job['id']}/{kind}", params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])
    return body


def test_every_hit_and_hsp_names_its_organism(
    client: TestClient, job: dict, taxonomy: Taxonomy
) -> None:
    for kind in ("hits", "hsps"):
        items = _all(client, job, kind)["items"]
        named = [i for i in items if i["staxid"]]
        unnamed = [i for i in items if not i["staxid"]]
        assert named and unnamed, "the database has subjects with and without a taxid"
        for item in named:
            assert item["staxid"] == job["taxids"][item["subject_id"]]
            taxon = taxonomy.get(item["staxid"])
            assert item["taxid"] == taxon.taxid
            assert item["scientific_name"] == taxon.scientific_name
            assert item["common_name"] == taxon.common_name
            expected = {
                rank: (None if ref is None else {"taxid": ref.taxid, "name": ref.name})
                for rank, ref in taxon.lineage.items()
            }
            assert item["lineage"] == expected
            top = expected["superkingdom"]  # none for e.g. "unidentified" (12908)
            assert item["superkingdom"] == (top["name"] if top else None)
        for item in unnamed:
            assert item["subject_id"] not in job["taxids"]
            assert [item[k] for k in ("taxid", "scientific_name", "common_name")] == [None] * 3
            assert item["superkingdom"] is None and item["lineage"] is None
    assert set(STANDARD_RANKS) == set(named[0]["lineage"])


def test_the_taxon_filter_includes_descendants(
    client: TestClient, job: dict, taxonomy: Taxonomy
) -> None:
    hits = _all(client, job)["items"]
    hsps = _all(client, job, "hsps")["items"]
    # The most frequent family and genus among the hits, and one species.
    for rank in ("phylum", "family", "genus", "species"):
        counts: dict[int, int] = {}
        for hit in hits:
            if hit["lineage"] and hit["lineage"][rank]:
                taxid = hit["lineage"][rank]["taxid"]
                counts[taxid] = counts.get(taxid, 0) + 1
        taxon = max(counts, key=counts.__getitem__)
        under = set(taxonomy.descendants(taxon).tolist())
        for kind, everything in (("hits", hits), ("hsps", hsps)):
            kept = _all(client, job, kind, taxid=taxon)
            expected = [
                (i["query_index"], i["subject_id"]) for i in everything if i["staxid"] in under
            ]
            assert [(i["query_index"], i["subject_id"]) for i in kept["items"]] == expected
            assert 0 < kept["total"] < len(everything) or rank == "phylum"
    bacteria = _all(client, job, taxid=2)
    assert bacteria["total"] == sum(1 for h in hits if h["superkingdom"] == "Bacteria")
    with_query = _all(client, job, taxid=2, query_index=0, min_pident=99)
    assert with_query["total"] == sum(
        1
        for h in hits
        if h["superkingdom"] == "Bacteria" and h["query_index"] == 0 and h["pident"] >= 99
    )


def test_sorted_by_organism(client: TestClient, job: dict) -> None:
    for kind in ("hits", "hsps"):
        items = _all(client, job, kind, sort="organism")["items"]
        names = [i["scientific_name"] for i in items]
        known = [n.lower() for n in names if n is not None]
        assert known == sorted(known)
        assert names[len(known) :] == [None] * (len(names) - len(known))  # unknown last
        assert len(set(known)) > 5
        down = _all(client, job, kind, sort="organism", order="desc")["items"]
        assert [i["scientific_name"] for i in down][-len(known) :] == names[: len(known)][::-1]
    page = client.get(
        f"/api/jobs/{job['id']}/hits", params={"sort": "organism", "limit": 3, "offset": 2}
    ).json()
    assert [i["scientific_name"] for i in page["items"]] == names_of_hits(client, job)[2:5]


def names_of_hits(client: TestClient, job: dict) -> list[str | None]:
    return [i["scientific_name"] for i in _all(client, job, sort="organism")["items"]]


def test_alignments_name_the_subject_organism(client: TestClient, job: dict) -> None:
    response = client.get(f"/api/jobs/{job['id']}/alignments", params={"query_index": 0})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    hits = {h["subject_id"]: h for h in _all(client, job, query_index=0)["items"]}
    assert items and {i["subject_id"] for i in items} <= set(hits)
    for item in items:
        hit = hits[item["subject_id"]]
        for key in ("taxid", "scientific_name", "common_name", "superkingdom", "lineage"):
            assert item[key] == hit[key], key
    assert any(i["scientific_name"] for i in items)


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"taxid": 2_000_000_000}, 404, "unknown_taxon"),
        ({"taxid": 0}, 422, "invalid_request"),
        ({"taxid": -5}, 422, "invalid_request"),
        ({"taxid": "Bacteria"}, 422, "invalid_request"),
        ({"taxid": 2**31}, 422, "invalid_request"),
        ({"sort": "organisms"}, 422, "invalid_request"),
    ],
)
def test_bad_taxon_filters(client: TestClient, job: dict, params, status, code) -> None:
    for kind in ("hits", "hsps"):
        response = client.get(f"/api/jobs/{job['id']}/{kind}", params=params)
        assert response.status_code == status, response.text
        body = response.json()
        assert body["error_code"] == code and body["message"]
    unknown = client.get(f"/api/jobs/{job['id']}/hits", params={"taxid": 2_000_000_000}).json()
    assert "2000000000" in unknown["message"]
