"""A local cluster with `archive_with_search`: its jobs' BLAST writes the archive as it searches
and the hit table is formatted from it (real BLAST+ and blast_formatter), so the XML, JSON,
text and ASN.1 downloads never search again; every download equals the same job's on a cluster
without the setting. Bad values of the setting are refused when the cluster is added."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from blastdeck.domain.clusters import Cluster
from blastdeck.domain.programs import Molecule, Program
from blastdeck.engines.base import DatabaseRef, JobContext
from blastdeck.engines.batch_plan import (
    PLAN_FILE,
    partial_path,
    plan_preview,
    read_batch_plan,
    write_batch_plan,
)
from blastdeck.results.hsps import HSP_TABLE_OUTFMT
from tests.conftest import api_job, fasta, make_settings, wait_for_job

OPTIONS = {"evalue": 1e-5, "max_target_seqs": 50}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("data"), slots=2)
    with TestClient(create_app(settings)) as test_client:
        body = {"name": "keeps", "engine": "local", "slots": 2}
        added = test_client.post(
            "/api/clusters", json=body | {"settings": {"archive_with_search": "true"}}
        )
        assert added.status_code in (200, 201), added.text
        yield test_client


def _run(client: TestClient, cluster: str | None, queries: list[tuple[str, str]]) -> dict:
    body = {"program": "blastn", "database": "demo-16s", "query": fasta(queries)}
    if cluster:
        body["cluster"] = cluster
    response = client.post("/api/jobs", json=body | {"options": OPTIONS})
    assert response.status_code == 202, response.text
    done = wait_for_job(api_job(client), response.json()["id"], timeout=180)
    assert done["phase"] == "completed", done
    return done


def _archives(client: TestClient, job_id: str) -> dict[Path, int]:
    """Each batch's archive and its modification time (ns)."""
    work = client.app.state.runtime.settings.jobs_dir / job_id
    batches = [b for b in read_batch_plan(work) if b.archive.exists()]
    return {b.archive: b.archive.stat().st_mtime_ns for b in batches}


def test_a_job_keeps_its_archives_and_downloads_never_search_again(
    client: TestClient, demo_16s
) -> None:
    queries = demo_16s[:6]
    kept = _run(client, "keeps", queries)
    plain = _run(client, None, queries)
    work = client.app.state.runtime.settings.jobs_dir / kept["id"]
    plan = read_batch_plan(work)
    assert len(plan) == 2  # the split is the same: two processes
    made = _archives(client, kept["id"])
    assert set(made) == {b.archive for b in plan}  # written by the search itself
    assert _archives(client, plain["id"]) == {}  # the other cluster's job made none

    def download(job_id: str, fmt: str) -> bytes:
        response = client.get(f"/api/jobs/{job_id}/download?format={fmt}")
        assert response.status_code == 200, (fmt, response.text)
        return response.content

    for fmt in ("tsv", "xml", "json", "text", "asn1"):
        assert download(kept["id"], fmt) == download(plain["id"], fmt), fmt
    assert _archives(client, kept["id"]) == made  # no archive was searched again
    assert json.loads(download(kept["id"], "json"))["BlastOutput2"]
    hits = client.get(f"/api/jobs/{kept['id']}/hits?limit=500").json()
    plain_hits = client.get(f"/api/jobs/{plain['id']}/hits?limit=500").json()
    assert hits["total"] == plain_hits["total"] > 0
    assert hits["items"] == plain_hits["items"]


def test_the_config_shows_the_formatter_step(client: TestClient, demo_16s) -> None:
    job = _run(client, "keeps", demo_16s[:2])
    config = client.get(f"/api/jobs/{job['id']}/config")
    assert config.status_code == 200, config.text
    assert "blast_formatter -archive" in config.text
    assert "-outfmt 11" in config.text


@pytest.mark.parametrize("value", ["maybe", "2", "yes please"])
def test_a_bad_value_is_refused_with_the_setting_named(client: TestClient, value: str) -> None:
    body = {"name": "bad", "engine": "local", "slots": 1}
    response = client.post(
        "/api/clusters", json=body | {"settings": {"archive_with_search": value}}
    )
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["error_code"] == "invalid_cluster_setting"
    assert "archive_with_search must be true or false" in error["message"]
    assert "bad" not in [c["name"] for c in client.get("/api/clusters").json()["items"]]


def test_a_slurm_cluster_refuses_the_setting(client: TestClient) -> None:
    """A SLURM task runs one command; its downloads make their archives on this host."""
    body = {"name": "hpc", "engine": "slurm", "settings": {"archive_with_search": "false"}}
    response = client.post("/api/clusters", json=body)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["error_code"] == "invalid_cluster_setting" and error["field"] == "settings"
    assert "Unknown setting(s) archive_with_search for engine slurm" in error["message"]


def test_the_plan_searches_into_the_archive_then_formats_the_table(
    tmp_path: Path, demo_16s
) -> None:
    work = tmp_path / "job"
    work.mkdir()
    (work / "query.fa").write_text(fasta(demo_16s[:4]))
    cluster = Cluster(name="box", engine="local", namespace="default", slots=2, settings={})
    database = DatabaseRef("demo-16s", tmp_path / "db" / "demo-16s", Molecule.NUCLEOTIDE)
    ctx = JobContext("job-1", Program.BLASTN, database, {}, cluster, "default", work)
    assert write_batch_plan(ctx, 2, archive_with_search=True) == 2
    for batch in read_batch_plan(work):
        assert batch.argv == batch.archive_argv
        assert batch.argv[batch.argv.index("-outfmt") + 1] == "11"
        assert batch.argv[batch.argv.index("-out") + 1] == str(partial_path(batch.archive))
        assert batch.format_argv[1:] == (
            "-archive",
            str(batch.archive),
            "-outfmt",
            HSP_TABLE_OUTFMT,
            "-out",
            str(partial_path(batch.table)),
        )
        assert batch.steps() == ((batch.argv, batch.archive), (batch.format_argv, batch.table))
    assert plan_preview(work).count("blast_formatter") == 2
    # A plan written before the setting existed has no formatter step.
    document = json.loads((work / PLAN_FILE).read_text())
    for entry in document["batches"]:
        del entry["format_argv"]
    (work / PLAN_FILE).write_text(json.dumps(document))
    assert all(b.format_argv == () for b in read_batch_plan(work))
    assert write_batch_plan(ctx, 2) == 2
    assert all(len(b.steps()) == 1 for b in read_batch_plan(work))
