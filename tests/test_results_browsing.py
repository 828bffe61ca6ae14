"""What the web page's search form and result tabs read: programs, job search, the submitted
query, per-query summaries, filtered/sorted hits and pairwise alignments (real BLAST+, on
SQLite, PostgreSQL and distributed)."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from blastdeck.results.hits import hit_table
from blastdeck.results.hsp_index import HspTable
from blastdeck.store.new_job import NewJob
from tests.conftest import api_job, fasta, wait_for_job


@pytest.fixture(scope="module")
def job(client: TestClient, demo_16s) -> dict:
    """Three 16S genes (hits) and a shuffled sequence (none)."""
    queries = [*demo_16s[3:6], ("shuffled", "ACGT" * 60)]
    body = {
        "program": "blastn",
        "database": "demo-16s",
        "query": fasta(queries),
        "title": "browse me",
        "options": {"evalue": 1e-5, "max_target_seqs": 25},
    }
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 202, response.text
    done = wait_for_job(api_job(client), response.json()["id"])
    assert done["phase"] == "completed", done
    return done | {"queries": queries}


def all_hits(client: TestClient, job_id: str) -> list[dict]:
    response = client.get(f"/api/jobs/{job_id}/hsps", params={"limit": 1000})
    assert response.status_code == 200
    assert response.json()["total"] == len(response.json()["items"])
    return response.json()["items"]


def test_programs_name_the_molecules_and_tasks(client: TestClient) -> None:
    items = {p["name"]: p for p in client.get("/api/programs").json()["items"]}
    assert set(items) == {"blastn", "blastp", "blastx", "tblastn", "tblastx"}
    assert items["blastx"]["query_molecule"] == "nucl"
    assert items["blastx"]["database_molecule"] == "prot"
    assert items["tblastn"]["query_molecule"] == "prot"
    assert items["blastn"]["default_task"] == "megablast"
    assert "blastn-short" in items["blastn"]["tasks"]


def test_job_list_search_matches_title_id_and_database(client: TestClient, job: dict) -> None:
    for term in ("BROWSE", job["id"][:8], "demo-16"):
        found = client.get("/api/jobs", params={"q": term, "limit": 500}).json()
        assert job["id"] in [j["id"] for j in found["items"]], term
    nothing = client.get("/api/jobs", params={"q": "no such title %_"}).json()
    assert nothing["total"] == 0 and nothing["items"] == []
    too_long = client.get("/api/jobs", params={"q": "x" * 201})
    assert too_long.status_code == 422 and too_long.json()["error_code"] == "invalid_request"


def test_the_submitted_query_can_be_fetched_to_run_again(client: TestClient, job: dict) -> None:
    response = client.get(f"/api/jobs/{job['id']}/query")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/")
    records = [block.partition("\n") for block in response.text.split(">")[1:]]
    assert [(h, seq.replace("\n", "")) for h, _, seq in records] == job["queries"]


def test_queries_summary_counts_each_querys_hits_and_hsps(client: TestClient, job: dict) -> None:
    hsps = all_hits(client, job["id"])
    summary = client.get(f"/api/jobs/{job['id']}/queries").json()["items"]
    assert [q["query_index"] for q in summary] == [0, 1, 2, 3]
    assert summary[3] == {
        "query_index": 3,
        "query_id": "shuffled",
        "qlen": None,
        "hsps": 0,
        "hits": 0,
    }
    for item in summary[:3]:
        own = [h for h in hsps if h["query_index"] == item["query_index"]]
        assert item["hsps"] == len(own) > 0
        assert item["hits"] == len({h["subject_id"] for h in own}) > 0
        assert item["qlen"] == own[0]["qlen"] == len(job["queries"][item["query_index"]][1])


def all_descriptions(client: TestClient, job_id: str) -> list[dict]:
    response = client.get(f"/api/jobs/{job_id}/hits", params={"limit": 1000})
    assert response.status_code == 200, response.text
    assert response.json()["total"] == len(response.json()["items"])
    return response.json()["items"]


def test_hits_are_ncbis_descriptions_one_row_per_query_and_subject(
    client: TestClient, job: dict
) -> None:
    hsps = all_hits(client, job["id"])
    hits = all_descriptions(client, job["id"])
    pairs = {(h["query_index"], h["subject_id"]) for h in hsps}
    assert len(hits) == len(pairs) == job["hits_total"] < job["hsps_total"] == len(hsps)
    for hit in hits:
        own = [
            h
            for h in hsps
            if (h["query_index"], h["subject_id"]) == (hit["query_index"], hit["subject_id"])
        ]
        assert hit["hsps"] == len(own)
        assert hit["max_score"] == max(h["bitscore"] for h in own)
        assert hit["total_score"] == pytest.approx(sum(h["bitscore"] for h in own))
        assert hit["total_score"] == round(hit["total_score"], 1)  # as BLAST writes scores
        assert hit["evalue"] == min(h["evalue"] for h in own)
        assert hit["pident"] == max(h["pident"] for h in own)
        assert hit["qcovs"] == own[0]["qcovs"] >= max(h["qcovhsp"] for h in own)
        assert hit["slen"] == own[0]["slen"] and hit["subject_title"] == own[0]["subject_title"]
    assert any(h["hsps"] > 1 for h in hits), "the job must have hits of several HSPs"


def test_a_hits_hsps_one_request_away(client: TestClient, job: dict) -> None:
    """The HSPs of one hit: /hsps filtered by the hit's query (index) and subject."""
    hit = next(h for h in all_descriptions(client, job["id"]) if h["hsps"] > 1)
    params = {"query_index": hit["query_index"], "subject_id": hit["subject_id"]}
    page = client.get(f"/api/jobs/{job['id']}/hsps", params=params).json()
    assert page["total"] == hit["hsps"]
    assert {(r["query_index"], r["subject_id"]) for r in page["items"]} == {
        (hit["query_index"], hit["subject_id"])
    }
    none = client.get(f"/api/jobs/{job['id']}/hsps", params={"subject_id": "no-such"}).json()
    assert none["total"] == 0


def test_default_order_is_blasts_ranking(client: TestClient, job: dict) -> None:
    """E-value ascending, then bit score descending, then query order: an e-value tie (0.0 is
    common) never puts a weaker hit first."""
    for rows, score in (
        (all_hits(client, job["id"]), "bitscore"),
        (all_descriptions(client, job["id"]), "max_score"),
    ):
        keys = [(r["evalue"], -r[score], r["query_index"]) for r in rows]
        assert keys == sorted(keys)
        assert sum(r["evalue"] == 0.0 for r in rows) > 1, "ties must be exercised"


@pytest.mark.parametrize(
    "sort", ["evalue", "max_score", "total_score", "qcovs", "pident", "slen", "subject_id"]
)
def test_hits_sort_by_every_column(client: TestClient, job: dict, sort: str) -> None:
    high_first = sort not in ("evalue", "subject_id")
    rows = client.get(f"/api/jobs/{job['id']}/hits", params={"sort": sort, "limit": 1000})
    values = [h[sort] for h in rows.json()["items"]]
    assert values == sorted(values, reverse=high_first)


def test_hits_filter_by_query_index_cover_and_identity(client: TestClient, job: dict) -> None:
    hits = all_descriptions(client, job["id"])
    params = {"query_index": 1, "min_qcovs": 50, "min_pident": 80, "limit": 1000}
    body = client.get(f"/api/jobs/{job['id']}/hits", params=params).json()
    expected = [h for h in hits if h["query_index"] == 1 and h["qcovs"] >= 50 and h["pident"] >= 80]
    assert 0 < body["total"] == len(expected) < len(hits)
    assert body["partial"] is False


@pytest.mark.parametrize(
    ("params", "keep"),
    [
        ({"min_pident": 90}, lambda h: h["pident"] >= 90),
        ({"min_qcovhsp": 95}, lambda h: h["qcovhsp"] >= 95),
        ({"max_evalue": 1e-100}, lambda h: h["evalue"] <= 1e-100),
        (
            {"min_pident": 80, "max_evalue": 1e-50},
            lambda h: h["pident"] >= 80 and h["evalue"] <= 1e-50,
        ),
    ],
)
def test_hit_filters_keep_exactly_the_matching_hsps(
    client: TestClient, job: dict, params: dict, keep
) -> None:
    hits = all_hits(client, job["id"])
    expected = [h for h in hits if keep(h)]
    assert 0 < len(expected) < len(hits), "the filter must actually cut"
    response = client.get(f"/api/jobs/{job['id']}/hsps", params={**params, "limit": 1000})
    body = response.json()
    assert body["total"] == len(expected)
    key = lambda h: (h["query_id"], h["subject_id"], h["qstart"], h["sstart"])  # noqa: E731
    assert sorted(map(key, body["items"])) == sorted(map(key, expected))


@pytest.mark.parametrize(
    ("sort", "field", "high_first"),
    [
        ("pident", "pident", True),
        ("qcovhsp", "qcovhsp", True),
        ("bitscore", "bitscore", True),
        ("length", "length", True),
        ("evalue", "evalue", False),
        ("subject_id", "subject_id", False),
    ],
)
def test_hits_sort_by_every_column_the_table_offers(
    client: TestClient, job: dict, sort: str, field: str, high_first: bool
) -> None:
    items = client.get(f"/api/jobs/{job['id']}/hsps", params={"sort": sort, "limit": 1000}).json()
    values = [h[field] for h in items["items"]]
    assert values == sorted(values, reverse=high_first)
    flipped = client.get(
        f"/api/jobs/{job['id']}/hsps",
        params={"sort": sort, "order": "asc" if high_first else "desc", "limit": 1000},
    ).json()
    assert [h[field] for h in flipped["items"]] == sorted(values, reverse=not high_first)


def test_sort_by_query_is_input_order(client: TestClient, job: dict) -> None:
    items = client.get(f"/api/jobs/{job['id']}/hsps", params={"sort": "query", "limit": 1000})
    order = [h["query_id"] for h in items.json()["items"]]
    first_seen = list(dict.fromkeys(order))
    assert first_seen == [q[0].split()[0] for q in job["queries"][:3]]


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "qseq"},
        {"min_pident": 101},
        {"min_qcovhsp": -1},
        {"max_evalue": "abc"},
        {"query_id": "q" * 201},
    ],
)
def test_bad_hit_parameters_are_refused(client: TestClient, job: dict, params: dict) -> None:
    response = client.get(f"/api/jobs/{job['id']}/hsps", params=params)
    assert response.status_code == 422 and response.json()["error_code"] == "invalid_request"


def test_alignments_show_each_hsp_with_its_sequences(client: TestClient, job: dict) -> None:
    hits = all_hits(client, job["id"])
    for index, (defline, sequence) in enumerate(job["queries"][:3]):
        query_id = defline.split()[0]
        own = [h for h in hits if h["query_id"] == query_id]
        response = client.get(
            f"/api/jobs/{job['id']}/alignments", params={"query_id": query_id, "limit": 500}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == len(own), f"query {index}"
        for hsp in body["items"]:
            assert len(hsp["qseq"]) == len(hsp["hseq"]) == len(hsp["midline"]) == hsp["align_len"]
            # the aligned query, gaps removed, is the query's stretch BLAST reports (masked
            # low-complexity letters come back in lower case)
            assert hsp["qseq"].replace("-", "").upper() == sequence[hsp["qstart"] - 1 : hsp["qend"]]
            assert hsp["midline"].count("|") == hsp["identity"]
        hit_keys = sorted((h["subject_id"], h["qstart"], h["qend"]) for h in own)
        aln_keys = sorted((a["subject_id"], a["qstart"], a["qend"]) for a in body["items"])
        assert [k[0].split(".")[0] for k in hit_keys] == [k[0].split(".")[0] for k in aln_keys]
        assert [k[1:] for k in hit_keys] == [k[1:] for k in aln_keys]


def test_alignments_page_and_unknown_query(client: TestClient, job: dict) -> None:
    query_id = job["queries"][0][0].split()[0]
    url = f"/api/jobs/{job['id']}/alignments"
    everything = client.get(url, params={"query_id": query_id, "limit": 500}).json()["items"]
    page = client.get(url, params={"query_id": query_id, "limit": 2, "offset": 1}).json()
    assert page["items"] == everything[1:3]
    none = client.get(url, params={"query_id": "shuffled"}).json()
    assert none == {"items": [], "total": 0, "limit": 20, "offset": 0}
    missing = client.get(url)
    assert missing.status_code == 422 and missing.json()["field"] == "query_index"
    by_index = client.get(url, params={"query_index": 0, "limit": 500}).json()["items"]
    assert by_index == everything


def test_alignments_of_an_unfinished_or_unknown_job(client: TestClient, job: dict) -> None:
    unknown = client.get("/api/jobs/nope/alignments", params={"query_id": "x"})
    assert unknown.status_code == 404 and unknown.json()["error_code"] == "job_not_found"
    for route in ("queries", "query", "stream"):
        response = client.get(f"/api/jobs/nope/{route}")
        assert response.status_code == 404 and response.json()["error_code"] == "job_not_found"


def test_config_preview_shows_the_exact_blast_commands(client: TestClient, job: dict) -> None:
    response = client.get(f"/api/jobs/{job['id']}/config")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/")
    text = response.text
    commands = [line for line in text.splitlines() if line.split(" ")[0].endswith("/blastn")]
    assert len(commands) == job["progress"]["batches_total"] >= 1
    for command in commands:
        assert "-db demo-16s" in command and "-evalue 1e-05" in command
        assert "-max_target_seqs 25" in command
    assert "browse me" not in text  # the user's title never reaches a command line


def test_config_preview_waits_for_configure(client: TestClient) -> None:
    unknown = client.get("/api/jobs/nope/config")
    assert unknown.status_code == 404 and unknown.json()["error_code"] == "job_not_found"
    # A job that never reaches Configure: its cluster does not exist, so it stays queued until
    # the pipeline claims it and fails it, before any plan is written.
    jobs = client.app.state.runtime.jobs
    new = NewJob("never configured", "blastn", "demo-16s", "no-such-cluster", "default", {},
                 ">q\nACGT\n", 1, 4)  # fmt: skip
    job_id = jobs.create(new).id
    try:
        early = client.get(f"/api/jobs/{job_id}/config")
        assert early.status_code == 409, early.text
        body = early.json()
        assert body["error_code"] == "results_not_ready"
        assert "once Configure is done" in body["message"], body
    finally:
        jobs.delete(job_id)


def test_a_total_score_is_written_as_blast_writes_scores() -> None:
    """A hit's total score is the sum of its HSPs' bit scores, which BLAST writes with at
    most one decimal: 42.3 + 52.4 + 41.1 is 135.8, not float addition's 135.79999999999998."""
    bitscores = np.array([42.3, 52.4, 41.1, 40.1, 40.2])
    hsps = HspTable(
        version=(),
        columns={
            "query_index": np.array([0, 0, 0, 1, 1]),
            "subject": np.array([0, 0, 0, 1, 1]),
            "bitscore": bitscores,
            "qcovs": np.full(5, 50),
            "evalue": np.full(5, 1e-10),
            "pident": np.full(5, 90.0),
            "slen": np.full(5, 1500),
            "staxid": np.zeros(5, "i8"),
        },
        subject_ids=None,
        subject_titles=None,
        query_ids={0: "q0", 1: "q1"},
    )
    assert float(42.3 + 52.4 + 41.1) != 135.8  # what the test is about
    assert hit_table(hsps).columns["total_score"].tolist() == [135.8, 80.3]
