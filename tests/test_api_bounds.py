"""Every number a client sends is bounded in the schema and in the code: past the bound the
answer is a 422 with the error body, never a 500 (an unbounded offset once reached SQLite as an
integer it cannot hold), and the bound itself is still served, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.body_size import BodySizeLimit
from blastdeck.api.params import MAX_EVENT_ID, MAX_OFFSET
from tests.conftest import api_job, fasta, wait_for_job

HUGE = "71170320626435905028096"  # the offset that answered 500 OverflowError


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend_name(request: pytest.FixtureRequest) -> str:
    # A bound is about the job database's integers, not about how jobs run.
    return request.param


@pytest.fixture(scope="module")
def job(client: TestClient, demo_16s) -> dict:
    body = {"program": "blastn", "database": "demo-16s", "query": fasta(demo_16s[:2])}
    created = client.post("/api/jobs", json=body).json()
    return wait_for_job(api_job(client), created["id"])


def query_id(client: TestClient, job: dict) -> str:
    return client.get(f"/api/jobs/{job['id']}/queries").json()["items"][0]["query_id"]


def list_routes(job_id: str) -> list[str]:
    return [
        "/api/jobs",
        f"/api/jobs/{job_id}/hits",
        f"/api/jobs/{job_id}/alignments",
    ]


def assert_invalid(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error_code"] == "invalid_request", body
    assert body["field"] == field, body
    assert field in body["message"], body


@pytest.mark.parametrize("value", [HUGE, str(MAX_OFFSET + 1), "-1", "1e3", "9" * 5000])
@pytest.mark.parametrize("route", range(3), ids=["jobs", "hits", "alignments"])
def test_offset_out_of_bounds(client: TestClient, job: dict, route: int, value: str) -> None:
    params = {"offset": value, "query_id": query_id(client, job)}
    assert_invalid(client.get(list_routes(job["id"])[route], params=params), "offset")


@pytest.mark.parametrize("route", range(3), ids=["jobs", "hits", "alignments"])
def test_offset_at_the_bound_is_an_empty_page(client: TestClient, job: dict, route: int) -> None:
    params = {"offset": MAX_OFFSET, "query_id": query_id(client, job)}
    response = client.get(list_routes(job["id"])[route], params=params)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["items"] == [] and page["offset"] == MAX_OFFSET and page["total"] >= 1


@pytest.mark.parametrize("value", [HUGE, "0", "-5", "100000"])
@pytest.mark.parametrize("route", range(3), ids=["jobs", "hits", "alignments"])
def test_limit_out_of_bounds(client: TestClient, job: dict, route: int, value: str) -> None:
    params = {"limit": value, "query_id": query_id(client, job)}
    assert_invalid(client.get(list_routes(job["id"])[route], params=params), "limit")


@pytest.mark.parametrize("value", [HUGE, str(MAX_EVENT_ID + 1), str(2**63), "-1"])
def test_event_id_out_of_bounds(client: TestClient, job: dict, value: str) -> None:
    response = client.get(f"/api/jobs/{job['id']}/events", params={"after": value})
    assert_invalid(response, "after")


def test_event_id_at_the_bound(client: TestClient, job: dict) -> None:
    # PostgreSQL's event ids are 32-bit: the largest one it can compare with is the bound.
    events = client.get(f"/api/jobs/{job['id']}/events").json()["items"]
    assert len(events) >= 8
    after = client.get(f"/api/jobs/{job['id']}/events", params={"after": MAX_EVENT_ID})
    assert after.status_code == 200 and after.json() == {"items": []}


@pytest.mark.parametrize(
    "name, value",
    [
        ("max_evalue", "inf"),
        ("max_evalue", "1e400"),
        ("max_evalue", "nan"),
        ("max_evalue", "-1"),
        ("min_pident", "100.5"),
        ("min_pident", "-inf"),
        ("min_qcovs", HUGE),
        ("query_index", HUGE),
    ],
)
def test_hit_filters_out_of_bounds(client: TestClient, job: dict, name: str, value: str) -> None:
    assert_invalid(client.get(f"/api/jobs/{job['id']}/hits", params={name: value}), name)


@pytest.mark.parametrize(
    "name, value",
    [("max_evalue", "inf"), ("min_pident", "100.5"), ("min_qcovhsp", HUGE), ("query_index", "-1")],
)
def test_hsp_filters_out_of_bounds(client: TestClient, job: dict, name: str, value: str) -> None:
    assert_invalid(client.get(f"/api/jobs/{job['id']}/hsps", params={name: value}), name)


JOB_ROUTES = [
    "",
    "/hits",
    "/hsps",
    "/queries",
    "/events",
    "/query",
    "/config",
    "/stream",
    "/download",
]


@pytest.mark.parametrize("suffix", JOB_ROUTES)
def test_absurd_job_ids(client: TestClient, suffix: str) -> None:
    too_long = client.get(f"/api/jobs/{'a' * 5000}{suffix}")
    assert_invalid(too_long, "job_id")
    # Short but not a UUID: the same 404 as an id nobody has.
    for job_id in ("nope", "0" * 36, "ADA70BF2-C3B6-4449-9AE6-0D25C63D1D9D"):
        response = client.get(f"/api/jobs/{job_id}{suffix}")
        assert response.status_code == 404, response.text
        assert response.json()["error_code"] == "job_not_found"


def test_absurd_job_ids_on_changes(client: TestClient) -> None:
    assert_invalid(client.post(f"/api/jobs/{'9' * 37}/cancel"), "job_id")
    assert_invalid(client.delete(f"/api/jobs/{'9' * 37}"), "job_id")


@pytest.mark.parametrize("slots", [10**30, 100_001, 0])
def test_cluster_slots_out_of_bounds(client: TestClient, slots: int) -> None:
    response = client.post("/api/clusters", json={"name": f"big{slots % 97}", "slots": slots})
    assert_invalid(response, "slots")


def test_every_numeric_parameter_is_bounded(client: TestClient) -> None:
    """The schema says so, so clients (and the fuzzer) know the bounds too."""
    document = client.get("/openapi.json").json()
    unbounded = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                for schema in _numeric(parameter["schema"]):
                    if "maximum" not in schema or "minimum" not in schema:
                        unbounded.append(f"{method.upper()} {path} {parameter['name']}")
    bodies = {"ClusterCreate": document["components"]["schemas"]["ClusterCreate"]}
    for name, schema in bodies.items():
        for prop, spec in schema["properties"].items():
            for numeric in _numeric(spec):
                if "maximum" not in numeric:
                    unbounded.append(f"{name}.{prop}")
    assert unbounded == []


def _numeric(schema: dict) -> list[dict]:
    options = schema.get("anyOf", [schema])
    return [s for s in options if s.get("type") in ("integer", "number")]


def test_content_length_past_python_int_digits_is_413() -> None:
    """A Content-Length of 5000 digits: int() of it raises, so the middleware must not need it."""
    sent: list[dict] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the app must not be reached")

    async def receive() -> dict:
        return {"type": "http.request", "body": b"{}"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "headers": [(b"content-length", b"9" * 5000)]}
    asyncio.run(BodySizeLimit(app, max_bytes=1000)(scope, receive, send))
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error_code"] == "payload_too_large"


def test_content_length_at_the_limit_passes() -> None:
    reached: list[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(True)

    scope = {"type": "http", "headers": [(b"content-length", b"0001000")]}
    asyncio.run(BodySizeLimit(app, max_bytes=1000)(scope, None, None))  # type: ignore[arg-type]
    assert reached == [True]


@pytest.mark.parametrize(
    "name", ["HITLIST_SIZE", "WORD_SIZE", "EXPECT", "PERC_IDENT", "NUCL_REWARD", "THRESHOLD"]
)
@pytest.mark.parametrize("value", [HUGE, "9" * 5000, "1e99999", "-" + HUGE])
def test_blast_cgi_numbers_out_of_bounds(client: TestClient, name: str, value: str) -> None:
    """NCBI's URL API passes numbers as text to the option checks: past their ranges a Put is
    refused with NCBI's error page (200, what its clients read), never a 500."""
    params = {"CMD": "Put", "PROGRAM": "blastn", "DATABASE": "demo-16s", "QUERY": "ACGTACGTAC"}
    response = client.post("/blast/Blast.cgi", data={**params, name: value})
    assert response.status_code == 200, response.text
    assert "Error: [invalid_option_value]" in response.text or (
        "Error: [option_not_allowed]" in response.text
    ), response.text[:500]


@pytest.mark.parametrize(
    "engine, key, value",
    [
        # The fuzzer's find (500 ValueError): digits of other scripts, which isdigit() accepts
        # and int() refuses (Ethiopic ፭ is a digit to one and not to the other).
        ("slurm", "cpus_per_task", "\u096d\U000118e3\u0ded\u136d"),
        ("slurm", "array_throttle", "²"),
        ("slurm", "cpus_per_task", "9" * 5000),
        ("local", "memory_limit_mb", "²"),
        ("local", "memory_limit_mb", "9" * 5000),
        # setrlimit takes at most 2**63-1 bytes: past that every job of the cluster would fail.
        ("local", "memory_limit_mb", str(2**43)),
    ],
)
def test_cluster_numeric_settings_out_of_bounds(
    client: TestClient, engine: str, key: str, value: str
) -> None:
    body = {"name": f"odd-{engine}", "engine": engine, "settings": {key: value}}
    response = client.post("/api/clusters", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error_code"] == "invalid_cluster_setting"
    assert response.json()["field"] == f"settings.{key}"
