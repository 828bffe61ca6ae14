"""A completed job whose directory is gone from the data dir (removed by hand, or by a delete
on a full disk whose row could not be written): every read of its results answers
410 results_missing, saying what to do, and the job can still be deleted."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from tests.conftest import api_job, fasta, make_settings, wait_for_job

READS = [
    "/hits",
    "/hsps",
    "/queries",
    "/taxonomy",
    "/alignments?query_index=0",
    "/download?format=tsv",
    "/download?format=xml",
    "/download?format=fasta",
]


def _gone_job(client: TestClient, data: Path, query: str) -> str:
    """A completed job whose directory is then removed."""
    body = {"program": "blastn", "database": "demo-16s", "query": query}
    job_id = client.post("/api/jobs", json=body).json()["id"]
    assert wait_for_job(api_job(client), job_id)["phase"] == "completed"
    assert client.get(f"/api/jobs/{job_id}/hits").status_code == 200
    shutil.rmtree(data / "jobs" / job_id)
    return job_id


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[TestClient, Path]:
    data = tmp_path_factory.mktemp("gone") / "data"
    with TestClient(create_app(make_settings(data))) as client:
        yield client, data


@pytest.fixture(scope="module")
def gone(site: tuple[TestClient, Path], demo_16s) -> tuple[TestClient, str, Path]:
    client, data = site
    return client, _gone_job(client, data, fasta(demo_16s[:2])), data


@pytest.mark.parametrize("read", READS)
def test_each_read_says_the_results_are_gone(gone: tuple, read: str) -> None:
    client, job_id, data = gone
    response = client.get(f"/api/jobs/{job_id}{read}")
    assert response.status_code == 410, response.text
    body = response.json()
    assert body["error_code"] == "results_missing"
    assert f"jobs/{job_id}" in body["message"] and "Delete the job" in body["message"]
    assert not (data / "jobs" / job_id).exists()  # nothing was made again in its place


def test_the_job_itself_is_shown_and_can_be_deleted(site: tuple, demo_16s) -> None:
    client, data = site
    job_id = _gone_job(client, data, fasta(demo_16s[2:3]))
    assert client.get(f"/api/jobs/{job_id}").json()["phase"] == "completed"
    assert client.delete(f"/api/jobs/{job_id}").status_code == 204
    assert client.get(f"/api/jobs/{job_id}").status_code == 404
