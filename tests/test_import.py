"""Importing a BLAST result made elsewhere (POST /api/jobs/import): BLAST XML and BLAST archives
written by real BLAST+ runs become jobs whose hits equal the original job's; every bad file is
refused with its code, and nothing of it is stored."""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from blastdeck.domain.wording import counted
from tests.conftest import (
    BLASTDECK,
    Server,
    api_job,
    back_translate,
    fasta,
    read_fasta,
    wait_for_job,
)
from tests.support.bench_data import bench_16s_3000


@pytest.fixture(scope="module", params=["sqlite", "distributed"])
def backend_name(request: pytest.FixtureRequest) -> str:
    """SQLite embedded, and distributed (PostgreSQL, Redis, Celery workers): PostgreSQL
    embedded adds nothing these tests could tell apart, and CI's 30 minutes are shared."""
    return request.param


IMPORTED_STEPS = {
    "preparing": "completed",
    "warming_up": "skipped",
    "configuring": "skipped",
    "staging_db": "skipped",
    "submitting": "skipped",
    "running": "skipped",
    "exporting_results": "completed",
    "completed": "completed",
}


def _mutated(seq: str, every: int) -> str:
    """A query that hits its source and its relatives with gaps and mismatches."""
    out = []
    for i, base in enumerate(seq):
        if i % every == 0:
            out.append({"A": "C", "C": "G", "G": "T", "T": "A"}.get(base, base))
        elif i % (every * 7) == 3:
            continue  # a deletion: gap openings in the alignments
        else:
            out.append(base)
    return "".join(out)


def _search(client: TestClient, program: str, database: str, query: str) -> dict[str, Any]:
    # Few subjects per query: the XML stays under the test deployment's 2 MB upload limit.
    body = {"program": program, "database": database, "query": query}
    body["options"] = {"max_target_seqs": 8}
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 202, response.text
    job = wait_for_job(api_job(client), response.json()["id"])
    assert job["phase"] == "completed", job
    return job


def _download(client: TestClient, job_id: str, fmt: str) -> bytes:
    response = client.get(f"/api/jobs/{job_id}/download", params={"format": fmt})
    assert response.status_code == 200, response.text
    return response.content


def _import(client: TestClient, name: str, data: bytes, **form: str) -> Any:
    return client.post("/api/jobs/import", files={"file": (name, data)}, data=form)


def _all_hits(client: TestClient, job_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/jobs/{job_id}/hits", params={"limit": 1000, "sort": "query"})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _all_hsps(client: TestClient, job_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/jobs/{job_id}/hsps", params={"limit": 1000, "sort": "query"})
    assert response.status_code == 200, response.text
    return response.json()["items"]


@pytest.fixture(scope="module")
def nucl_search(client: TestClient, demo_16s: list[tuple[str, str]]) -> dict[str, Any]:
    records = [(f"q{i} {h}", _mutated(s, 41 + 5 * i)) for i, (h, s) in enumerate(demo_16s[:6])]
    records.append(("nohit no hit expected", "ACGT" * 30))
    return _search(client, "blastn", "demo-16s", fasta(records))


@pytest.fixture(scope="module")
def prot_search(client: TestClient, demo_proteins: list[tuple[str, str]]) -> dict[str, Any]:
    records = [(f"p{i} {h}", s) for i, (h, s) in enumerate(demo_proteins[:3])]
    return _search(client, "blastp", "demo-proteins", fasta(records))


def _stored(client: TestClient) -> tuple[int, list[str]]:
    """How many jobs the deployment has and what is in its jobs dir (hidden drafts too)."""
    total = client.get("/api/jobs", params={"limit": 1}).json()["total"]
    jobs_dir = client.app.state.runtime.settings.jobs_dir  # type: ignore[attr-defined]
    return total, sorted(p.name for p in jobs_dir.iterdir()) if jobs_dir.exists() else []


# A hit's organism: from its database's taxids, so an import naming a database not registered
# here has none.
ORGANISM_FIELDS = ("taxid", "scientific_name", "common_name", "superkingdom", "lineage", "staxid")


def _assert_same_hits(
    client: TestClient, original: str, imported: str, organisms: bool = True
) -> None:
    theirs, ours = _all_hits(client, original), _all_hits(client, imported)
    their_hsps, our_hsps = _all_hsps(client, original), _all_hsps(client, imported)
    if not organisms:
        assert all(row["taxid"] is None for row in ours + our_hsps)
        theirs, ours, their_hsps, our_hsps = (
            [{k: v for k, v in row.items() if k not in ORGANISM_FIELDS} for row in rows]
            for rows in (theirs, ours, their_hsps, our_hsps)
        )
    assert theirs and ours == theirs
    assert our_hsps == their_hsps


@pytest.mark.parametrize("which", ["nucl", "prot"])
def test_imported_xml_has_the_original_jobs_hits(
    client: TestClient, nucl_search: dict, prot_search: dict, which: str
) -> None:
    original = nucl_search if which == "nucl" else prot_search
    xml = _download(client, original["id"], "xml")
    response = _import(client, "run.xml", xml, title="from elsewhere")
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["source"] == "imported" and job["phase"] == "completed"
    assert job["title"] == "from elsewhere"
    assert job["program"] == original["program"]
    assert job["database"] == original["database"]  # BLAST named its files; resolved here
    assert job["query_count"] == original["query_count"]
    assert job["query_letters"] == original["query_letters"]
    assert job["hits_total"] == original["hits_total"]
    assert job["hsps_total"] == original["hsps_total"]
    assert {s["key"]: s["status"] for s in job["steps"]} == IMPORTED_STEPS
    skipped = [s for s in job["steps"] if s["status"] == "skipped"]
    assert all("imported: BLAST ran elsewhere" in s["skip_reason"] for s in skipped)
    _assert_same_hits(client, original["id"], job["id"])
    # The XML download is the imported file, byte for byte; the table downloads (tsv, csv,
    # table columns) are BLAST's own bytes, as the original job's; formats made from an
    # archive cannot be made from XML.
    assert _download(client, job["id"], "xml") == xml
    for fmt in ("tsv", "csv"):
        assert _download(client, job["id"], fmt) == _download(client, original["id"], fmt), fmt
    table_columns = "qaccver,saccver,stitle,qcovs,qcovhsp,qlen,slen,evalue,bitscore,pident"
    columns = {"format": "tsv", "columns": table_columns}
    ours = client.get(f"/api/jobs/{job['id']}/download", params=columns)
    theirs = client.get(f"/api/jobs/{original['id']}/download", params=columns)
    assert ours.status_code == 200 and ours.content == theirs.content
    for fmt in ("json", "text"):
        refused = client.get(f"/api/jobs/{job['id']}/download", params={"format": fmt})
        assert refused.status_code == 409, refused.text
        assert refused.json()["error_code"] == "format_unavailable"
    # Alignments come from the XML itself: the same HSPs, sequences and scores.
    for index in range(original["query_count"]):
        path = f"/api/jobs/{{}}/alignments?query_index={index}"
        theirs = client.get(path.format(original["id"])).json()["items"]
        ours = client.get(path.format(job["id"])).json()["items"]
        keys = ("subject_id", "qseq", "hseq", "midline", "qstart", "qend", "sstart", "send")
        # (BLAST XML writes masked query letters in capitals; the JSON of a search, lowercase.)
        for a, b in zip(ours, theirs, strict=True):
            assert {k: str(a[k]).upper() for k in keys} == {k: str(b[k]).upper() for k in keys}
    events = client.get(f"/api/jobs/{job['id']}/events").json()["items"]
    assert events[0]["kind"] == "created" and events[-1]["kind"] == "completed"


@pytest.mark.parametrize("which", ["nucl", "prot"])
def test_imported_archive_has_the_original_jobs_hits_and_every_download(
    client: TestClient, nucl_search: dict, prot_search: dict, which: str
) -> None:
    original = nucl_search if which == "nucl" else prot_search
    archive = _download(client, original["id"], "asn1")
    response = _import(client, "run.asn", archive)
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["source"] == "imported" and job["hits_total"] == original["hits_total"]
    assert job["program"] == original["program"]
    assert job["query_letters"] == original["query_letters"]
    assert {s["key"]: s["status"] for s in job["steps"]} == IMPORTED_STEPS
    _assert_same_hits(client, original["id"], job["id"])
    # Every format is formatted from the archive, as for the job that made it.
    assert _download(client, job["id"], "tsv") == _download(client, original["id"], "tsv")
    for fmt in ("json", "text", "xml"):
        assert _download(client, job["id"], fmt), fmt
    alignments = client.get(f"/api/jobs/{job['id']}/alignments?query_index=0").json()["items"]
    assert alignments and alignments[0]["qseq"]
    # Deleted like any job: its row and every file.
    jobs_dir = client.app.state.runtime.settings.jobs_dir  # type: ignore[attr-defined]
    assert (jobs_dir / job["id"]).is_dir()
    assert client.delete(f"/api/jobs/{job['id']}").status_code in (200, 204)
    assert client.get(f"/api/jobs/{job['id']}").status_code == 404
    assert not (jobs_dir / job["id"]).exists()


def test_imported_xml_takes_its_organisms_from_the_registered_database(client: TestClient) -> None:
    """BLAST XML names no taxids: they come from the database registered here (by the name of
    its files, which is what BLAST wrote), so the hits by organism equal the search's."""
    bench = bench_16s_3000()
    registered = client.post(
        "/api/databases", json={"name": "bench16s", "path": str(bench / "16s-3000")}
    )
    assert registered.status_code == 201, registered.text
    queries = read_fasta(bench / "queries-16s-50.fa")[:4]
    original = _search(client, "blastn", "bench16s", fasta(queries))
    response = _import(client, "bench.xml", _download(client, original["id"], "xml"))
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["database"] == "bench16s"
    _assert_same_hits(client, original["id"], job["id"])
    hits = _all_hits(client, job["id"])
    assert sum(1 for h in hits if h["staxid"]) > len(hits) // 2
    report = client.get(f"/api/jobs/{job['id']}/taxonomy")
    assert report.status_code == 200
    theirs = client.get(f"/api/jobs/{original['id']}/taxonomy").json()
    assert report.json()["organisms"] == theirs["organisms"] and theirs["organisms"]


def test_imported_xml_of_a_database_not_registered_here(
    client: TestClient, nucl_search: dict
) -> None:
    """The hits need no database: they import whole, naming the database as the file does;
    what needs the database's sequences (the FASTA download) says it is unknown."""
    xml = _download(client, nucl_search["id"], "xml")
    elsewhere = re.sub(
        rb"<BlastOutput_db>[^<]*<", b"<BlastOutput_db>/data/elsewhere/nt<", xml, count=1
    )
    assert elsewhere != xml
    response = _import(client, "elsewhere.xml", elsewhere)
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["database"] == "/data/elsewhere/nt"
    _assert_same_hits(client, nucl_search["id"], job["id"], organisms=False)
    fasta_download = client.get(f"/api/jobs/{job['id']}/download", params={"format": "fasta"})
    assert fasta_download.status_code == 404, fasta_download.text
    assert fasta_download.json()["error_code"] == "unknown_database"


def test_a_title_over_the_limit_is_refused(client: TestClient, nucl_search: dict) -> None:
    xml = _download(client, nucl_search["id"], "xml")
    before = _stored(client)
    response = _import(client, "run.xml", xml, title="t" * 201)
    assert response.status_code == 422 and response.json()["error_code"] == "invalid_request"
    assert response.json()["field"] == "title"
    assert _stored(client) == before


# -- bad inputs: refused with their code, nothing stored --------------------------------------


def _refused(client: TestClient, data: bytes | Iterator[bytes], code: str, status: int = 422):
    before = _stored(client)
    if isinstance(data, bytes):
        response = _import(client, "bad.xml", data)
    else:
        boundary = "bOuNdArY"

        def body() -> Iterator[bytes]:
            yield (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="deep.xml"\r\n\r\n'
            ).encode()
            yield from data
            yield f"\r\n--{boundary}--\r\n".encode()

        response = client.post(
            "/api/jobs/import",
            content=body(),
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        )
    assert response.status_code == status, response.text
    error = response.json()
    assert error["error_code"] == code, error
    assert _stored(client) == before  # no job row, no files, no upload left behind
    return error


def test_xml_that_is_not_blasts_is_refused(client: TestClient) -> None:
    error = _refused(client, b'<?xml version="1.0"?>\n<rss><channel/></rss>\n', "import_not_blast")
    assert "<rss>" in error["message"]


def test_a_file_that_is_neither_is_refused(client: TestClient) -> None:
    _refused(client, b">q1\nACGT\n", "import_not_blast")
    _refused(client, b"", "empty_file")


def test_truncated_xml_is_refused_with_its_line_and_element(
    client: TestClient, nucl_search: dict
) -> None:
    xml = _download(client, nucl_search["id"], "xml")
    cut = xml[: len(xml) * 2 // 3]
    error = _refused(client, cut, "import_malformed")
    line = cut.count(b"\n") + 1
    assert re.search(rf"at line {line}\b", error["message"]), error
    assert "in <" in error["message"]


def test_entity_expansion_is_refused(client: TestClient) -> None:
    laughs = b"""<?xml version="1.0"?>
<!DOCTYPE BlastOutput [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<BlastOutput><BlastOutput_program>&lol3;</BlastOutput_program></BlastOutput>
"""
    error = _refused(client, laughs, "import_malformed")
    assert "entity" in error["message"] and "line 3" in error["message"]


def test_deep_nesting_is_refused(client: TestClient) -> None:
    deep = b"<BlastOutput>" + b"<a>" * 100_000
    error = _refused(client, deep, "import_malformed")
    assert "nested more than" in error["message"]


def test_a_gigabyte_of_nesting_stops_at_the_upload_limit(client: TestClient) -> None:
    chunk = b"<a>" * (1 << 18)

    def gigabyte() -> Iterator[bytes]:
        yield b"<BlastOutput>"
        for _ in range((1 << 30) // len(chunk)):
            yield chunk

    _refused(client, gigabyte(), "payload_too_large", status=413)


def test_archive_from_another_blast_version_is_refused(
    client: TestClient, nucl_search: dict
) -> None:
    archive = _download(client, nucl_search["id"], "asn1")
    other = re.sub(rb'ident "[^"]*"', b'ident "2.9.0+"', archive, count=1)
    assert other != archive
    error = _refused(client, other, "import_blast_version")
    assert "2.9.0+" in error["message"]


def test_truncated_archive_is_refused(client: TestClient, nucl_search: dict) -> None:
    archive = _download(client, nucl_search["id"], "asn1")
    _refused(client, archive[: len(archive) // 2], "import_malformed")
    _refused(client, archive[:200], "import_malformed")


def test_archive_of_a_database_not_here_is_refused(client: TestClient, nucl_search: dict) -> None:
    archive = _download(client, nucl_search["id"], "asn1")
    elsewhere = re.sub(rb'subject database "[^"]*"', b'subject database "nt"', archive, count=1)
    error = _refused(client, elsewhere, "import_database_unknown")
    assert "'nt'" in error["message"]


def test_import_without_a_file_is_refused(client: TestClient) -> None:
    response = client.post("/api/jobs/import", data={"title": "x"}, files={"other": ("a", b"b")})
    assert response.status_code == 422 and response.json()["error_code"] == "invalid_request"
    response = client.post("/api/jobs/import", json={"file": "x"})
    assert response.status_code == 422 and response.json()["error_code"] == "invalid_request"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([BLASTDECK, *args], capture_output=True, timeout=300)


def test_import_cli_on_the_data_dir_and_against_a_server(
    client: TestClient, nucl_search: dict, tmp_path: Path
) -> None:
    xml = _download(client, nucl_search["id"], "xml")
    good, bad = tmp_path / "elsewhere.xml", tmp_path / "bad.xml"
    good.write_bytes(xml)
    bad.write_bytes(xml[:5000])
    data_dir = tmp_path / "local-data"
    local = ("--data-dir", str(data_dir))
    run = _cli("import", str(good), "--title", "cli import", *local)
    assert run.returncode == 0, run.stderr.decode()
    job_id = run.stdout.decode().split()[0]
    assert counted(nucl_search["hits_total"], "hit") in run.stdout.decode()
    assert (data_dir / "jobs" / job_id / "exports" / "results.xml").read_bytes() == xml
    refused = _cli("import", str(bad), *local)
    assert refused.returncode == 2 and "error import_malformed" in refused.stderr.decode()
    missing = _cli("import", str(tmp_path / "nope.xml"), *local)
    assert missing.returncode == 2 and "file_not_found" in missing.stderr.decode()
    assert sorted(p.name for p in (data_dir / "jobs").iterdir()) == [job_id]

    server = Server(tmp_path / "server-data", None)
    server.start()
    try:
        run = _cli("import", str(good), "--server", server.url)
        assert run.returncode == 0, run.stderr.decode()
        job = server.job(run.stdout.decode().split()[0])
        assert job["source"] == "imported" and job["hits_total"] == nucl_search["hits_total"]
        refused = _cli("import", str(bad), "--server", server.url)
        assert refused.returncode == 2 and "error import_malformed" in refused.stderr.decode()
    finally:
        server.kill(signal.SIGTERM)


def test_leftovers_of_a_process_that_died_while_importing_are_swept(client: TestClient) -> None:
    """A day-old draft or spooled upload (its process died mid-import) is removed by the next
    import in a new process; a fresh one (another import in progress) is left alone."""
    import os
    import time

    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    jobs_dir = runtime.settings.jobs_dir
    jobs_dir.mkdir(parents=True, exist_ok=True)
    old_draft, old_upload = jobs_dir / ".import-dead", jobs_dir / ".upload-dead.part"
    fresh = jobs_dir / ".import-busy"
    for directory in (old_draft, fresh):
        directory.mkdir()
        (directory / "index").mkdir()
    old_upload.write_bytes(b"<BlastOutput>")
    day_ago = time.time() - 2 * 86_400
    for path in (old_draft, old_upload):
        os.utime(path, (day_ago, day_ago))
    runtime.imports._swept = False  # as in a new process
    assert _import(client, "x.txt", b"not blast").status_code == 422
    assert not old_draft.exists() and not old_upload.exists()
    assert fresh.is_dir()
    fresh.joinpath("index").rmdir()
    fresh.rmdir()


# -- the XML reader against BLAST's own hit table, every program --------------------------------

_TABLE = "6 qseqid saccver stitle pident length mismatch gapopen qstart qend sstart send evalue"
_TABLE += " bitscore qlen slen qcovhsp qcovs"


@pytest.mark.parametrize(
    ("program", "query_kind", "db_kind", "parse_seqids"),
    [
        ("blastx", "nucl", "prot", False),
        ("blastx", "nucl", "prot", True),
        ("tblastn", "prot", "nucl", False),
        ("tblastx", "nucl", "nucl", True),
    ],
)
def test_xml_reader_gives_blasts_hit_table_for_translated_programs(
    demo_proteins: list[tuple[str, str]],
    tmp_path: Path,
    program: str,
    query_kind: str,
    db_kind: str,
    parse_seqids: bool,
) -> None:
    """Each HSP read from BLAST XML equals the row BLAST's tabular output prints for it, on both
    strands (a coding sequence and its reverse complement), with and without -parse_seqids."""
    from blastdeck.results.blast_xml import BlastXmlReader

    proteins = demo_proteins[:4]
    coding = back_translate(proteins[0][1])
    reverse = back_translate(proteins[0][1], reverse=True)
    nucleotides = [("fwd forward copy", "ACG" + coding), ("rev reverse copy", "TT" + reverse)]
    queries = nucleotides if query_kind == "nucl" else proteins
    subjects = proteins if db_kind == "prot" else nucleotides
    (tmp_path / "q.fa").write_text(fasta(queries))
    (tmp_path / "db.fa").write_text(fasta(subjects))
    build = ["makeblastdb", "-in", "db.fa", "-dbtype", db_kind, "-out", "db"]
    subprocess.run(build + (["-parse_seqids"] if parse_seqids else []), cwd=tmp_path, check=True)
    search = [program, "-query", "q.fa", "-db", "db", "-max_target_seqs", "5"]
    subprocess.run([*search, "-outfmt", "5", "-out", "r.xml"], cwd=tmp_path, check=True)
    subprocess.run([*search, "-outfmt", _TABLE, "-out", "r.tsv"], cwd=tmp_path, check=True)
    with (tmp_path / "r.xml").open("rb") as stream:
        ours = [h for q in BlastXmlReader(stream).queries() for h in q.hsps]
    rows = [line.split("\t") for line in (tmp_path / "r.tsv").read_text().splitlines()]
    assert len(rows) >= 2 and len(ours) == len(rows)  # hits on both strands at least
    fields = ("query_id", "subject_id", "subject_title", "pident", "length", "mismatch")
    fields += ("gapopen", "qstart", "qend", "sstart", "send", "evalue", "bitscore", "qlen")
    fields += ("slen", "qcovhsp", "qcovs")
    for hsp, row in zip(ours, rows, strict=True):
        theirs = [float(v) if f in ("pident", "evalue", "bitscore") else v
                  for f, v in zip(fields, row, strict=True)]  # fmt: skip
        mine = [getattr(hsp, f) if isinstance(t, float) else str(getattr(hsp, f))
                for f, t in zip(fields, theirs, strict=True)]  # fmt: skip
        assert mine == theirs
