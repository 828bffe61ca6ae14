"""The first download of a format is read while it is made (real BLAST+ and blast_formatter):
its readers get the first batch's bytes while a later batch is still being formatted, several
readers share one render, a reader that goes away leaves the file made, a render failing
midway cuts its readers (never a short file that looks whole), a job deleted mid-stream lets the
stream end whole, and a killed render's leftovers are removed by the next.

The formatter of the job's second batch is held on purpose (a test double for the race, around
the real formatter) so that "while it is made" is certain, not a matter of timing."""

from __future__ import annotations

import json
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.results import export_sources
from blastdeck.results.export_renders import ExportFile
from blastdeck.results.formats import ExportFormat
from tests.conftest import api_job, make_settings
from tests.support import big_jobs


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("data"), slots=2)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def run_job(client: TestClient, queries: list[tuple[str, str]]) -> str:
    return big_jobs.run_job(api_job(client), client.post, queries)["id"]


class HeldFormatter:
    """The real formatter, except that the second batch's waits for `release` (and then
    fails instead when `fail` is set); counts the batches formatted."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.release = threading.Event()
        self.fail = False
        self.calls: list[str] = []
        self.paths: list[Path] = []
        real = export_sources._format_batch

        def held(archive, blastdb_dir, outfmt, dest: Path) -> None:
            self.calls.append(dest.name)
            self.paths.append(dest)
            if dest.name == "batch-1.out":
                assert self.release.wait(60), "the test never released the second batch"
                if self.fail:
                    raise export_sources.export_error("the second batch could not be formatted")
            real(archive, blastdb_dir, outfmt, dest)

        monkeypatch.setattr(export_sources, "_format_batch", held)


def exports_dir(client: TestClient, job_id: str) -> Path:
    return client.app.state.runtime.settings.jobs_dir / job_id / "exports"


def read_some(handle: ExportFile, at_least: int) -> bytes:
    got = bytearray()
    while len(got) < at_least:
        chunk = handle.read(at_least - len(got))
        assert chunk, "the export ended early"
        got.extend(chunk)
    return bytes(got)


def test_the_first_download_is_read_while_it_is_made(
    client: TestClient, demo_16s, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = run_job(client, demo_16s[:6])
    service = client.app.state.runtime.service
    held = HeldFormatter(monkeypatch)
    with service.open_export(job_id, ExportFormat.XML) as handle:
        assert handle.size is None  # read while it is made: no length yet
        first = read_some(handle, 4096)
        assert first.startswith(b'<?xml version="1.0"?>')
        assert not (exports_dir(client, job_id) / "results.xml").exists()  # still being made
        held.release.set()
        body = first + handle.read()
    made = (exports_dir(client, job_id) / "results.xml").read_bytes()
    assert body == made
    assert len(ET.fromstring(body).findall(".//Iteration")) == 6
    answer = client.get(f"/api/jobs/{job_id}/download?format=xml")  # now whole, with a length
    assert answer.status_code == 200 and answer.content == made
    assert answer.headers["content-length"] == str(len(made))


def test_readers_at_once_share_one_render_and_one_that_leaves_does_not_stop_it(
    client: TestClient, demo_16s, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = run_job(client, demo_16s[6:12])
    service = client.app.state.runtime.service
    held = HeldFormatter(monkeypatch)
    leaving = service.open_export(job_id, ExportFormat.JSON)
    read_some(leaving, 1000)
    leaving.close()  # the client went away

    def whole() -> bytes:
        with service.open_export(job_id, ExportFormat.JSON) as handle:
            return handle.read()

    with ThreadPoolExecutor(3) as pool:
        readers = [pool.submit(whole) for _ in range(3)]
        time.sleep(0.5)
        held.release.set()
        bodies = {reader.result(timeout=120) for reader in readers}
    assert len(bodies) == 1
    assert len(json.loads(bodies.pop())["BlastOutput2"]) == 6
    assert sorted(held.calls) == ["batch-0.out", "batch-1.out"]  # one render for all


def test_a_render_failing_midway_cuts_its_readers_and_leaves_nothing(
    client: TestClient, demo_16s, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = run_job(client, demo_16s[12:18])
    service = client.app.state.runtime.service
    held = HeldFormatter(monkeypatch)
    held.fail = True
    with service.open_export(job_id, ExportFormat.TEXT) as handle:
        read_some(handle, 1000)
        held.release.set()
        with pytest.raises(BlastDeckError) as failed:
            while handle.read(1 << 20):
                pass
    assert failed.value.code is ErrorCode.EXPORT_FAILED
    assert "second batch" in failed.value.message
    assert sorted(p.name for p in exports_dir(client, job_id).iterdir()) == []
    held.fail = False
    answer = client.get(f"/api/jobs/{job_id}/download?format=text")  # a new render, whole
    assert answer.status_code == 200
    assert answer.content.count(b"Query= ") == 6


def test_a_render_failing_before_its_first_byte_answers_with_its_code(
    client: TestClient, demo_16s, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = run_job(client, demo_16s[30:32])

    def broken(archive, blastdb_dir, outfmt, dest: Path) -> None:
        raise export_sources.export_error("blast_formatter could not format it")

    monkeypatch.setattr(export_sources, "_format_batch", broken)
    answer = client.get(f"/api/jobs/{job_id}/download?format=json")
    assert answer.status_code == BlastDeckError(ErrorCode.EXPORT_FAILED, "").http_status
    assert answer.json()["error_code"] == "export_failed", answer.text
    assert "content-disposition" not in answer.headers  # an answer of its own, not a download


def test_a_job_deleted_mid_stream_ends_the_stream_whole_then_goes(
    client: TestClient, demo_16s, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = run_job(client, demo_16s[18:24])
    job_dir = client.app.state.runtime.settings.jobs_dir / job_id
    service = client.app.state.runtime.service
    held = HeldFormatter(monkeypatch)
    with service.open_export(job_id, ExportFormat.XML) as handle:
        first = read_some(handle, 4096)
        assert client.delete(f"/api/jobs/{job_id}").status_code == 204
        assert job_dir.exists()  # left to the render its reader follows
        held.release.set()
        body = first + handle.read()
    assert len(ET.fromstring(body).findall(".//Iteration")) == 6
    deadline = time.monotonic() + 30
    while job_dir.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not job_dir.exists()
    assert client.get(f"/api/jobs/{job_id}").status_code == 404


def test_a_killed_renders_leftovers_are_removed_by_the_next(client: TestClient, demo_16s) -> None:
    job_id = run_job(client, demo_16s[24:26])
    exports = exports_dir(client, job_id)
    exports.mkdir(exist_ok=True)
    (exports / ".results.xml.0123abcd.part").write_text("<?xml half")
    (exports / ".export-k1ll3d").mkdir()
    (exports / ".export-k1ll3d" / "batch-0.out").write_text("half")
    answer = client.get(f"/api/jobs/{job_id}/download?format=tsv")
    assert answer.status_code == 200
    assert sorted(p.name for p in exports.iterdir()) == ["results.tsv"]


@pytest.mark.parametrize("fails", [False, True], ids=["ends", "fails"])
def test_a_batch_is_read_in_whole_lines_while_its_formatter_writes(
    tmp_path: Path, fails: bool
) -> None:
    """The follower itself: whole lines as they are written, a partial line held until its
    end, the formatter's failure raised after its last line."""
    path = tmp_path / "batch-0.out"
    path.touch()
    formatting: Future[None] = Future()
    lines = export_sources._written_blocks(path, formatting)
    got: list[str] = []
    errors: list[BlastDeckError] = []

    def read_rest() -> None:
        try:
            got.extend(lines)
        except BlastDeckError as exc:
            errors.append(exc)

    with path.open("w") as out:
        out.write("<a>\n<b")
        out.flush()
        assert next(lines) == "<a>\n"
        reader = threading.Thread(target=read_rest)
        reader.start()
        time.sleep(0.2)
        assert got == []  # "<b" is not a line yet
        out.write(">\n<c/>\n")
    if fails:
        formatting.set_exception(export_sources.export_error("formatter died"))
    else:
        formatting.set_result(None)
    reader.join(5)
    assert not reader.is_alive()
    assert "".join(got) == "<b>\n<c/>\n" and all(block.endswith("\n") for block in got)
    assert [e.message for e in errors] == (["formatter died"] if fails else [])


def test_renders_beyond_the_bound_wait_their_turn(
    tmp_path: Path, demo_16s, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `max_export_renders` 1, a second job's first download does not start its formatter
    while the first job's render runs: it waits, then is made whole."""
    settings = make_settings(tmp_path / "data", slots=2, max_export_renders=1)
    with TestClient(create_app(settings)) as own:
        first_job, second_job = run_job(own, demo_16s[:6]), run_job(own, demo_16s[6:12])
        service = own.app.state.runtime.service
        held = HeldFormatter(monkeypatch)

        def whole(job_id: str) -> bytes:
            with service.open_export(job_id, ExportFormat.XML) as handle:
                return handle.read()

        with service.open_export(first_job, ExportFormat.XML) as handle:
            head = read_some(handle, 4096)  # the first render runs, its second batch held
            with ThreadPoolExecutor(1) as pool:
                waiting = pool.submit(whole, second_job)
                time.sleep(1.0)
                assert not waiting.done()
                assert [p for p in held.paths if second_job in str(p)] == []  # not started
                held.release.set()
                first_body = head + handle.read()
                second_body = waiting.result(timeout=120)
    for job_id, body in ((first_job, first_body), (second_job, second_body)):
        assert len(ET.fromstring(body).findall(".//Iteration")) == 6
        assert body == (settings.jobs_dir / job_id / "exports" / "results.xml").read_bytes()
    second_formatted = [p for p in held.paths if second_job in str(p)]
    assert sorted(p.name for p in second_formatted) == ["batch-0.out", "batch-1.out"]


def test_a_cancel_while_the_export_is_made_changes_nothing(
    client: TestClient, demo_16s, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job has ended, so a cancel sent while its first XML is made answers 409
    job_already_finished, and the download goes on to the whole file."""
    job_id = run_job(client, demo_16s[24:30])
    service = client.app.state.runtime.service
    held = HeldFormatter(monkeypatch)
    with service.open_export(job_id, ExportFormat.XML) as handle:
        head = read_some(handle, 4096)  # being made: its second batch is held
        answer = client.post(f"/api/jobs/{job_id}/cancel")
        assert answer.status_code == 409, answer.text
        assert answer.json()["error_code"] == "job_already_finished"
        held.release.set()
        body = head + handle.read()
    assert len(ET.fromstring(body).findall(".//Iteration")) == 6
    assert body == (exports_dir(client, job_id) / "results.xml").read_bytes()
    assert client.get(f"/api/jobs/{job_id}").json()["phase"] == "completed"
    kinds = [e["kind"] for e in client.get(f"/api/jobs/{job_id}/events").json()["items"]]
    assert not [k for k in kinds if "cancel" in k], kinds
    assert sorted(p.name for p in exports_dir(client, job_id).iterdir()) == ["results.xml"]
