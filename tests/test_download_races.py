"""Downloads under races (real BLAST+): the same download asked twice at once makes one file;
the export lock holds across processes; a job deleted while its download streams (from a
file made before, or from its render) ends that download whole and leaves nothing behind; a
job deleted while its export (or the archives of a columns download) is made answers 404 and
leaves nothing behind."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from blastdeck.results.export_locks import ExportLocks
from tests.conftest import Server, api_job, make_settings
from tests.support.big_jobs import run_job


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("data"), slots=2)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def leftovers(job_dir: Path) -> list[str]:
    """Half-written files or scratch dirs of an export."""
    return sorted(
        p.name for p in (job_dir / "exports").iterdir() if p.name.endswith(".part") or "-" in p.name
    )


def test_the_same_download_twice_at_once_makes_one_file(client: TestClient, demo_16s) -> None:
    job = run_job(api_job(client), client.post, demo_16s[:6])
    runtime = client.app.state.runtime
    engine = runtime.clusters.engine_for(job["cluster"])
    made: list[float] = []
    real = engine.make_archives

    def counted(ctx):
        made.append(time.monotonic())
        return real(ctx)

    engine.make_archives = counted
    try:
        with ThreadPoolExecutor(4) as pool:
            answers = list(
                pool.map(
                    lambda fmt: client.get(f"/api/jobs/{job['id']}/download?format={fmt}"),
                    ["json", "json", "xml", "json"],
                )
            )
    finally:
        del engine.make_archives
    assert [a.status_code for a in answers] == [200] * 4
    documents = [a.content for a in answers if a.headers["content-type"].startswith("app")]
    json_bodies = [a.content for i, a in enumerate(answers) if i != 2]
    assert len(set(json_bodies)) == 1 and json.loads(json_bodies[0])["BlastOutput2"]
    assert documents
    # Each format once (the XML render found the archives the JSON one made, or made them).
    assert 1 <= len(made) <= 2
    job_dir = runtime.settings.jobs_dir / job["id"]
    assert leftovers(job_dir) == []
    assert sorted(p.name for p in (job_dir / "exports").iterdir()) == [
        "results.json",
        "results.xml",
    ]


def test_the_export_lock_holds_across_processes(tmp_path: Path) -> None:
    """Two lock tables stand for two processes: only the flock on the job's file orders them."""
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    first, second = ExportLocks(), ExportLocks()
    order: list[str] = []
    held = threading.Event()

    def hold() -> None:
        with first.held("j", job_dir):
            held.set()
            time.sleep(0.5)
            order.append("first done")

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    with second.held("j", job_dir):
        order.append("second in")
    thread.join()
    assert order == ["first done", "second in"]
    assert first.exporting("j") is False
    # A deleted job has nothing to lock.
    with pytest.raises(FileNotFoundError), first.held("k", tmp_path / "gone"):
        pass


@pytest.mark.parametrize("params", ["format=json", "format=tsv&columns=ext"])
def test_a_job_deleted_while_its_export_is_made_answers_404_and_leaves_nothing(
    client: TestClient, demo_16s, params: str
) -> None:
    job = run_job(api_job(client), client.post, demo_16s[20:28])
    runtime = client.app.state.runtime
    engine = runtime.clusters.engine_for(job["cluster"])
    real = engine.make_archives

    def deleted_meanwhile(ctx):  # the race forced: the delete lands while BLAST makes archives
        deleted = client.delete(f"/api/jobs/{job['id']}")
        assert deleted.status_code == 204, deleted.text
        return real(ctx)

    engine.make_archives = deleted_meanwhile
    try:
        answer = client.get(f"/api/jobs/{job['id']}/download?{params}")
    finally:
        del engine.make_archives
    assert answer.status_code == 404, answer.text
    assert answer.json()["error_code"] == "job_not_found"
    assert "deleted while its download was being prepared" in answer.json()["message"]
    assert not (runtime.settings.jobs_dir / job["id"]).exists()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("served")
    served = Server(data_dir, None)
    served.data_dir = data_dir  # type: ignore[attr-defined]
    served.start()
    yield served
    served.kill()


@pytest.mark.parametrize("made_before", [False, True], ids=["read-while-made", "made-before"])
def test_a_download_streaming_when_its_job_is_deleted_ends_whole(
    server: Server, demo_16s, made_before: bool
) -> None:
    """Whether the download reads a file made before (its length known) or follows its render
    (chunked: the first download of a format), a delete mid-stream lets it end whole, and the
    job's files go when it has."""
    with httpx.Client(base_url=server.url, timeout=120) as http:
        job = run_job(server.job, http.post, demo_16s[:16])
        url = f"/api/jobs/{job['id']}/download"
        if made_before:
            assert http.get(url, params={"format": "json"}).status_code == 200
        with http.stream("GET", url, params={"format": "json"}) as response:
            assert response.status_code == 200
            assert ("content-length" in response.headers) == made_before
            chunks = response.iter_bytes()
            body = bytearray(next(chunks))
            assert http.delete(f"/api/jobs/{job['id']}").status_code == 204
            assert http.get(url).json()["error_code"] == "job_not_found"
            for chunk in chunks:
                body.extend(chunk)
        assert len(body) > 12_000_000  # far more than socket buffers hold: it was mid-stream
        if made_before:
            assert len(body) == int(response.headers["content-length"])
        assert len(json.loads(body)["BlastOutput2"]) == 16
        listed = http.get("/api/jobs", params={"q": job["id"]}).json()
        assert listed["total"] == 0
    gone = server.data_dir / "jobs" / job["id"]  # type: ignore[attr-defined]
    deadline = time.monotonic() + 30
    while gone.exists() and time.monotonic() < deadline:  # the render removes it as it ends
        time.sleep(0.1)
    assert not gone.exists()
