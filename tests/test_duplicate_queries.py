"""Two queries with the same id are two queries: BLAST numbers them, and BlastDeck addresses each
by its place in the job (`query_index`), in /queries, /hsps, /hits and /alignments. A filter by
id matches every query with that id."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from tests.conftest import api_job, make_settings, wait_for_job


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, demo_16s):
    settings = make_settings(tmp_path_factory.mktemp("dup") / "data")
    with TestClient(create_app(settings)) as client:
        first, second = demo_16s[0], demo_16s[5]
        query = f">same first copy\n{first[1]}\n>same second copy\n{second[1]}\n"
        body = {"program": "blastn", "database": "demo-16s", "query": query}
        job = wait_for_job(api_job(client), client.post("/api/jobs", json=body).json()["id"])
        assert job["phase"] == "completed", job
        yield client, job, (first, second)


def test_queries_lists_both_by_their_place(setup) -> None:
    client, job, _ = setup
    summary = client.get(f"/api/jobs/{job['id']}/queries").json()["items"]
    assert [(q["query_index"], q["query_id"]) for q in summary] == [(0, "same"), (1, "same")]
    assert all(q["hsps"] > 0 for q in summary)


def test_each_querys_hsps_and_hits_by_index(setup) -> None:
    client, job, (first, second) = setup
    for index, source in ((0, first), (1, second)):
        for route in ("hsps", "hits"):
            page = client.get(
                f"/api/jobs/{job['id']}/{route}", params={"query_index": index, "limit": 1000}
            ).json()
            assert page["total"] > 0 and {r["query_index"] for r in page["items"]} == {index}
            assert page["items"][0]["subject_id"] == source[0].split()[0]  # finds itself first
    both = client.get(f"/api/jobs/{job['id']}/hsps", params={"query_id": "same", "limit": 1000})
    assert {r["query_index"] for r in both.json()["items"]} == {0, 1}


def test_each_querys_alignments_by_index(setup) -> None:
    client, job, (first, second) = setup
    for index, source in ((0, first), (1, second)):
        rows = client.get(
            f"/api/jobs/{job['id']}/alignments", params={"query_index": index, "limit": 500}
        ).json()["items"]
        assert rows
        for hsp in rows:
            assert (
                hsp["qseq"].replace("-", "").upper() == source[1][hsp["qstart"] - 1 : hsp["qend"]]
            )
