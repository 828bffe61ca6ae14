"""FASTA of a job's hit subjects (issue 15, "Hit sequences"): whole or each HSP's region, on a
real database built with -parse_seqids and on the same FASTA built without it; compared byte
for byte with what `blastdbcmd -entry ID -range S-E -strand X` prints; and the bad inputs."""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from tests.conftest import (
    BLASTDECK,
    DEMO_DIR,
    api_job,
    fasta,
    make_settings,
    read_fasta,
    wait_for_job,
)

COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


def _revcomp(sequence: str) -> str:
    return sequence.translate(COMPLEMENT)[::-1]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("data"), demo_databases=False)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
def jobs(client: TestClient, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """The same search on the demo 16S genes built with and without -parse_seqids; queries on
    both strands (a reverse-complemented gene gives minus-strand HSPs) and one without hits."""
    work = tmp_path_factory.mktemp("dbs")
    records = read_fasta(DEMO_DIR / "demo-16s.fa")[:40]
    (work / "demo.fa").write_text(
        "".join(f">d{i:04d} {header}\n{seq}\n" for i, (header, seq) in enumerate(records))
    )
    queries = [(f"q{i}", seq[100:700]) for i, (_, seq) in enumerate(records[:30:6])]
    queries.append(("rc", _revcomp(records[3][1][50:600])))
    queries.append(("noise", "ACGT" * 60))
    found = {}
    for kind, flags in (("ids", ["-parse_seqids"]), ("ordinals", [])):
        subprocess.run(
            ["makeblastdb", "-in", work / "demo.fa", "-dbtype", "nucl", *flags,
             "-out", work / kind],
            check=True, capture_output=True,
        )  # fmt: skip
        added = client.post("/api/databases", json={"name": kind, "path": str(work / kind)})
        assert added.status_code in (200, 201), added.text
        body = {
            "program": "blastn",
            "database": kind,
            "query": fasta(queries),
            "options": {"evalue": 1e-5, "max_target_seqs": 12},
        }
        response = client.post("/api/jobs", json=body)
        assert response.status_code == 202, response.text
        done = wait_for_job(api_job(client), response.json()["id"])
        assert done["phase"] == "completed", done
        found[kind] = done | {"db": work / kind}
    return found


def _fasta(client: TestClient, job: dict, **params) -> bytes:
    response = client.get(f"/api/jobs/{job['id']}/download", params={"format": "fasta", **params})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/x-fasta")
    assert "attachment" in response.headers["content-disposition"]
    return response.content


@functools.cache
def _blastdbcmd(db: Path, entry: str, *extra: str) -> bytes:
    """One entry as blastdbcmd prints it, run on its own (no batch file; cached: the tests ask
    for the same entries again)."""
    return subprocess.run(
        ["blastdbcmd", "-db", db, "-entry", entry, *extra], check=True, capture_output=True
    ).stdout


def _hsps(client: TestClient, job: dict, **params) -> list[dict]:
    response = client.get(
        f"/api/jobs/{job['id']}/hsps", params={"sort": "query", "limit": 1000, **params}
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _expected_hsp_regions(db: Path, hsps: list[dict]) -> bytes:
    out, seen = [], set()
    for h in hsps:
        start, end = sorted((h["sstart"], h["send"]))
        strand = "minus" if h["sstart"] > h["send"] else "plus"
        key = (h["subject_id"], start, end, strand)
        if key not in seen:
            seen.add(key)
            out.append(
                _blastdbcmd(db, h["subject_id"], "-range", f"{start}-{end}", "-strand", strand)
            )
    return b"".join(out)


def _expected_full(db: Path, hsps: list[dict]) -> bytes:
    subjects = list(dict.fromkeys(h["subject_id"] for h in hsps))
    return b"".join(_blastdbcmd(db, s) for s in subjects)


def test_whole_subjects_equal_blastdbcmd(client: TestClient, jobs: dict) -> None:
    job = jobs["ids"]
    hsps = _hsps(client, job)
    expected = _expected_full(job["db"], hsps)
    assert _fasta(client, job) == expected == _fasta(client, job, region="full")
    assert expected.count(b">") == len({h["subject_id"] for h in hsps}) > 10


def test_hsp_regions_equal_blastdbcmd_on_both_strands(client: TestClient, jobs: dict) -> None:
    job = jobs["ids"]
    hsps = _hsps(client, job)
    assert any(h["sstart"] > h["send"] for h in hsps), "the rc query gives minus-strand HSPs"
    assert any(h["sstart"] < h["send"] for h in hsps)
    ours = _fasta(client, job, region="hsp")
    assert ours == _expected_hsp_regions(job["db"], hsps)
    assert b":c" in ours  # blastdbcmd's minus-strand header


def test_database_without_parse_seqids(client: TestClient, jobs: dict) -> None:
    """blastdbcmd cannot look an id up there; the records are those it prints for the
    -parse_seqids build of the same FASTA, byte for byte."""
    with_ids, ordinals = jobs["ids"], jobs["ordinals"]
    refused = subprocess.run(
        ["blastdbcmd", "-db", ordinals["db"], "-entry", "d0003"], capture_output=True, text=True
    )
    assert refused.returncode != 0 and "no accession info" in refused.stderr
    hsps = _hsps(client, ordinals)
    assert [h["subject_id"] for h in hsps] == [h["subject_id"] for h in _hsps(client, with_ids)]
    assert _fasta(client, ordinals) == _expected_full(with_ids["db"], hsps)
    assert _fasta(client, ordinals, region="hsp") == _expected_hsp_regions(with_ids["db"], hsps)
    some = ",".join(list(dict.fromkeys(h["subject_id"] for h in hsps))[2:5])
    for region in ("full", "hsp"):
        assert _fasta(client, ordinals, subjects=some, region=region) == _fasta(
            client, with_ids, subjects=some, region=region
        )


def test_chosen_subjects_and_one_query(client: TestClient, jobs: dict) -> None:
    job = jobs["ids"]
    hsps = _hsps(client, job)
    subjects = list(dict.fromkeys(h["subject_id"] for h in hsps))
    chosen = [subjects[5], subjects[1], subjects[1]]  # a repeat is kept once
    ours = _fasta(client, job, subjects=",".join(chosen), region="hsp")
    wanted = [h for h in hsps if h["subject_id"] in chosen]
    assert ours == _expected_hsp_regions(job["db"], wanted)
    assert _fasta(client, job, subjects=f" {subjects[0]} ") == _blastdbcmd(job["db"], subjects[0])
    rc = next(q for q in client.get(f"/api/jobs/{job['id']}/queries").json()["items"]
              if q["query_id"] == "rc")  # fmt: skip
    of_query = [h for h in hsps if h["query_index"] == rc["query_index"]]
    assert of_query
    ours = _fasta(client, job, query_index=rc["query_index"], region="hsp")
    assert ours == _expected_hsp_regions(job["db"], of_query)
    noise = next(q for q in client.get(f"/api/jobs/{job['id']}/queries").json()["items"]
                 if q["query_id"] == "noise")  # fmt: skip
    assert _fasta(client, job, query_index=noise["query_index"]) == b""


def test_bad_input(client: TestClient, jobs: dict) -> None:
    job = jobs["ids"]
    url = f"/api/jobs/{job['id']}/download"
    first = _hsps(client, job)[0]["subject_id"]
    response = client.get(url, params={"format": "fasta", "subjects": f"{first},d9999,nope"})
    assert response.status_code == 422
    body = response.json()
    assert body["error_code"] == "subjects_not_in_job"
    assert "d9999" in body["message"] and "nope" in body["message"] and first not in body["message"]
    # a subject of the job, but not of this query
    noise = next(q for q in client.get(f"/api/jobs/{job['id']}/queries").json()["items"]
                 if q["query_id"] == "noise")  # fmt: skip
    response = client.get(
        url, params={"format": "fasta", "subjects": first, "query_index": noise["query_index"]}
    )
    assert response.status_code == 422 and response.json()["error_code"] == "subjects_not_in_job"
    for malformed in ("", ",", f"{first},,d0001", "d0001 d0002", "a\tb"):
        response = client.get(url, params={"format": "fasta", "subjects": malformed})
        assert response.status_code == 422, malformed
        assert response.json()["error_code"] == "invalid_request"
        assert response.json()["field"] == "subjects"
    # a query the job does not have: not found, as for its taxonomy report (was an empty file)
    queries = client.get(f"/api/jobs/{job['id']}/queries").json()["items"]
    response = client.get(url, params={"format": "fasta", "query_index": len(queries)})
    assert response.status_code == 404, response.text
    assert (response.json()["error_code"], response.json()["field"]) == ("not_found", "query_index")
    response = client.get(url, params={"format": "fasta", "region": "exon"})
    assert response.status_code == 422
    assert (response.json()["error_code"], response.json()["field"]) == (
        "invalid_request",
        "region",
    )
    response = client.get(url, params={"format": "tsv", "subjects": first})
    assert response.status_code == 422 and response.json()["error_code"] == "invalid_request"
    response = client.get(url, params={"format": "fasta", "subjects": "x" * 60_001})
    assert response.status_code == 422
    unknown = client.get(
        "/api/jobs/00000000-0000-0000-0000-000000000000/download", params={"format": "fasta"}
    )
    assert unknown.status_code == 404


def cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BLASTDECK, *args, "--data-dir", str(data_dir)], capture_output=True, timeout=180
    )


def test_cli_fasta(tmp_path: Path) -> None:
    """`blastdeck results ID --format fasta` on the local data dir (the demo 16S database),
    whole and by HSP, equal to blastdbcmd's; a subject outside the job is rc 2."""
    data_dir = tmp_path / "data"
    query = tmp_path / "q.fa"
    records = read_fasta(DEMO_DIR / "demo-16s.fa")
    query.write_text(fasta([("a", records[0][1]), ("b", _revcomp(records[7][1][:500]))]))
    run = cli("submit", str(query), "--db", "demo-16s", "-o", "evalue=1e-30", "-o",
              "max_target_seqs=5", "--wait", data_dir=data_dir)  # fmt: skip
    assert run.returncode == 0, run.stderr.decode()
    job_id = run.stdout.decode().split("blastdeck results ")[1].split()[0]
    table = cli("results", job_id, "--format", "tsv", "--columns", "saccver,sstart,send",
                data_dir=data_dir).stdout.decode()  # fmt: skip
    rows = [line.split("\t") for line in table.splitlines()[1:]]
    assert any(int(s) > int(e) for _, s, e in rows)
    prefix = next((data_dir / "databases").rglob("demo-16s.nin")).with_suffix("")
    hsps = [{"subject_id": i, "sstart": int(s), "send": int(e)} for i, s, e in rows]
    by_hsp = cli("results", job_id, "--format", "fasta", "--region", "hsp", data_dir=data_dir)
    assert by_hsp.returncode == 0, by_hsp.stderr.decode()
    assert by_hsp.stdout == _expected_hsp_regions(prefix, hsps)
    one = rows[0][0]
    out = tmp_path / "one.fa"
    whole = cli("results", job_id, "--format", "fasta", "--subjects", one, "-O", str(out),
                data_dir=data_dir)  # fmt: skip
    assert whole.returncode == 0, whole.stderr.decode()
    assert out.read_bytes() == _blastdbcmd(prefix, one)
    bad = cli("results", job_id, "--format", "fasta", "--subjects", f"{one},zz9", data_dir=data_dir)
    assert bad.returncode == 2 and b"subjects_not_in_job" in bad.stderr + bad.stdout
    assert b"zz9" in bad.stderr + bad.stdout
    for index, said in (
        ("2", b"not_found"),
        ("-1", b"Invalid value"),
        ("9" * 23, b"Invalid value"),
    ):
        past = cli(
            "results", job_id, "--format", "fasta", "--query-index", index, data_dir=data_dir
        )
        assert past.returncode == 2 and said in past.stderr, (index, past.stderr)  # was rc 0, empty


def test_protein_database(client: TestClient, tmp_path: Path) -> None:
    """blastp on a protein database: HSP regions have no strand (blastdbcmd -range only)."""
    records = read_fasta(DEMO_DIR / "demo-proteins.fa")
    subprocess.run(
        ["makeblastdb", "-in", DEMO_DIR / "demo-proteins.fa", "-dbtype", "prot",
         "-parse_seqids", "-out", tmp_path / "prot"],
        check=True, capture_output=True,
    )  # fmt: skip
    added = client.post("/api/databases", json={"name": "prot", "path": str(tmp_path / "prot")})
    assert added.status_code in (200, 201), added.text
    body = {"program": "blastp", "database": "prot", "query": fasta([("p0", records[0][1][5:80])])}
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 202, response.text
    job = wait_for_job(api_job(client), response.json()["id"])
    assert job["phase"] == "completed", job
    hsps = _hsps(client, job)
    assert hsps and all(h["sstart"] <= h["send"] for h in hsps)
    expected = b"".join(
        _blastdbcmd(tmp_path / "prot", h["subject_id"], "-range", f"{h['sstart']}-{h['send']}")
        for h in {(h["subject_id"], h["sstart"], h["send"]): h for h in hsps}.values()
    )
    assert _fasta(client, job, region="hsp") == expected
    assert _fasta(client, job) == _expected_full(tmp_path / "prot", hsps)
