"""A finished job's final index (results/final_index.py): every batch in one set of memory-mapped
columns with its sort orders precomputed, equal to what the per-batch index gives; built once
for jobs finished before it existed; never left half-written by a cancel (real BLAST+, SQLite)."""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from blastdeck.results import final_index
from blastdeck.results.batch_indexing import completion_counts
from blastdeck.results.browse import ResultFilter, hit_page, hsp_page, query_summary, sort_names
from blastdeck.results.hsp_index import (
    IndexCounts,
    batch_counts,
    index_dir,
    load_hsp_table,
    write_batch_index,
)
from blastdeck.results.hsps import read_hsps
from tests.conftest import add_split_cluster, api_job, fasta, make_settings, wait_for_job


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("data"), slots=3)
    with TestClient(create_app(settings)) as test_client:
        add_split_cluster(test_client)
        yield test_client


def submit(client: TestClient, queries: list[tuple[str, str]]) -> dict:
    body = {
        "program": "blastn",
        "database": "demo-16s",
        "cluster": "split",
        "query": fasta(queries),
        "options": {"evalue": 10, "max_target_seqs": 50},
    }
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 202, response.text
    return response.json()


@pytest.fixture(scope="module")
def job(client: TestClient, demo_16s) -> dict:
    """30 16S genes (duplicate ids included) and a query without hits, in several batches."""
    queries = [*demo_16s[:30], demo_16s[4], ("shuffled", "ACGT" * 60)]
    done = wait_for_job(api_job(client), submit(client, queries)["id"], timeout=180)
    assert done["phase"] == "completed", done
    assert done["progress"]["batches_total"] >= 3
    return done


def work_dir(client: TestClient, job_id: str) -> Path:
    return client.app.state.runtime.settings.jobs_dir / job_id


def batch_table(client: TestClient, job_id: str, scratch: Path):
    """The job's HSPs indexed per batch, as a running job's readers see them."""
    runtime = client.app.state.runtime
    record = runtime.jobs.get(job_id)
    ctx = runtime.pipeline.context(record)
    for b in runtime.clusters.engine_for(record.cluster).collect(ctx).batches:
        hsps = read_hsps(b.table, b.query_ids, b.query_offset)
        write_batch_index(scratch, b.index, b.query_offset, b.query_ids, hsps)
    return load_hsp_table(scratch)


def test_a_small_job_completes_on_its_batch_files_and_its_first_read_makes_the_final_index(
    client: TestClient, job: dict
) -> None:
    """Below PRECOMPUTE_MIN_HSPS the job's counts come from the files of the batches indexed
    while others ran (each keeps its own) and from the tables of the last ones, counted, not
    indexed; the first read of its results indexes those and writes the final index, whose
    counts are the job's."""
    index = index_dir(work_dir(client, job["id"]))
    names = sorted(p.name for p in index.iterdir())
    assert len(names) < job["progress"]["batches_total"], names  # the last one waits
    assert all(name.startswith("batch_") for name in names), names
    runtime = client.app.state.runtime
    record = runtime.jobs.get(job["id"])
    batches = runtime.clusters.engine_for(record.cluster).collect(runtime.pipeline.context(record))
    indexed = batch_counts(work_dir(client, job["id"]))
    counted = completion_counts(work_dir(client, job["id"]), batches.batches)
    assert counted == IndexCounts(job["hsps_total"], job["hits_total"]) != indexed
    assert client.get(f"/api/jobs/{job['id']}/hits").status_code == 200
    names = sorted(p.name for p in index.iterdir())
    assert names == ["final"], names  # the batch files it replaces are gone, no draft left
    final = index / "final"
    meta = json.loads((final / "meta.json").read_text())
    assert meta["hsps"] == job["hsps_total"] > 100 and meta["hits"] == job["hits_total"]
    # A small job's orders are made when first asked for (and stored then), not up front:
    # only the hits' default order, the one read so far.
    assert meta["hsps"] < final_index.PRECOMPUTE_MIN_HSPS
    assert [p.name for p in final.glob("order.*")] == ["order.hit.evalue.asc.npy"]
    client.app.state.runtime.service._indexes.forget(job["id"])
    assert client.get(f"/api/jobs/{job['id']}/hsps", params={"sort": "pident"}).status_code == 200
    assert (final / "order.hsp.pident.desc.npy").exists()
    table = final_index.load_final(work_dir(client, job["id"]))
    assert isinstance(table.columns["pident"], np.ndarray)
    assert table.orders.get("hsp.pident.desc").base is not None  # mapped, not read into memory


def test_a_big_jobs_final_index_holds_every_sort_order(
    client: TestClient, job: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(final_index, "PRECOMPUTE_MIN_HSPS", 1)  # "big": this job
    batch_table(client, job["id"], tmp_path)
    final_index.finalize(tmp_path)
    final = final_index.final_dir(tmp_path)
    for kind, direction in itertools.product(("hsp", "hit"), ("asc", "desc")):
        for sort in sort_names(kind):
            assert (final / f"order.{kind}.{sort}.{direction}.npy").exists()


def test_every_sort_filter_and_page_equals_the_per_batch_index(
    client: TestClient, job: dict, tmp_path: Path
) -> None:
    final = final_index.load_final(work_dir(client, job["id"]))
    batches = batch_table(client, job["id"], tmp_path)
    assert len(final) == len(batches) == job["hsps_total"]
    # More than one batch found the same subject: the final index has one code per subject.
    assert len(batches.subject_ids) > len(final.subject_ids) == len(set(final.subject_ids.all()))
    some_query = next(iter(final.query_ids.values()))
    some_subject = final.subject_ids[0]
    filters = [
        None,
        ResultFilter(min_pident=99.0),
        ResultFilter(min_cover=90, max_evalue=1e-50),
        ResultFilter(query_id=some_query),
        ResultFilter(query_index=3, min_pident=90.0),
    ]
    pages = [(50, 0), (7, 113), (100, 10**6)]
    for (kind, page), flt, (limit, offset) in itertools.product(
        (("hsp", hsp_page), ("hit", hit_page)), filters, pages
    ):
        for sort, descending in itertools.product(sort_names(kind), (None, False, True)):
            want = page(batches, sort, descending, flt, limit, offset)
            got = page(final, sort, descending, flt, limit, offset)
            assert got == want, (kind, sort, descending, flt, limit, offset)
    subject = ResultFilter(subject_id=some_subject)
    assert hsp_page(final, "evalue", None, subject, 1000) == hsp_page(
        batches, "evalue", None, subject, 1000
    )
    assert query_summary(final) == query_summary(batches)


def test_api_pages_come_from_the_final_index(client: TestClient, job: dict) -> None:
    queries = client.get(f"/api/jobs/{job['id']}/queries").json()["items"]
    assert len(queries) == 32 and queries[-1]["hits"] == 0 and queries[-1]["qlen"] is None
    deep = client.get(
        f"/api/jobs/{job['id']}/hits",
        params={"sort": "subject_id", "order": "desc", "offset": job["hits_total"] - 3},
    ).json()
    assert deep["total"] == job["hits_total"] and len(deep["items"]) == 3
    assert deep["partial"] is False
    ids = [h["subject_id"] for h in deep["items"]]
    assert ids == sorted(ids, reverse=True)


def test_a_job_finished_before_the_final_index_gets_one_on_first_read(
    client: TestClient, demo_16s
) -> None:
    done = wait_for_job(api_job(client), submit(client, demo_16s[40:52])["id"], timeout=120)
    first = client.get(f"/api/jobs/{done['id']}/hsps", params={"sort": "pident"}).json()
    # As a job of the previous release left it: batch files, no final index.
    wd = work_dir(client, done["id"])
    shutil.rmtree(final_index.final_dir(wd))
    batch_table(client, done["id"], wd)
    client.app.state.runtime.service._indexes.forget(done["id"])
    again = client.get(f"/api/jobs/{done['id']}/hsps", params={"sort": "pident"}).json()
    assert again == first
    assert sorted(p.name for p in index_dir(wd).iterdir()) == ["final"]


def test_finalize_stopped_leaves_nothing(
    client: TestClient, job: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(final_index, "PRECOMPUTE_MIN_HSPS", 1)  # stopped among the sorts
    monkeypatch.setattr(final_index, "STOP_CHECK_INTERVAL_S", 0)
    batch_table(client, job["id"], tmp_path)
    asked = itertools.count()
    with pytest.raises(final_index.FinalizeStopped):
        final_index.finalize(tmp_path, stop=lambda: next(asked) >= 5)
    assert sorted(p.name for p in index_dir(tmp_path).iterdir() if not p.is_file()) == []
    assert final_index.final_version(tmp_path) == ()
    counts = final_index.finalize(tmp_path)  # whole when not stopped
    assert counts.hsps == job["hsps_total"] == len(final_index.load_final(tmp_path))


def test_a_cancel_while_the_final_index_is_written_ends_the_job_cancelled(
    client: TestClient, demo_16s, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race forced: the cancel arrives once the exporting step has begun its final index
    (a big job's: one written before the job says completed)."""
    monkeypatch.setattr(final_index, "PRECOMPUTE_MIN_HSPS", 1)
    real = final_index.finalize
    service = client.app.state.runtime.service

    def cancelled_meanwhile(work: Path, stop=None):
        service.cancel(work.name)
        return real(work, stop)

    monkeypatch.setattr(final_index, "finalize", cancelled_meanwhile)
    done = wait_for_job(api_job(client), submit(client, demo_16s[60:70])["id"], timeout=120)
    assert done["phase"] == "cancelled", done
    steps = {s["key"]: s["status"] for s in done["steps"]}
    assert steps["exporting_results"] == "cancelled" and steps["completed"] == "pending"
    index = index_dir(work_dir(client, done["id"]))
    assert not (index / "final").exists()
    assert not [p for p in index.iterdir() if p.name.startswith(".")]  # no draft left
    hits = client.get(f"/api/jobs/{done['id']}/hits").json()
    assert hits["partial"] is True and hits["total"] > 0  # its batches, as any cancelled job


def test_a_job_without_any_hsp_has_an_empty_final_index(tmp_path: Path) -> None:
    write_batch_index(tmp_path, 0, 0, ["lonely", "alone"], [])
    assert final_index.finalize(tmp_path) == IndexCounts(hsps=0, hits=0)
    table = final_index.load_final(tmp_path)
    assert len(table) == 0
    for kind, page in (("hsp", hsp_page), ("hit", hit_page)):
        for sort in sort_names(kind):
            assert page(table, sort, None, ResultFilter(min_pident=1.0)) == ([], 0)
    assert [q["hits"] for q in query_summary(table)] == [0, 0]
    assert [q["query_id"] for q in query_summary(table)] == ["lonely", "alone"]
