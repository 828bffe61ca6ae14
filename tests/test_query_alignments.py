"""One query's alignments without the job's whole JSON: that query searched again alone gives
exactly the HSPs the JSON download shows for it (real BLAST+, a job in several batches)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from tests.conftest import add_split_cluster, api_job, fasta, make_settings, wait_for_job


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("data"), slots=3)
    with TestClient(create_app(settings)) as test_client:
        add_split_cluster(test_client)
        yield test_client


def test_one_query_alone_equals_its_part_of_the_json_download(client: TestClient, demo_16s) -> None:
    queries = [*demo_16s[80:92], demo_16s[83], ("shuffled", "ACGT" * 60)]
    body = {
        "program": "blastn",
        "database": "demo-16s",
        "cluster": "split",
        "query": fasta(queries),
        "options": {"evalue": 1e-3, "max_target_seqs": 20},
    }
    job_id = client.post("/api/jobs", json=body).json()["id"]
    job = wait_for_job(api_job(client), job_id, timeout=120)
    assert job["phase"] == "completed" and job["progress"]["batches_total"] >= 3
    exports = client.app.state.runtime.settings.jobs_dir / job_id / "exports"

    def every_query() -> list[list[dict]]:
        pages = []
        for index in range(len(queries)):
            page = client.get(
                f"/api/jobs/{job_id}/alignments", params={"query_index": index, "limit": 500}
            )
            assert page.status_code == 200, page.text
            pages.append(page.json()["items"])
        return pages

    alone = every_query()
    assert not (exports / "results.json").exists()  # the whole JSON was never made
    assert all(alone[:-1]) and alone[-1] == []  # the shuffled query has none
    assert alone[12] == alone[3]  # the same gene twice: the same alignments
    hsps = client.get(f"/api/jobs/{job_id}/hsps", params={"query_index": 5, "limit": 1000})
    assert len(alone[5]) == hsps.json()["total"]

    assert client.get(f"/api/jobs/{job_id}/download", params={"format": "json"}).status_code == 200
    shutil.rmtree(exports / "alignments")
    assert every_query() == alone  # now split from the JSON download
