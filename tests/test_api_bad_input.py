"""Every bad input gets a 4xx with a stable error_code and a message; nothing stored is harmed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import api_job, fasta, wait_for_job

PROTEIN = "MVHLTPEEKSAVTALWGKVNVDEVGGEALGRLLVVYPWTQRFFESFGDLSTPDAVMGNPKVKAHGKKVLGAFSDG"
DNA = "ACGTTGCAAGGCTTACGATCGATCGGATCGATTAGCTAGCTAGGATCCGATCGATCGATGCATGCTAGCTAGCAT"


@pytest.fixture(scope="module")
def kept_job(client: TestClient, demo_16s) -> dict:
    """A finished job that every bad request below must leave intact."""
    body = {"program": "blastn", "database": "demo-16s", "query": fasta(demo_16s[:1])}
    job = client.post("/api/jobs", json=body).json()
    return wait_for_job(api_job(client), job["id"])


def post_job(client: TestClient, **overrides) -> tuple[int, dict]:
    body = {"program": "blastn", "database": "demo-16s", "query": f">q1\n{DNA}\n", **overrides}
    response = client.post("/api/jobs", json=body)
    return response.status_code, response.json()


def assert_error(status: int, body: dict, want_status: int, code: str) -> None:
    assert status == want_status, body
    assert body["error_code"] == code, body
    assert isinstance(body["message"], str) and len(body["message"]) > 10


@pytest.mark.parametrize(
    "query, code",
    [
        ("", "empty_query"),
        ("   \n\n  ", "empty_query"),
        ("hello, world! this is not FASTA.", "invalid_fasta"),
        ('{"sequence": "ACGT"}', "invalid_fasta"),
        (f">q1\n{PROTEIN}\n", "query_molecule_mismatch"),
        (">q1\nACGTACGT1234ACGT@@\n", "invalid_residues"),
        (">" + "x" * 100_000 + "\nACGTACGTACGT\n", "header_too_long"),
        (">q1\nACGT\x00\x01\x02ACGT\n", "binary_data"),
    ],
    ids=[
        "empty",
        "blank",
        "prose",
        "json",
        "protein-to-blastn",
        "residues",
        "100kb-header",
        "binary",
    ],
)
def test_bad_queries(client: TestClient, kept_job: dict, query: str, code: str) -> None:
    status, body = post_job(client, query=query)
    assert_error(status, body, 422, code)
    assert body["field"] == "query"


def test_nucleotide_query_to_blastp(client: TestClient) -> None:
    status, body = post_job(client, program="blastp", database="demo-proteins")
    assert_error(status, body, 422, "query_molecule_mismatch")


def test_sequence_over_the_size_limit(client: TestClient) -> None:
    status, body = post_job(client, query=">big\n" + "ACGT" * 250_001 + "\n")
    assert_error(status, body, 422, "sequence_too_long")
    assert "1000000" in body["message"].replace(",", "")


def test_body_over_the_upload_limit(client: TestClient) -> None:
    status, body = post_job(client, query=">big\n" + "A" * 2_100_000)
    assert_error(status, body, 413, "payload_too_large")
    files = {"query": ("big.fa", b">x\n" + b"A" * 2_100_000, "text/plain")}
    response = client.post(
        "/api/jobs", data={"program": "blastn", "database": "demo-16s"}, files=files
    )
    assert_error(response.status_code, response.json(), 413, "payload_too_large")


def test_binary_upload(client: TestClient) -> None:
    files = {"query": ("q.fa", bytes(range(256)) * 20, "application/octet-stream")}
    response = client.post(
        "/api/jobs", data={"program": "blastn", "database": "demo-16s"}, files=files
    )
    assert_error(response.status_code, response.json(), 422, "binary_data")


def test_unknown_database_and_wrong_molecule(client: TestClient) -> None:
    status, body = post_job(client, database="no-such-db")
    assert_error(status, body, 404, "unknown_database")
    status, body = post_job(client, database="demo-proteins")
    assert_error(status, body, 422, "database_molecule_mismatch")


def test_unknown_program_cluster_namespace(client: TestClient) -> None:
    assert_error(*post_job(client, program="blastz"), 422, "unknown_program")
    assert_error(*post_job(client, cluster="nowhere"), 422, "unknown_cluster")
    assert_error(*post_job(client, namespace="Bad_NS!"), 422, "invalid_namespace")


@pytest.mark.parametrize(
    "options",
    [
        {"out": "/etc/passwd"},
        {"-out": "/etc/passwd"},
        {"; rm -rf /": "1"},
        {"db": "other"},
        {"-db": "other"},
        {"num_threads": 999},
        {"-num_threads": "999"},
        {"remote": True},
        {"-remote": ""},
        {"outfmt": "6"},
    ],
    ids=lambda o: next(iter(o)),
)
def test_options_outside_the_allow_list(client: TestClient, options: dict) -> None:
    status, body = post_job(client, options=options)
    assert_error(status, body, 422, "option_not_allowed")


@pytest.mark.parametrize(
    "options",
    [
        {"evalue": "abc"},
        {"evalue": "1e-5; rm -rf /"},
        {"evalue": -1},
        {"max_target_seqs": "many"},
        {"word_size": True},
    ],
    ids=["evalue-abc", "evalue-shell", "evalue-negative", "mts-text", "word-size-bool"],
)
def test_bad_option_values(client: TestClient, options: dict) -> None:
    status, body = post_job(client, options=options)
    assert_error(status, body, 422, "invalid_option_value")


def test_malformed_json_and_missing_fields(client: TestClient) -> None:
    response = client.post(
        "/api/jobs", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_error(response.status_code, response.json(), 422, "invalid_request")
    response = client.post("/api/jobs", json={"program": "blastn"})
    assert_error(response.status_code, response.json(), 422, "invalid_request")


@pytest.mark.parametrize(
    "name", ["../evil", "../../tmp/evil", "/etc/evil", "a/b", "..", ".hidden", "-rf"]
)
def test_path_traversal_in_database_names(client: TestClient, name: str, tmp_path: Path) -> None:
    data_dir = client.app.state.runtime.settings.resolved_data_dir
    before = _tree(data_dir.parent)
    files = {"file": ("ok.fa", b">s1\nACGTACGTACGTACGTACGT\n", "text/plain")}
    response = client.post("/api/databases", data={"name": name}, files=files)
    assert_error(response.status_code, response.json(), 422, "invalid_name")
    response = client.post("/api/databases", json={"name": name, "path": "/tmp/x"})
    assert_error(response.status_code, response.json(), 422, "invalid_name")
    assert _tree(data_dir.parent) == before


@pytest.mark.parametrize("filename", ["../../evil.fa", "..\\evil.fa", "/etc/evil.fa"])
def test_path_traversal_in_upload_file_names(client: TestClient, filename: str) -> None:
    data_dir = client.app.state.runtime.settings.resolved_data_dir
    before = _tree(data_dir.parent)
    files = {"file": (filename, b">s1\nACGTACGTACGTACGTACGT\n", "text/plain")}
    response = client.post("/api/databases", files=files)
    assert_error(response.status_code, response.json(), 422, "invalid_name")
    assert _tree(data_dir.parent) == before


def test_register_bad_database_paths(client: TestClient, tmp_path: Path) -> None:
    for path in ["relative/db", str(tmp_path / "missing"), "/etc/passwd"]:
        response = client.post("/api/databases", json={"name": "bad-path", "path": path})
        assert_error(response.status_code, response.json(), 422, "invalid_database_path")
    response = client.post("/api/databases", json={"name": "demo-16s", "path": "/x"})
    assert_error(response.status_code, response.json(), 409, "database_exists")


def test_unknown_job_id(client: TestClient) -> None:
    for method, url in [
        ("GET", "/api/jobs/00000000-0000-0000-0000-000000000000"),
        ("GET", "/api/jobs/nope/hsps"),
        ("GET", "/api/jobs/nope/events"),
        ("GET", "/api/jobs/nope/download?format=tsv"),
        ("POST", "/api/jobs/nope/cancel"),
        ("DELETE", "/api/jobs/nope"),
    ]:
        response = client.request(method, url)
        assert_error(response.status_code, response.json(), 404, "job_not_found")
    # Longer than any job id (a UUID): refused by the path's bound, before any lookup.
    response = client.get("/api/jobs/" + "x" * 5000)
    assert_error(response.status_code, response.json(), 422, "invalid_request")
    assert response.json()["field"] == "job_id"


def test_cancelling_a_finished_job(client: TestClient, kept_job: dict) -> None:
    response = client.post(f"/api/jobs/{kept_job['id']}/cancel")
    assert_error(response.status_code, response.json(), 409, "job_already_finished")
    assert api_job(client)(kept_job["id"])["phase"] == "completed"


def test_unknown_download_format_and_sort(client: TestClient, kept_job: dict) -> None:
    response = client.get(f"/api/jobs/{kept_job['id']}/download?format=docx")
    assert_error(response.status_code, response.json(), 422, "unknown_format")
    response = client.get(f"/api/jobs/{kept_job['id']}/hsps?sort=subject_title;drop")
    assert_error(response.status_code, response.json(), 422, "invalid_request")
    response = client.get(f"/api/jobs/{kept_job['id']}/hsps?limit=100000")
    assert_error(response.status_code, response.json(), 422, "invalid_request")


def test_unknown_route(client: TestClient) -> None:
    response = client.get("/api/nothing-here")
    assert_error(response.status_code, response.json(), 404, "not_found")


def test_nothing_stored_was_harmed(client: TestClient, kept_job: dict) -> None:
    """Runs last in this module: the kept job and its results are as they were."""
    job = api_job(client)(kept_job["id"])
    assert job["phase"] == "completed" and job["hsps_total"] == kept_job["hsps_total"]
    hits = client.get(f"/api/jobs/{kept_job['id']}/hsps").json()
    assert hits["total"] == kept_job["hsps_total"]
    assert client.get(f"/api/jobs/{kept_job['id']}/download?format=tsv").status_code == 200
    names = [d["name"] for d in client.get("/api/databases").json()["items"]]
    assert "demo-16s" in names and not any(".." in n or "/" in n for n in names)
    jobs = client.get("/api/jobs", params={"limit": 500}).json()["items"]
    assert all(j["phase"] != "failed" for j in jobs), "a bad request created a failed job"


def _tree(root: Path) -> set[str]:
    return {
        os.path.relpath(os.path.join(d, f), root)
        for d, _, fs in os.walk(root)
        for f in fs
        if "-journal" not in f and "-wal" not in f and "-shm" not in f
    }


@pytest.mark.parametrize(
    "content, code",
    [
        (b"", "empty_query"),
        (b"not fasta at all!", "invalid_fasta"),
        (b"\x00\x01\xff" * 50, "binary_data"),
    ],
)
def test_bad_database_uploads(client: TestClient, content: bytes, code: str) -> None:
    files = {"file": ("x.fa", content, "text/plain")}
    response = client.post("/api/databases", data={"name": "bad-upload"}, files=files)
    assert_error(response.status_code, response.json(), 422, code)
    assert response.json()["field"] == "file"
    assert "bad-upload" not in [d["name"] for d in client.get("/api/databases").json()["items"]]


@pytest.mark.parametrize("visibility", ["", "PUBLIC", " public", "secret"])
def test_upload_visibility_is_one_of_the_documented_values(
    client: TestClient, visibility: str
) -> None:
    """The fuzzer's find: a multipart upload with `visibility` blank was built as a public
    database, though the documented values (as for the JSON body) are public, private, group."""
    response = client.post(
        "/api/databases",
        data={"title": "false", "visibility": visibility, "group": "", "name": ""},
        files={"file": ("fuzzdb", b"L", "application/octet-stream")},
    )
    assert_error(response.status_code, response.json(), 422, "invalid_request")
    assert response.json()["field"] == "visibility"
    names = {d["name"] for d in client.get("/api/databases").json()["items"]}
    assert "fuzzdb" not in names


@pytest.mark.parametrize(
    "path, plain",
    [
        ("/api/jobs?offset=5%0A", "/api/jobs?offset=5"),  # the fuzzer's: "5\n" was read as 5
        ("/api/jobs?limit=%205", "/api/jobs?limit=5"),
        ("/api/jobs?offset=5_0", "/api/jobs?offset=50"),  # pydantic alone reads 50
        ("/api/jobs?offset=5.0", "/api/jobs?offset=5"),
        ("/api/jobs/{job}/events?after=1%20", "/api/jobs/{job}/events?after=1"),
        ("/api/jobs/{job}/hits?min_pident=99%0A", "/api/jobs/{job}/hits?min_pident=99.5"),
        ("/api/jobs/{job}/hits?max_evalue=1_0", "/api/jobs/{job}/hits?max_evalue=1e-5"),
        ("/api/jobs/{job}/hits?taxid=562%09", "/api/jobs/{job}/hits?taxid=562"),
        ("/api/taxonomy/562%0A", "/api/taxonomy/562"),
        ("/api/taxonomy/search?q=Esch&limit=5%20", "/api/taxonomy/search?q=Esch&limit=5"),
    ],
)
def test_numbers_in_the_url_are_written_plainly(
    client: TestClient, kept_job: dict, path: str, plain: str
) -> None:
    """A number in a query string or path is written as the schema says, not with spaces,
    underscores or (for a whole number) a point: 422 invalid_request naming the parameter;
    the same number written plainly is answered."""
    response = client.get(path.format(job=kept_job["id"]))
    assert_error(response.status_code, response.json(), 422, "invalid_request")
    assert "written without spaces" in response.json()["message"]
    assert client.get(plain.format(job=kept_job["id"])).status_code == 200


def _numeric_parameters(openapi: dict) -> list[tuple[str, str, str, list[str]]]:
    """(path, where, name, the route's required query parameters) of every number a GET
    route takes in its path or query string."""
    found = []
    for path, operations in openapi["paths"].items():
        parameters = operations.get("get", {}).get("parameters", [])
        required = [p["name"] for p in parameters if p["in"] == "query" and p.get("required")]
        for parameter in parameters:
            schema = parameter.get("schema", {})
            types = {schema.get("type"), *(a.get("type") for a in schema.get("anyOf", []))}
            if types & {"integer", "number"}:
                found.append((path, parameter["in"], parameter["name"], required))
    return found


def test_every_number_in_the_url_is_written_plainly(client: TestClient, kept_job: dict) -> None:
    """Every numeric path or query parameter of every GET route, found in the OpenAPI
    document (so a new one cannot be left out): '1\\n' answers 422 invalid_request naming
    it, where pydantic alone would read it as 1."""
    share = client.post(f"/api/jobs/{kept_job['id']}/shares", json={}).json()
    token = share["url"].rstrip("/").rsplit("/", 1)[1]  # /shared/<token>
    filled = {"job_id": kept_job["id"], "token": token, "taxid": "562", "q": "Esch"}
    checked = []
    for path, where, name, required in _numeric_parameters(client.app.openapi()):
        url = path.format(**{**filled, name: "1%0A"} if where == "path" else filled)
        query = [f"{name}=1%0A"] if where == "query" else []
        query += [f"{other}={filled[other]}" for other in required if other != name]
        url += f"?{'&'.join(query)}" if query else ""
        response = client.get(url)
        assert response.status_code == 422, (url, response.text)
        assert "written without spaces" in response.json()["message"], (url, response.text)
        checked.append(url)
    assert len(checked) >= 40, checked  # the routes above have 45 numbers between them
