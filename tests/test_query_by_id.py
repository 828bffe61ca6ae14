"""A query given as sequence ids (an accession, a GI, `sp|P69905|HBA_HUMAN`), as NCBI takes
it: BlastDeck reads each id's record from its own databases with blastdbcmd and searches
that, or refuses the ids no database the user may use has (`query_id_not_found`, naming them
and where it looked). The rule telling ids from sequences is tested on its own first."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from blastdeck.domain.query_ids import lookup_forms, sequence_ids
from tests.conftest import api_job, fasta, make_settings, wait_for_job

REPO = Path(__file__).resolve().parents[1]


# The cases are shared with the web page's own check (web/src/validation/query.test.ts).
ID_CASES = json.loads((REPO / "web/src/validation/queryIds.cases.json").read_text())["cases"]


@pytest.mark.parametrize("case", ID_CASES, ids=lambda c: repr(c["text"][:30]))
def test_a_query_is_a_list_of_ids_only_when_every_word_can_be_only_an_id(case: dict) -> None:
    assert sequence_ids(case["text"]) == case["ids"]


@pytest.mark.parametrize(
    "seq_id, forms",
    [
        ("NR_025211.1", ["NR_025211.1", "NR_025211"]),
        ("AB362592", ["AB362592"]),
        ("X.v1", ["X.v1"]),
        ("EMBL:AB362592", ["EMBL:AB362592", "AB362592"]),
        ("UNIPROT:P69905.2", ["UNIPROT:P69905.2", "UNIPROT:P69905", "P69905.2", "P69905"]),
        ("gnl|BL:1", ["gnl|BL:1"]),
        (":A1", [":A1"]),
    ],
)
def test_an_id_is_looked_up_as_given_then_without_version_then_without_ebis_prefix(
    seq_id: str, forms: list[str]
) -> None:
    assert lookup_forms(seq_id) == forms


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("query-ids") / "data")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def submit(client: TestClient, **body: object):  # type: ignore[no-untyped-def]
    return client.post("/api/jobs", json=body)


def finished(client: TestClient, response) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == 202, response.text
    job = wait_for_job(api_job(client), response.json()["id"])
    assert job["phase"] == "completed", job
    return job


def test_an_accession_searches_the_databases_own_record_of_it(client: TestClient, demo_16s) -> None:
    defline, sequence = demo_16s[3]
    accession = defline.split()[0]
    by_id = finished(client, submit(client, program="blastn", database="demo-16s", query=accession))
    by_fasta = finished(
        client, submit(client, program="blastn", database="demo-16s", query=fasta([demo_16s[3]]))
    )
    query = client.get(f"/api/jobs/{by_id['id']}/query").text
    assert query.splitlines()[0].split()[0] == f">{accession}"
    assert "".join(query.splitlines()[1:]) == sequence.upper()
    assert by_id["title"].startswith(accession)

    def rows(job: dict) -> list[tuple]:
        items = client.get(f"/api/jobs/{job['id']}/hsps", params={"limit": 1000}).json()["items"]
        return [(h["subject_id"], h["qstart"], h["qend"], h["bitscore"]) for h in items]

    assert rows(by_id) == rows(by_fasta) and rows(by_id)[0][0] == accession
    events = client.get(f"/api/jobs/{by_id['id']}/events").json()["items"]
    assert [e["message"] for e in events if e["kind"] == "query_read_by_id"] == [
        f"query read by id: {accession} from demo-16s"
    ]
    prepared = next(e["message"] for e in events if e["kind"] == "step_completed")
    assert prepared == f"1 query, {len(sequence):,} letters"  # not "1 queries"


def test_several_ids_with_a_version_the_database_lacks_keep_their_order(
    client: TestClient, demo_16s
) -> None:
    ids = [d.split()[0] for d, _ in demo_16s[5:8]]
    text = f"{ids[2]}.1\nEMBL:{ids[0]}, {ids[1]}\nEMBL:{ids[0]}"
    job = finished(client, submit(client, program="blastn", database="demo-16s", query=text))
    assert job["query_count"] == 3
    query = client.get(f"/api/jobs/{job['id']}/query").text
    assert [line.split()[0][1:] for line in query.splitlines() if line.startswith(">")] == [
        ids[2],
        ids[0],
        ids[1],
    ]


def test_an_uploaded_file_of_ids_is_read_too(client: TestClient, demo_16s) -> None:
    accession = demo_16s[9][0].split()[0]
    response = client.post(
        "/api/jobs",
        data={"program": "blastn", "database": "demo-16s"},
        files={"query": ("ids.txt", f"{accession}\n".encode(), "text/plain")},
    )
    job = finished(client, response)
    assert job["title"].startswith(f"{accession} ")


def test_a_protein_id_is_read_from_another_database_of_its_molecule(
    client: TestClient, demo_proteins
) -> None:
    """tblastn searches a nucleotide database with a protein query: the id is found in the
    protein databases the user can use."""
    accession = demo_proteins[0][0].split()[0]
    job = finished(client, submit(client, program="tblastn", database="demo-16s", query=accession))
    events = client.get(f"/api/jobs/{job['id']}/events").json()["items"]
    assert f"{accession} from demo-proteins" in next(
        e["message"] for e in events if e["kind"] == "query_read_by_id"
    )


@pytest.mark.parametrize(
    "program, database, query, missing",
    [
        ("blastn", "demo-16s", "NOPE12345", "NOPE12345"),
        ("blastn", "demo-16s", "AB362592\nNOPE1\nNOPE2", "NOPE1,NOPE2"),
        ("blastx", "demo-proteins", "P69905", "P69905"),  # a protein id for a nucleotide query
    ],
)
def test_ids_no_database_has_are_refused_by_name_and_nothing_is_stored(
    client: TestClient, program: str, database: str, query: str, missing: str
) -> None:
    before = client.get("/api/jobs").json()["total"]
    response = submit(client, program=program, database=database, query=query)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error_code"] == "query_id_not_found" and body["field"] == "query"
    assert body["detail"] == {"ids": missing}
    assert all(m in body["message"] for m in missing.split(","))
    assert "demo-16s" in body["message"] and "cannot fetch them from NCBI" in body["message"]
    assert client.get("/api/jobs").json()["total"] == before


def test_a_long_sequence_with_a_stray_digit_still_gets_the_fasta_gates_message(
    client: TestClient,
) -> None:
    response = submit(client, program="blastn", database="demo-16s", query="ACGT" * 20 + "7ACGT")
    assert response.status_code == 422
    assert response.json()["error_code"] == "invalid_fasta"
    assert "'7'" in response.json()["message"]


def test_more_ids_than_a_job_may_have_sequences_are_refused_before_any_lookup(
    client: TestClient,
) -> None:
    text = "\n".join(f"ID{i}" for i in range(10_001))
    response = submit(client, program="blastn", database="demo-16s", query=text)
    assert response.status_code == 422
    assert response.json()["error_code"] == "too_many_sequences"


def test_another_users_private_database_is_never_read(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    settings = make_settings(tmp_path_factory.mktemp("query-ids-auth") / "data", auth="on")
    secret = ("SECRET_001 private gene", "ACGTTGCAAGGCTTAACCGGTTAACGTAGCTAGCTAGGCTAACGTTAGC" * 4)
    with TestClient(create_app(settings)) as client:
        users = client.app.state.runtime.users
        users.add("alice")
        users.add("bob")
        alice = {"Authorization": f"Bearer {users.create_token('alice')}"}
        bob = {"Authorization": f"Bearer {users.create_token('bob')}"}
        made = client.post(
            "/api/databases",
            data={"name": "mine"},
            files={"file": ("mine.fa", fasta([secret]).encode(), "text/plain")},
            headers=alice,
        )
        assert made.status_code == 201, made.text
        body = {"program": "blastn", "database": "demo-16s", "query": "SECRET_001"}
        refused = client.post("/api/jobs", json=body, headers=bob)
        assert refused.status_code == 422 and refused.json()["error_code"] == "query_id_not_found"
        assert "alice" not in refused.json()["message"] and "mine" not in refused.json()["message"]
        taken = client.post("/api/jobs", json=body, headers=alice)
        assert taken.status_code == 202, taken.text
        query = client.get(f"/api/jobs/{taken.json()['id']}/query", headers=alice).text
        assert query.startswith(">SECRET_001 private gene")
