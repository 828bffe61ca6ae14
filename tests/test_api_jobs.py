"""End to end through the REST API: real app, real BLAST+, SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import re
import time
import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from blastdeck.domain.pipeline_model import STEPS
from tests.conftest import SLOW_OPTIONS, api_job, blast_processes, fasta, wait_for_job

STEP_KEYS = [step.value for step in STEPS]  # the literal contract is pinned in test_domain


def submit(client: TestClient, **body) -> dict:
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 202, response.text
    return response.json()


@pytest.fixture(scope="module")
def finished_blastn(client: TestClient, demo_16s) -> dict:
    """A completed blastn job: 3 database members (hits) and one shuffled sequence (no hits)."""
    queries = [*demo_16s[:3], ("shuffled no hits expected", "ACGT" * 60)]
    job = submit(
        client,
        program="blastn",
        database="demo-16s",
        query=fasta(queries),
        title="three 16S genes",
        options={"evalue": 1e-10, "max_target_seqs": 20},
    )
    assert job["phase"] == "queued" and job["status"] == "queued"
    assert job["poll_after_ms"] == 1000
    return wait_for_job(api_job(client), job["id"])


def test_job_completes_with_every_step_recorded(finished_blastn: dict) -> None:
    job = finished_blastn
    assert job["phase"] == "completed", job
    assert job["status"] == "completed" and job["error_code"] is None
    assert [s["key"] for s in job["steps"]] == STEP_KEYS
    assert [s["label"] for s in job["steps"]][:2] == ["Prepare", "Warmup Check"]
    for step in job["steps"]:
        assert step["status"] in ("completed", "skipped"), step
        assert step["started_at"] and step["completed_at"] and step["duration_ms"] is not None
    assert job["poll_after_ms"] is None
    assert job["progress"]["batches_total"] >= 1
    assert job["progress"]["batches_done"] == job["progress"]["batches_total"]
    assert job["cluster"] == "local" and job["namespace"] == "default"
    assert job["options"] == {"evalue": 1e-10, "max_target_seqs": 20}


def test_hits_are_indexed_sorted_and_paged(
    client: TestClient, finished_blastn: dict, demo_16s
) -> None:
    job_id = finished_blastn["id"]
    page = client.get(f"/api/jobs/{job_id}/hsps", params={"limit": 5}).json()
    assert page["total"] == finished_blastn["hsps_total"] > 3
    assert len(page["items"]) == 5
    hit = page["items"][0]
    assert set(hit) == {
        "query_index",
        "query_id",
        "subject_id",
        "subject_title",
        "pident",
        "length",
        "mismatch",
        "gapopen",
        "qstart",
        "qend",
        "sstart",
        "send",
        "evalue",
        "bitscore",
        "qlen",
        "slen",
        "qcovhsp",
        "qcovs",
        "staxid",
        # the subject's organism (from the taxonomy; null on a database without taxids)
        "taxid",
        "scientific_name",
        "common_name",
        "superkingdom",
        "lineage",
    }
    evalues = [
        h["evalue"] for h in client.get(f"/api/jobs/{job_id}/hsps?limit=1000").json()["items"]
    ]
    assert evalues == sorted(evalues)
    by_score = client.get(f"/api/jobs/{job_id}/hsps?sort=bitscore&limit=1000").json()["items"]
    assert [h["bitscore"] for h in by_score] == sorted(
        (h["bitscore"] for h in by_score), reverse=True
    )
    first_query = demo_16s[0][0].split()[0]
    own = client.get(f"/api/jobs/{job_id}/hsps", params={"query_id": first_query}).json()
    assert own["total"] >= 1 and {h["query_id"] for h in own["items"]} == {first_query}
    # a database member finds itself: 100 % identity over (nearly, DUST masks) its length
    assert any(h["pident"] == 100.0 and h["qcovhsp"] >= 99 for h in own["items"])
    shuffled = client.get(f"/api/jobs/{job_id}/hsps", params={"query_id": "shuffled"}).json()
    assert shuffled["total"] == 0
    offset = client.get(f"/api/jobs/{job_id}/hsps", params={"limit": 2, "offset": 2}).json()
    assert offset["items"] == client.get(f"/api/jobs/{job_id}/hsps?limit=4").json()["items"][2:]


def test_downloads_are_whole_documents(client: TestClient, finished_blastn: dict) -> None:
    job_id, total = finished_blastn["id"], finished_blastn["hsps_total"]
    tsv = client.get(f"/api/jobs/{job_id}/download?format=tsv")
    assert tsv.status_code == 200 and "attachment" in tsv.headers["content-disposition"]
    lines = tsv.text.strip().split("\n")
    assert lines[0].split("\t")[:2] == ["qaccver", "saccver"] and len(lines) == total + 1
    rows = list(csv.reader(io.StringIO(client.get(f"/api/jobs/{job_id}/download?format=csv").text)))
    assert len(rows) == total + 1
    report = json.loads(client.get(f"/api/jobs/{job_id}/download?format=json").content)
    assert len(report["BlastOutput2"]) == 4  # one report per query, hits or not
    root = ET.fromstring(client.get(f"/api/jobs/{job_id}/download?format=xml").content)
    assert len(root.findall(".//Iteration")) == 4
    text = client.get(f"/api/jobs/{job_id}/download?format=text").text
    assert text.count("Query=") == 4
    asn = client.get(f"/api/jobs/{job_id}/download?format=asn1").text
    assert asn.startswith("Blast4-archive ::= {")
    xml2 = ET.fromstring(client.get(f"/api/jobs/{job_id}/download?format=xml2").content)
    ns = {"b": "http://www.ncbi.nlm.nih.gov"}
    assert len(xml2.findall("b:BlastOutput2", ns)) == 4
    query_ids = [e.text for e in xml2.iter("{http://www.ncbi.nlm.nih.gov}query-id")]
    assert query_ids == ["Query_1", "Query_2", "Query_3", "Query_4"]
    html = client.get(f"/api/jobs/{job_id}/download?format=html").text
    assert html.count("<b>Query=</b>") == 4 and html.count("<HTML>") == 1
    assert html.rstrip().endswith("</HTML>")
    tabular = client.get(f"/api/jobs/{job_id}/download?format=tabular").text
    assert tabular.count("# Query: ") == 4
    assert tabular.count("# BLAST processed") == 1
    assert tabular.rstrip().endswith("# BLAST processed 4 queries")
    rows = [line for line in tabular.splitlines() if line and not line.startswith("#")]
    assert len(rows) == total


def test_events_are_the_audit_log(client: TestClient, finished_blastn: dict) -> None:
    events = client.get(f"/api/jobs/{finished_blastn['id']}/events").json()["items"]
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "created" and kinds[-1] == "completed"
    started = [e["step"] for e in events if e["kind"] == "step_started"]
    assert started == STEP_KEYS[:-1]
    ids = [e["id"] for e in events]
    assert ids == sorted(ids)
    later = client.get(f"/api/jobs/{finished_blastn['id']}/events", params={"after": ids[2]}).json()
    assert [e["id"] for e in later["items"]] == ids[3:]


def test_second_job_on_same_database_skips_staging_before_submitting(
    client: TestClient, finished_blastn: dict, demo_16s
) -> None:
    job = submit(client, program="blastn", database="demo-16s", query=fasta(demo_16s[5:6]))
    job = wait_for_job(api_job(client), job["id"])
    assert job["phase"] == "completed"
    staging = next(s for s in job["steps"] if s["key"] == "staging_db")
    assert staging["status"] == "skipped"
    assert "warm copy of demo-16s reused" in staging["skip_reason"]
    events = client.get(f"/api/jobs/{job['id']}/events").json()["items"]
    skipped = next(e for e in events if e["kind"] == "step_skipped")
    submit_started = next(
        e for e in events if e["kind"] == "step_started" and e["step"] == "submitting"
    )
    assert skipped["step"] == "staging_db" and skipped["id"] < submit_started["id"]
    assert (
        staging["completed_at"]
        <= next(s for s in job["steps"] if s["key"] == "submitting")["started_at"]
    )


def test_blastp_on_protein_database(client: TestClient, demo_proteins) -> None:
    job = submit(client, program="blastp", database="demo-proteins", query=fasta(demo_proteins[:2]))
    job = wait_for_job(api_job(client), job["id"])
    assert job["phase"] == "completed", job
    hits = client.get(f"/api/jobs/{job['id']}/hsps").json()
    assert hits["total"] >= 2 and hits["items"][0]["pident"] == 100.0


@pytest.mark.parametrize(
    "program, database",
    [("blastx", "demo-proteins"), ("tblastn", "demo-16s"), ("tblastx", "demo-16s")],
)
def test_translated_programs_run(
    client: TestClient, demo_16s, demo_proteins, program, database
) -> None:
    query = fasta(demo_proteins[:1]) if program == "tblastn" else fasta(demo_16s[:1])
    job = wait_for_job(
        api_job(client), submit(client, program=program, database=database, query=query)["id"]
    )
    assert job["phase"] == "completed", job


def test_multipart_submit_with_query_file(client: TestClient, demo_16s) -> None:
    response = client.post(
        "/api/jobs",
        data={"program": "blastn", "database": "demo-16s", "options": json.dumps({"evalue": 1e-5})},
        files={"query": ("query.fa", fasta(demo_16s[7:8]).encode(), "text/plain")},
    )
    assert response.status_code == 202, response.text
    job = wait_for_job(api_job(client), response.json()["id"])
    assert job["phase"] == "completed" and job["options"] == {"evalue": 1e-5}


def test_list_filter_and_paging(client: TestClient, finished_blastn: dict) -> None:
    listed = client.get("/api/jobs", params={"status": "completed", "limit": 100}).json()
    assert finished_blastn["id"] in [j["id"] for j in listed["items"]]
    assert all(j["status"] == "completed" for j in listed["items"])
    assert listed["total"] >= 1
    failed = client.get("/api/jobs", params={"status": "failed"}).json()["items"]
    assert finished_blastn["id"] not in [j["id"] for j in failed]
    one = client.get("/api/jobs", params={"limit": 1}).json()
    assert len(one["items"]) == 1 and one["total"] == client.get("/api/jobs").json()["total"]


def test_cancel_running_job_stops_it(client: TestClient, demo_16s) -> None:
    # enough work to still be running when the cancel arrives
    job = submit(
        client,
        program="blastn",
        database="demo-16s",
        query=fasta(demo_16s[:40]),
        options=SLOW_OPTIONS,
    )
    wait_for_job(api_job(client), job["id"], until=lambda j: j["phase"] in ("running", "completed"))
    response = client.post(f"/api/jobs/{job['id']}/cancel")
    if response.status_code == 409:  # finished before we could cancel: nothing to test here
        pytest.fail("job finished before the cancel; make the workload larger")
    assert response.status_code == 202
    job = wait_for_job(api_job(client), job["id"])
    assert job["phase"] == "cancelled" and job["error_code"] == "cancelled"
    assert not any(s["status"] == "running" for s in job["steps"])
    deadline = time.monotonic() + 5
    while blast_processes(job["id"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert blast_processes(job["id"]) == [], "BLAST kept running after the cancel"


def test_delete_removes_job_and_files(client: TestClient, demo_16s) -> None:
    job = wait_for_job(
        api_job(client),
        submit(client, program="blastn", database="demo-16s", query=fasta(demo_16s[9:10]))["id"],
    )
    data_dir = client.app.state.runtime.settings.jobs_dir
    assert (data_dir / job["id"]).is_dir()
    assert client.delete(f"/api/jobs/{job['id']}").status_code == 204
    assert client.get(f"/api/jobs/{job['id']}").status_code == 404
    assert not (data_dir / job["id"]).exists()


def test_databases_and_clusters_listed(client: TestClient) -> None:
    names = {d["name"]: d for d in client.get("/api/databases").json()["items"]}
    assert names["demo-16s"]["molecule"] == "nucl" and names["demo-16s"]["sequences"] == 200
    assert names["demo-proteins"]["molecule"] == "prot" and names["demo-proteins"]["sequences"] == 8
    clusters = client.get("/api/clusters").json()["items"]
    assert clusters[0]["name"] == "local" and clusters[0]["engine"] == "local"
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["blast"].startswith("blastn")


def test_build_and_register_databases(client: TestClient, demo_16s, tmp_path) -> None:
    response = client.post(
        "/api/databases",
        data={"name": "mini16s", "title": "Mini"},
        files={"file": ("mini.fa", fasta(demo_16s[:20]).encode(), "text/plain")},
    )
    assert response.status_code == 201, response.text
    built = response.json()
    assert built["sequences"] == 20 and built["molecule"] == "nucl" and built["title"] == "Mini"
    registered = client.post(
        "/api/databases", json={"name": "mini16s-again", "path": built["path"]}
    )
    assert registered.status_code == 201, registered.text
    assert registered.json()["sequences"] == 20
    job = submit(client, program="blastn", database="mini16s-again", query=fasta(demo_16s[:1]))
    assert wait_for_job(api_job(client), job["id"])["phase"] == "completed"


def test_openapi_documents_the_routes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in (
        "/api/jobs",
        "/api/jobs/{job_id}",
        "/api/jobs/{job_id}/hsps",
        "/api/jobs/{job_id}/download",
        "/api/jobs/{job_id}/events",
        "/api/jobs/{job_id}/cancel",
        "/api/databases",
        "/api/clusters",
        "/api/health",
        "/blast/Blast.cgi",
    ):
        assert path in spec["paths"], path
    assert "multipart/form-data" in spec["paths"]["/api/jobs"]["post"]["requestBody"]["content"]


def test_docs_page_works_offline(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "http://" not in page.text
    assert "https://" not in page.text
    assets = re.findall(r'(?:src|href)="(/docs-[a-z]+/[^"]+)"', page.text)
    assert "/docs-init/init.js" in assets and len(assets) == 4
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert "/openapi.json" in client.get("/docs-init/init.js").text
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
