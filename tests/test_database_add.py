"""Adding databases as a new user does (issue 14): FASTA with a byte-order mark, leading blank
lines or gzip; an empty or missing file; the molecule chosen by the user; makeblastdb's
complaints said once and without server paths; a database whose files were moved shown as
unavailable and failing its jobs as `database_files_missing`. Real makeblastdb and BLAST+."""

from __future__ import annotations

import gzip
import io
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from tests.conftest import BLASTDECK, api_job, fasta, make_settings, wait_for_job


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BLASTDECK, *args, "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data_dir = tmp_path_factory.mktemp("db-add") / "data"
    settings = make_settings(data_dir, max_upload_bytes=2_000_000)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def upload(client: TestClient, name: str, content: bytes, filename: str = "x.fa", **fields):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/databases",
        data={"name": name, **fields},
        files={"file": (filename, content, "application/octet-stream")},
    )


# -- the CLI on the local data dir ----------------------------------------------------------------


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-db-add") / "data"


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("bom.fa", b"\xef\xbb\xbf"),
        ("blank-lines.fa", b"\n\n  \n"),
        ("genes.fa.gz", None),
    ],
)
def test_cli_builds_from_fasta_with_bom_blank_lines_or_gzip(
    data_dir: Path, tmp_path: Path, demo_16s, filename: str, content: bytes | None
) -> None:
    text = fasta(demo_16s[:4]).encode()
    body = gzip.compress(text) if content is None else content + text
    source = tmp_path / filename
    source.write_bytes(body)
    name = filename.split(".")[0]
    added = cli(data_dir, "db", "add", name, str(source))
    # Each used to say: No BLAST database found
    assert added.returncode == 0, added.stderr
    assert f"{name}: nucl, 4 sequences" in added.stdout


def test_cli_says_file_not_found_and_empty_file(data_dir: Path, tmp_path: Path) -> None:
    missing = cli(data_dir, "db", "add", "my-genes", str(tmp_path / "genes.fa"))
    assert missing.returncode == 2
    assert "file_not_found" in missing.stderr and "genes.fa" in missing.stderr
    assert "No BLAST database found" not in missing.stderr
    empty = tmp_path / "empty.fa"
    empty.write_bytes(b"")
    said = cli(data_dir, "db", "add", "empty", str(empty))
    assert said.returncode == 2 and "empty_file" in said.stderr and "empty" in said.stderr
    listed = cli(data_dir, "db", "list")
    assert "my-genes" not in listed.stdout and "empty" not in listed.stdout


def test_cli_molecule_is_the_users_choice(data_dir: Path, tmp_path: Path, demo_proteins) -> None:
    # Short peptides of A, C, G, T letters look like DNA to auto-detection.
    peptides = tmp_path / "peptides.fa"
    peptides.write_text(fasta([("pep1", "GATTACA"), ("pep2", "CATTAG"), ("pep3", "TAGCAT")]))
    auto = cli(data_dir, "db", "add", "pep-auto", str(peptides))
    assert auto.returncode == 0 and "pep-auto: nucl" in auto.stdout
    chosen = cli(data_dir, "db", "add", "pep", str(peptides), "--molecule", "prot")
    assert chosen.returncode == 0, chosen.stderr
    assert "pep: prot, 3 sequences" in chosen.stdout
    proteins = tmp_path / "proteins.fa"
    proteins.write_text(fasta(demo_proteins[:2]))
    wrong = cli(data_dir, "db", "add", "prot-as-nucl", str(proteins), "--molecule", "nucl")
    assert wrong.returncode == 2
    assert "database_molecule_mismatch" in wrong.stderr and "nucleotide" in wrong.stderr
    bad = cli(data_dir, "db", "add", "x", str(proteins), "--molecule", "rna")
    assert bad.returncode == 2 and "invalid_request" in bad.stderr


# -- REST uploads ---------------------------------------------------------------------------------


def test_gzip_upload_builds_the_database(client: TestClient, demo_16s) -> None:
    body = gzip.compress(fasta(demo_16s[:6]).encode())
    response = upload(client, "gz16s", body, filename="gz16s.fa.gz")
    assert response.status_code == 201, response.text  # used to be 422 binary_data
    assert response.json()["sequences"] == 6 and response.json()["molecule"] == "nucl"
    # Several gzip members (cat a.gz b.gz) are one file.
    two = gzip.compress(fasta(demo_16s[:2]).encode()) + gzip.compress(fasta(demo_16s[2:3]).encode())
    assert upload(client, "gz-two", two).json()["sequences"] == 3
    # The name defaults to the file's, without .fa.gz.
    unnamed = client.post(
        "/api/databases", files={"file": ("cohort.fa.gz", body, "application/gzip")}
    )
    assert unnamed.status_code == 201 and unnamed.json()["name"] == "cohort"


def test_a_zip_bomb_is_refused_not_inflated(client: TestClient) -> None:
    # 30 MB of sequence in ~30 kB of gzip, against an upload limit of 2 MB.
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb") as gz:
        gz.write(b">bomb\n")
        for _ in range(30):
            gz.write(b"A" * 1_000_000)
    assert len(raw.getvalue()) < 100_000
    response = upload(client, "bomb", raw.getvalue())
    assert response.status_code == 413, response.text
    assert response.json()["error_code"] == "payload_too_large"
    assert "2,000,000" in response.json()["message"]
    truncated = upload(client, "cut", gzip.compress(b">cut\nACGTACGTAC\n" * 50)[:-12])
    assert truncated.status_code == 422 and truncated.json()["error_code"] == "invalid_fasta"
    names = {d["name"] for d in client.get("/api/databases").json()["items"]}
    assert not names & {"bomb", "cut"}


def test_upload_molecule_field(client: TestClient, demo_proteins) -> None:
    peptides = fasta([("pep1", "GATTACA"), ("pep2", "CATTAG")]).encode()
    assert upload(client, "pep-rest", peptides, molecule="prot").json()["molecule"] == "prot"
    wrong = upload(client, "wrong-rest", fasta(demo_proteins[:1]).encode(), molecule="nucl")
    assert wrong.status_code == 422
    assert wrong.json()["error_code"] == "database_molecule_mismatch"
    assert wrong.json()["field"] == "file"
    bad = upload(client, "bad-rest", peptides, molecule="dna")
    assert bad.status_code == 422 and bad.json()["field"] == "molecule"


def test_non_ascii_header_gets_one_clean_message(client: TestClient, demo_16s) -> None:
    records = [(f"séq{i} Escherichia colì gène", s) for i, (_, s) in enumerate(demo_16s[:12])]
    response = upload(client, "accents", fasta(records).encode())
    assert response.status_code == 422, response.text
    message = response.json()["message"]
    assert message.count("non-ASCII") == 1 and "11 more header(s)" in message
    assert "makeblastdb" not in message and "Error:" not in message


def test_refused_build_names_no_server_path(client: TestClient, demo_16s) -> None:
    # makeblastdb -parse_seqids refuses a local id over 50 characters.
    long_id = [("Z" * 60 + " too long", demo_16s[0][1])]
    response = upload(client, "long-id", fasta(long_id).encode())
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error_code"] == "database_build_failed"
    assert "local id is too long" in body["message"]
    data_dir = str(client.app.state.runtime.settings.resolved_data_dir)
    assert data_dir not in body["message"] and "/tmp" not in body["message"]
    assert body["message"].count("local id is too long") == 1
    leftovers = [p.name for p in client.app.state.runtime.settings.databases_dir.iterdir()]
    assert not [n for n in leftovers if "long-id" in n]


# -- moved files ----------------------------------------------------------------------------------


def test_moved_database_is_unavailable_and_its_jobs_say_so(
    client: TestClient, demo_16s, tmp_path: Path
) -> None:
    added = upload(client, "movable", fasta(demo_16s[:5]).encode())
    assert added.status_code == 201, added.text
    prefix = Path(added.json()["path"])
    query = {"program": "blastn", "database": "movable", "query": fasta(demo_16s[:1])}
    first = client.post("/api/jobs", json=query).json()["id"]
    assert wait_for_job(api_job(client), first)["phase"] == "completed"  # a warm copy exists
    moved = tmp_path / "moved-away"
    shutil.move(prefix.parent, moved)  # used to fail as internal_error: FileNotFoundError
    try:
        job_id = client.post("/api/jobs", json=query).json()["id"]
        job = wait_for_job(api_job(client), job_id)
        assert job["phase"] == "failed" and job["error_code"] == "database_files_missing", job
        assert "movable" in job["error"] and "FileNotFoundError" not in job["error"]
        assert [s["key"] for s in job["steps"] if s["status"] == "failed"] == ["preparing"]
        listed = {d["name"]: d for d in client.get("/api/databases").json()["items"]}
        assert listed["movable"]["available"] is False
        assert "gone" in listed["movable"]["unavailable_reason"]
        assert listed["demo-16s"]["available"] is True
    finally:
        shutil.move(moved, prefix.parent)
    listed = {d["name"]: d for d in client.get("/api/databases").json()["items"]}
    assert listed["movable"]["available"] is True
    # Index file gone, the rest still there: unavailable too.
    index = prefix.with_suffix(".nin")
    index.rename(tmp_path / "nin")
    try:
        job = wait_for_job(api_job(client), client.post("/api/jobs", json=query).json()["id"])
        assert job["error_code"] == "database_files_missing" and ".nin" in job["error"]
    finally:
        (tmp_path / "nin").rename(index)


def test_cli_lists_a_moved_database_as_unavailable(
    data_dir: Path, tmp_path: Path, demo_16s
) -> None:
    source = tmp_path / "m.fa"
    source.write_text(fasta(demo_16s[:3]))
    assert cli(data_dir, "db", "add", "cli-moved", str(source)).returncode == 0
    folder = data_dir / "databases" / "cli-moved"
    folder.rename(tmp_path / "elsewhere")
    listed = cli(data_dir, "db", "list")
    assert listed.returncode == 0, listed.stderr
    line = next(line for line in listed.stdout.splitlines() if "cli-moved" in line)
    assert "missing" in line
    said = " ".join(listed.stdout.split())  # the console wraps long paths at any width
    assert "unavailable cli-moved: its directory" in said and "is gone" in said
