"""A job's taxonomy report (issue 12): the lineage tree and the organism table, checked
against the job's own hits (from the hits API) on a real taxid database and the real NCBI
Taxonomy; per query, rolled up to a rank, as TSV; the summary file kept beside the index;
bad input."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.schemas.taxonomy import TaxonomyReport
from blastdeck.results.final_index import load_current
from blastdeck.results.hsp_index import index_dir
from blastdeck.results.taxon_summary import SUMMARY_FILE, summarize, summary_of
from blastdeck.taxonomy import STANDARD_RANKS, Taxonomy
from tests.support import taxdb

# The finished job on a taxid database, and its app (module-scoped fixtures).
client, job, taxonomy = taxdb.client, taxdb.job, taxdb.taxonomy


def _hits(client: TestClient, job: dict, **params) -> list[dict]:
    body = client.get(f"/api/jobs/{job['id']}/hits", params={"limit": 1000, **params}).json()
    assert body["total"] == len(body["items"])
    return body["items"]


def _report(client: TestClient, job: dict, **params) -> dict:
    response = client.get(f"/api/jobs/{job['id']}/taxonomy", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    # Sent as kept (pre-encoded): exactly the documented model, no key more or less.
    assert TaxonomyReport.model_validate(body).model_dump() == body
    return body


def _expected_organisms(hits: list[dict], key) -> dict[int, dict]:
    """Per organism (key(hit): its taxid, 0 for none), computed from the hits."""
    out: dict[int, dict] = {}
    for hit in hits:
        o = out.setdefault(key(hit), {"hits": 0, "subjects": set(), "best_bitscore": 0.0,
                                      "best_evalue": float("inf"), "best_pident": 0.0})  # fmt: skip
        o["hits"] += 1
        o["subjects"].add(hit["subject_id"])
        o["best_bitscore"] = max(o["best_bitscore"], hit["max_score"])
        o["best_evalue"] = min(o["best_evalue"], hit["evalue"])
        o["best_pident"] = max(o["best_pident"], hit["pident"])
    return out


def _check_organisms(report: dict, expected: dict[int, dict]) -> None:
    got = {o["taxid"]: o for o in report["organisms"]}
    assert set(got) == set(expected)
    for taxid, want in expected.items():
        o = got[taxid]
        assert o["hits"] == want["hits"], taxid
        assert o["subjects"] == len(want["subjects"]), taxid
        for name in ("best_bitscore", "best_evalue", "best_pident"):
            assert o[name] == want[name], (taxid, name)
    scores = [o["best_bitscore"] for o in report["organisms"]]
    assert scores == sorted(scores, reverse=True)
    assert report["hits"] == sum(w["hits"] for w in expected.values())


def _check_tree(report: dict, hits: list[dict], taxonomy: Taxonomy) -> None:
    tree = report["tree"]
    seen: dict[int, dict] = {}
    for node in tree:  # pre-order: a node's parent comes before it, one level up
        if node["parent_taxid"] is None:
            assert node["depth"] == 0
        else:
            assert seen[node["parent_taxid"]]["depth"] == node["depth"] - 1
        seen[node["taxid"]] = node
    assert len(seen) == len(tree)
    for node in tree:
        if not node["taxid"]:
            under = [h for h in hits if not h["taxid"]]
        else:
            members = set(taxonomy.descendants(node["taxid"]).tolist())
            under = [h for h in hits if h["taxid"] in members]
        assert node["hits"] == len(under), node
        assert node["subjects"] == len({h["subject_id"] for h in under}), node
        children = [n for n in tree if n["parent_taxid"] == node["taxid"] and node["taxid"]]
        assert [c["hits"] for c in children] == sorted((c["hits"] for c in children), reverse=True)
    top = sum(n["hits"] for n in tree if n["parent_taxid"] is None)
    assert top == len(hits) == report["hits"]


def test_the_whole_job(client: TestClient, job: dict, taxonomy: Taxonomy) -> None:
    hits = _hits(client, job)
    report = _report(client, job)
    assert (report["job_id"], report["query_index"], report["rank"]) == (job["id"], None, None)
    assert report["partial"] is False
    _check_organisms(report, _expected_organisms(hits, lambda h: h["taxid"] or 0))
    assert report["subjects"] == len({h["subject_id"] for h in hits}) < len(hits)
    _check_tree(report, hits, taxonomy)
    bacteria = next(n for n in report["tree"] if n["taxid"] == 2)
    assert (bacteria["name"], bacteria["rank"], bacteria["depth"]) == (
        "Bacteria",
        "superkingdom",
        0,
    )
    unknown = next(o for o in report["organisms"] if o["taxid"] == 0)  # subjects without taxid
    assert unknown["scientific_name"] is None and unknown["lineage"] == []
    named = next(o for o in report["organisms"] if o["taxid"] and o["rank"] == "species")
    assert named["lineage"][0] == "Bacteria" and named["lineage"][-1] == named["scientific_name"]


def test_one_query(client: TestClient, job: dict, taxonomy: Taxonomy) -> None:
    hits = _hits(client, job, query_index=2)
    report = _report(client, job, query_index=2)
    assert (report["query_index"], report["query_id"]) == (2, "q2")
    _check_organisms(report, _expected_organisms(hits, lambda h: h["taxid"] or 0))
    assert report["subjects"] == report["hits"] == len(hits)
    _check_tree(report, hits, taxonomy)
    assert _report(client, job, query_id="q2") == report
    noise = _report(client, job, query_id="noise")
    assert (noise["hits"], noise["tree"], noise["organisms"]) == (0, [], [])


@pytest.mark.parametrize("rank", ["phylum", "genus"])
def test_rolled_up_to_a_rank(client: TestClient, job: dict, taxonomy: Taxonomy, rank) -> None:
    hits = _hits(client, job)

    def at_rank(hit: dict) -> int:
        """The ancestor at `rank`, else the nearest at a rank above, else the taxon."""
        if not hit["taxid"]:
            return 0
        for above in reversed(STANDARD_RANKS[: STANDARD_RANKS.index(rank) + 1]):
            if hit["lineage"][above]:
                return hit["lineage"][above]["taxid"]
        return hit["taxid"]

    report = _report(client, job, rank=rank)
    assert report["rank"] == rank
    _check_organisms(report, _expected_organisms(hits, at_rank))
    at_or_above = STANDARD_RANKS[: STANDARD_RANKS.index(rank) + 1]
    for node in report["tree"]:
        if node["rank"] not in (*at_or_above, None):  # only a taxon with no ancestor to go to
            lineage = taxonomy.get(node["taxid"]).lineage
            assert not any(lineage[r] for r in at_or_above), node
    assert {n["rank"] for n in report["tree"]} >= {"superkingdom", rank}
    _check_tree(report, hits, taxonomy)


def test_tsv_download(client: TestClient, job: dict) -> None:
    response = client.get(f"/api/jobs/{job['id']}/taxonomy", params={"format": "tsv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/tab-separated-values")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text), delimiter="\t"))
    report = _report(client, job)
    assert len(rows) == len(report["organisms"])
    for row, organism in zip(rows, report["organisms"], strict=True):
        assert int(row["taxid"]) == organism["taxid"]
        assert row["scientific_name"] == (organism["scientific_name"] or "")
        assert int(row["hits"]) == organism["hits"]
        assert float(row["best_evalue"]) == organism["best_evalue"]
        assert row["lineage"] == "; ".join(organism["lineage"])


def test_the_summary_is_kept_beside_the_index(client: TestClient, job: dict) -> None:
    _report(client, job)
    work_dir = Path(client.app.state.runtime.settings.jobs_dir) / job["id"]
    path = index_dir(work_dir) / SUMMARY_FILE
    assert path.is_file()
    fresh = load_current(work_dir)  # as another process would load it
    expected = summarize(fresh)
    mtime = path.stat().st_mtime_ns
    kept = summary_of(fresh, work_dir)
    assert path.stat().st_mtime_ns == mtime  # read, not made again
    for name, value in vars(expected).items():
        assert (getattr(kept, name) == value).all(), name
    path.write_bytes(b"not a summary")  # a damaged file is made again
    again = summary_of(load_current(work_dir), work_dir)
    assert (again.hits == expected.hits).all() and path.stat().st_size > 100


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"rank": "strain"}, 422, "invalid_request"),
        ({"rank": "Genus"}, 422, "invalid_request"),
        ({"query_index": 99}, 404, "not_found"),
        ({"query_index": -1}, 422, "invalid_request"),
        ({"query_id": "nope"}, 404, "not_found"),
        ({"query_id": "x" * 201}, 422, "invalid_request"),
        ({"format": "xml"}, 422, "invalid_request"),
    ],
)
def test_bad_input(client: TestClient, job: dict, params, status, code) -> None:
    response = client.get(f"/api/jobs/{job['id']}/taxonomy", params=params)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code and body["message"]


def test_unknown_job(client: TestClient) -> None:
    response = client.get("/api/jobs/00000000-0000-0000-0000-000000000000/taxonomy")
    assert response.status_code == 404 and response.json()["error_code"] == "job_not_found"
