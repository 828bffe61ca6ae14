"""EBI's Job Dispatcher REST API (/ebi/ncbiblast) against a real `blastdeck serve`, driven by
EBI's own published client script, unchanged (`../shared/clients/ebi/ncbiblast.py`), and by
plain HTTP for the bad inputs.

The script fetches EBI's parameter list from www.ebi.ac.uk before it reads `--baseUrl`; this
machine cannot reach EBI, so that one request goes through `tests/support/ebi_host.py` (an
HTTPS proxy with a test CA that answers for EBI's host with this server). Every other request
goes to `--baseUrl`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from xmltramp2 import xmltramp

from blastdeck.api.server import install_log_redaction
from tests.conftest import Server, api_job, fasta, wait_for_job
from tests.support.ebi_host import EbiHost

CLIENT = Path(__file__).resolve().parents[2] / "shared" / "clients" / "ebi" / "ncbiblast.py"
if not CLIENT.exists():  # a checkout beside ../shared (the worktrees live in /work)
    CLIENT = Path("/work/shared/clients/ebi/ncbiblast.py")
EMAIL = "someone@example.org"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("ebi") / "data", None)
    srv.start()
    yield srv
    srv.kill()


@pytest.fixture(scope="module")
def ebi_host(tmp_path_factory: pytest.TempPathFactory, server: Server) -> Iterator[EbiHost]:
    with EbiHost(tmp_path_factory.mktemp("ebi-host"), server.port, "/ebi/ncbiblast") as host:
        yield host


def run_client(host: EbiHost, base_url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """EBI's script as its users run it (its own argv; only the base URL is ours)."""
    result = subprocess.run(
        [sys.executable, str(CLIENT), "--baseUrl", base_url, *args],
        env=dict(os.environ, **host.env()),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def rest(server: Server, path: str, token: str | None = None, **params: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(f"{server.url}{path}", params=params, headers=headers, timeout=120)
    assert response.status_code == 200, response.text
    return response


def blast_accessions(server: Server, job_id: str, token: str | None = None) -> set[str]:
    """The subjects' accessions as BLAST itself reports them (its JSON download)."""
    report = rest(server, f"/api/jobs/{job_id}/download", token, format="json").json()
    return {
        hit["description"][0]["accession"]
        for item in report["BlastOutput2"]
        for hit in item["report"]["results"]["search"]["hits"]
    }


def all_hits(server: Server, job_id: str, token: str | None = None) -> list[dict]:
    hits: list[dict] = []
    while True:
        page = rest(server, f"/api/jobs/{job_id}/hits", token, limit=1000, offset=len(hits)).json()
        hits += page["items"]
        if len(hits) >= page["total"]:
            return hits


def assert_results_match_downloads(
    server: Server, job_id: str, prefix: Path, token: str | None = None
) -> None:
    """Each file the client wrote equals BlastDeck's own download of it."""

    def download(fmt: str) -> str:
        return rest(server, f"/api/jobs/{job_id}/download", token, format=fmt).text

    def written(kind: str, suffix: str) -> str:
        return Path(f"{prefix}.{kind}.{suffix}").read_text()

    assert written("out", "txt") == download("text")
    assert_ebi_xml_matches_hsps(server, job_id, Path(f"{prefix}.xml.xml"), token)
    assert_ebi_json_matches_hsps(server, job_id, Path(f"{prefix}.json.json"), token)
    assert written("tsv", "tsv") == download("tsv")
    assert written("sequence", "txt") == rest(server, f"/api/jobs/{job_id}/query", token).text
    job = rest(server, f"/api/jobs/{job_id}", token).json()
    subjects = list(dict.fromkeys(h["subject_id"] for h in all_hits(server, job_id, token)))
    ids = written("ids", "txt").splitlines()
    assert sorted(ids) == sorted(f"{job['database']}:{s}" for s in subjects)
    accs = written("accs", "txt").splitlines()
    assert sorted(accs) == sorted(blast_accessions(server, job_id, token))
    assert len(ids) == len(subjects)


def all_hsps(server: Server, job_id: str, token: str | None = None) -> list[dict]:
    hsps: list[dict] = []
    while True:
        page = rest(server, f"/api/jobs/{job_id}/hsps", token, limit=1000, offset=len(hsps)).json()
        hsps += page["items"]
        if len(hsps) >= page["total"]:
            return hsps


NS = {"ebi": "http://www.ebi.ac.uk/schema"}


def ebi_xml_hsps(content: bytes) -> dict[tuple, float]:
    """EBI's XML read as a parser of it would: (query index, ac, coordinates, length) ->
    identity, one SequenceSimilaritySearchResult per query."""
    root = ET.fromstring(content)
    assert root.tag == "{http://www.ebi.ac.uk/schema}EBIApplicationResult"
    found = {}
    results = root.findall("ebi:SequenceSimilaritySearchResult", NS)
    for index, result in enumerate(results):
        for hit in result.findall("ebi:hits/ebi:hit", NS):
            for a in hit.findall("ebi:alignments/ebi:alignment", NS):
                query, match = a.find("ebi:querySeq", NS), a.find("ebi:matchSeq", NS)
                length = len(query.text)  # type: ignore[union-attr, arg-type]
                key = (index, hit.get("ac"), int(query.get("start")), int(query.get("end")),  # type: ignore[union-attr, arg-type]
                       int(match.get("start")), int(match.get("end")), length)  # type: ignore[union-attr, arg-type]  # fmt: skip
                found[key] = float(a.findtext("ebi:identity", namespaces=NS))  # type: ignore[arg-type]
    sequences = root.findall("ebi:Header/ebi:parameters/ebi:sequences/ebi:sequence", NS)
    assert len(sequences) == len(results)
    return found


def hsps_by_key(server: Server, job_id: str, token: str | None = None) -> dict[tuple, float]:
    return {
        (h["query_index"], h["subject_id"], h["qstart"], h["qend"], h["sstart"], h["send"],
         h["length"]): h["pident"]
        for h in all_hsps(server, job_id, token)
    }  # fmt: skip


def assert_ebi_xml_matches_hsps(
    server: Server, job_id: str, path: Path, token: str | None = None
) -> None:
    ebi, ours = ebi_xml_hsps(path.read_bytes()), hsps_by_key(server, job_id, token)
    assert ebi.keys() == ours.keys() and ours
    assert all(abs(ebi[k] - ours[k]) <= 0.051 for k in ours)


def assert_ebi_json_matches_hsps(
    server: Server, job_id: str, path: Path, token: str | None = None
) -> None:
    """EBI's JSON holds every HSP BlastDeck shows, one document per query (one: not a list)."""
    value = json.loads(path.read_text())
    documents = value if isinstance(value, list) else [value]
    job = rest(server, f"/api/jobs/{job_id}", token).json()
    assert len(documents) == job["query_count"]
    assert (job["query_count"] == 1) == isinstance(value, dict)
    ebi = {
        (index, hit["hit_acc"], h["hsp_query_from"], h["hsp_query_to"], h["hsp_hit_from"],
         h["hsp_hit_to"], h["hsp_align_len"]): h["hsp_identity"]
        for index, document in enumerate(documents)
        for hit in document["hits"]
        for h in hit["hit_hsps"]
    }  # fmt: skip
    ours = hsps_by_key(server, job_id, token)
    assert ebi.keys() == ours.keys() and ours
    # Identity: EBI's percentage to one decimal, BLAST's tabular to three.
    assert all(abs(ebi[k] - ours[k]) <= 0.051 for k in ours)
    first = documents[0]
    assert first["program"] == job["program"] and first["dbs"][0]["name"] == job["database"]
    assert (
        first["query_len"] > 0
        and first["db_num"] > 0
        and first["command"].startswith(f"{job['program']} -db {job['database']}")
    )


def test_ebi_client_blastn_submits_polls_and_fetches_every_result_type(
    server: Server, ebi_host: EbiHost, demo_16s, tmp_path: Path
) -> None:
    query = tmp_path / "query.fa"
    query.write_text(fasta(demo_16s[:3]))
    # Sync mode: submit, poll status, list the result types, fetch each one into a file.
    done = run_client(
        ebi_host,
        f"{server.url}/ebi/ncbiblast",
        "--email", EMAIL, "--program", "blastn", "--stype", "nucleotide",
        "--database", "demo-16s", "--sequence", str(query), "--exp", "1e-30",
        "--outfile", "result", "--pollFreq", "1",
        cwd=tmp_path,
    )  # fmt: skip
    job_id = re.search(r"JobId: (\S+)", done.stderr)
    assert job_id, done.stderr
    job = server.job(job_id.group(1))
    assert job["phase"] == "completed" and job["query_count"] == 3
    # The client's defaults for a DNA search, on BlastDeck's options.
    assert job["options"] == {
        "task": "blastn", "evalue": 1e-30, "max_target_seqs": 50, "reward": 1, "penalty": -3,
        "dust": "yes",
    }  # fmt: skip
    assert "FINISHED" in done.stdout
    for kind in ("out", "sequence", "ids", "accs", "xml", "json", "tsv"):
        assert f"Creating result file: result.{kind}." in done.stdout
    assert_results_match_downloads(server, job["id"], tmp_path / "result")
    xml_doc = ET.parse(tmp_path / "result.xml.xml")
    assert len(xml_doc.findall("ebi:SequenceSimilaritySearchResult", NS)) == 3
    assert len(json.loads((tmp_path / "result.json.json").read_text())) == 3  # 3 queries
    assert (tmp_path / "result.out.txt").read_text().count("Query= ") == 3
    # EBI's parameter list was asked of "EBI" (the script does that first), and only that.
    assert ebi_host.requests and all(r.endswith("/parameters") for r in ebi_host.requests)


def test_ebi_client_async_blastp_status_result_types_and_one_format(
    server: Server, ebi_host: EbiHost, demo_proteins, tmp_path: Path
) -> None:
    base = f"{server.url}/ebi/ncbiblast"
    submitted = run_client(
        ebi_host, base, "--asyncjob", "--email", EMAIL, "--program", "blastp",
        "--stype", "protein", "--database", "demo-proteins", "--alignments", "5",
        "--sequence", demo_proteins[2][1], cwd=tmp_path,
    )  # fmt: skip
    job_id = submitted.stdout.split()[0]
    wait_for_job(lambda i: server.job(i), job_id)
    job = server.job(job_id)
    # blastp defaults of the client: BLOSUM62, no filter, no compositional adjustment.
    assert job["options"] == {
        "task": "blastp", "evalue": 10.0, "max_target_seqs": 50, "matrix": "BLOSUM62",
        "seg": "no", "comp_based_stats": 0,
    }  # fmt: skip
    status = run_client(ebi_host, base, "--status", "--jobid", job_id, cwd=tmp_path)
    assert "FINISHED" in status.stdout.splitlines()
    types = run_client(ebi_host, base, "--resultTypes", "--jobid", job_id, cwd=tmp_path)
    for kind in ("out", "sequence", "ids", "accs", "xml", "json", "tsv"):
        assert kind in types.stdout.split()
    run_client(
        ebi_host, base, "--polljob", "--jobid", job_id, "--outformat", "ids",
        "--outfile", "only", cwd=tmp_path,
    )  # fmt: skip
    assert sorted(p.name for p in tmp_path.glob("only.*")) == ["only.ids.txt"]
    ids = (tmp_path / "only.ids.txt").read_text().splitlines()
    assert ids[0].startswith("demo-proteins:") and len(ids) == len(set(ids))
    hits = all_hits(server, job_id)
    assert {i.split(":", 1)[1] for i in ids} == {h["subject_id"] for h in hits}
    run_client(
        ebi_host, base, "--polljob", "--jobid", job_id, "--outformat", "accs",
        "--outfile", "only", cwd=tmp_path,
    )  # fmt: skip
    accs = (tmp_path / "only.accs.txt").read_text().split()
    assert set(accs) == blast_accessions(server, job_id) and "P42212" in accs


def test_ebi_client_multifasta_one_job_per_sequence(
    server: Server, ebi_host: EbiHost, demo_16s, tmp_path: Path
) -> None:
    """--multifasta: the client submits each record as its own job (at most --maxJobs at a
    time) and names each job's files after its sequence id (--useSeqId)."""
    query = tmp_path / "three.fa"
    query.write_text(fasta(demo_16s[20:23]))
    before = httpx.get(f"{server.url}/api/jobs").json()["total"]
    run_client(
        ebi_host, f"{server.url}/ebi/ncbiblast", "--multifasta", "--maxJobs", "2", "--useSeqId",
        "--email", EMAIL, "--program", "blastn", "--stype", "nucleotide", "--database",
        "demo-16s", "--sequence", str(query), "--outformat", "tsv,ids", "--pollFreq", "1",
        cwd=tmp_path,
    )  # fmt: skip
    jobs = httpx.get(f"{server.url}/api/jobs", params={"limit": 3}).json()
    assert jobs["total"] == before + 3
    for name, _ in demo_16s[20:23]:
        seq_id = name.split()[0]
        tsv = (tmp_path / f"{seq_id}.tsv.tsv").read_text().splitlines()
        assert all(row.split("\t")[0] == seq_id for row in tsv[1:]) and len(tsv) > 1
        assert f"demo-16s:{seq_id}" in (tmp_path / f"{seq_id}.ids.txt").read_text().split()
    assert all(j["query_count"] == 1 and j["phase"] == "completed" for j in jobs["items"])


def test_ebi_client_lists_parameters_and_their_details(
    server: Server, ebi_host: EbiHost, tmp_path: Path
) -> None:
    base = f"{server.url}/ebi/ncbiblast"
    listed = run_client(ebi_host, base, "--params", cwd=tmp_path).stdout.split()
    assert listed[:3] == ["program", "task", "matrix"] and "database" in listed
    details = run_client(ebi_host, base, "--paramDetail", "database", cwd=tmp_path).stdout
    assert "demo-16s" in details and "demo-proteins" in details
    program = run_client(ebi_host, base, "--paramDetail", "program", cwd=tmp_path).stdout
    assert "blastn" in program and "tblastx" in program


def error_description(response: httpx.Response, status: int, code: str) -> str:
    """EBI's error body, read as EBI's client reads it (xmltramp2)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "error" and [c.tag for c in root] == ["description"]
    description = str(xmltramp.parse(response.text)[0][0])
    assert description.startswith(f"[{code}] "), description
    return description


GOOD = {
    "email": EMAIL,
    "program": "blastn",
    "stype": "dna",
    "database": "demo-16s",
    "sequence": "ACGTAGCTAGCTAGGATCGATCGATCGTAGCTAGCTAGCTAGCTAG",
}


@pytest.mark.parametrize(
    "change, code, says",
    [
        ({"colour": "blue"}, "unsupported_parameter", "Unknown parameter 'colour'"),
        ({"exp": "-1"}, "invalid_option_value", "Parameter exp"),
        ({"exp": "lots"}, "invalid_option_value", "Parameter exp"),
        ({"alignments": "0"}, "invalid_option_value", "alignments must be an integer >= 1"),
        ({"scores": "many"}, "invalid_option_value", "scores must be an integer"),
        ({"alignments": "99999"}, "invalid_option_value", "max_target_seqs"),
        ({"wordsize": "1"}, "invalid_option_value", "Parameter wordsize"),
        ({"gapopen": "99", "gapext": "2"}, "invalid_option_value", "gapopen"),
        ({"match_scores": "1"}, "invalid_option_value", "match_scores must be"),
        ({"gapalign": "perhaps"}, "invalid_option_value", "gapalign must be true or false"),
        ({"filter": "X"}, "invalid_option_value", "filter must be"),
        ({"dropoff": "7"}, "invalid_option_value", "dropoff only 0"),
        ({"align": "3"}, "invalid_option_value", "align only 0"),
        ({"transltable": "11"}, "invalid_option_value", "transltable applies to blastx"),
        ({"compstats": "Q"}, "invalid_option_value", "compstats must be"),
        ({"task": "blastp-fast"}, "invalid_option_value", "not a task of blastn"),
        ({"stype": "protein"}, "invalid_option_value", "stype 'protein' does not fit blastn"),
        ({"stype": "glycan"}, "invalid_option_value", "stype must be"),
        ({"seqrange": "50-10"}, "invalid_option_value", "Parameter seqrange"),
        ({"email": ""}, "invalid_request", "email is required"),
        ({"program": "blastz"}, "unknown_program", "blastz"),
        ({"program": ""}, "invalid_option_value", "program is required"),
        ({"sequence": ""}, "empty_query", ""),
        ({"sequence": "ACGT!!"}, "invalid_fasta", "not FASTA"),
        ({"database": "demo-proteins"}, "database_molecule_mismatch", ""),
    ],
)
def test_run_refuses_bad_parameters_with_ebis_error_body(
    server: Server, change: dict, code: str, says: str
) -> None:
    before = httpx.get(f"{server.url}/api/jobs").json()["total"]
    response = httpx.post(f"{server.url}/ebi/ncbiblast/run/", data={**GOOD, **change}, timeout=60)
    assert says in error_description(response, 400, code)
    assert httpx.get(f"{server.url}/api/jobs").json()["total"] == before  # nothing stored


def test_run_unknown_database_and_a_field_twice(server: Server) -> None:
    url = f"{server.url}/ebi/ncbiblast/run/"
    error_description(httpx.post(url, data={**GOOD, "database": "nope"}), 404, "unknown_database")
    twice = httpx.post(url, content="&".join(f"{k}={v}" for k, v in GOOD.items()) + "&exp=1&exp=2",
                       headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert "exp is given more than once" in error_description(twice, 400, "invalid_request")
    upload = httpx.post(url, data=GOOD, files={"sequence": ("q.fa", b">q\nACGT\n")})
    assert "must be a form field" in error_description(upload, 400, "invalid_request")
    no_boundary = httpx.post(url, content=b"x", headers={"content-type": "multipart/form-data"})
    assert "form cannot be read" in error_description(no_boundary, 400, "invalid_request")


def test_ebi_client_prints_the_error_of_a_refused_submit(
    server: Server, ebi_host: EbiHost, tmp_path: Path
) -> None:
    before = httpx.get(f"{server.url}/api/jobs").json()["total"]
    refused = run_client(
        ebi_host, f"{server.url}/ebi/ncbiblast", "--email", EMAIL, "--program", "blastn",
        "--stype", "dna", "--database", "demo-16s", "--sequence", GOOD["sequence"],
        "--exp", "-5", cwd=tmp_path,
    )  # fmt: skip
    assert "[invalid_option_value] Parameter exp" in refused.stdout
    assert httpx.get(f"{server.url}/api/jobs").json()["total"] == before


def test_unknown_job_result_type_and_path(server: Server, demo_16s) -> None:
    base = f"{server.url}/ebi/ncbiblast"
    missing = "00000000-0000-0000-0000-000000000000"
    status = httpx.get(f"{base}/status/{missing}")
    assert status.status_code == 200 and status.text == "NOT_FOUND"
    assert httpx.get(f"{base}/status/not-a-job-id").text == "NOT_FOUND"
    error_description(httpx.get(f"{base}/resulttypes/{missing}"), 404, "job_not_found")
    error_description(httpx.get(f"{base}/result/{missing}/out"), 404, "job_not_found")
    job_id = httpx.post(f"{base}/run/", data={**GOOD, "sequence": fasta(demo_16s[:1])}).text
    wait_for_job(lambda i: server.job(i), job_id)
    assert httpx.get(f"{base}/status/{job_id}").text == "FINISHED"
    says = error_description(httpx.get(f"{base}/result/{job_id}/pdf"), 400, "unknown_format")
    assert "out, sequence, ids, accs, xml, json, tsv" in says
    error_description(httpx.get(f"{base}/parameterdetails/colour"), 400, "unsupported_parameter")
    error_description(httpx.get(f"{base}/frobnicate"), 404, "not_found")


def test_a_running_job_is_running_and_has_no_results_yet(server: Server, demo_16s) -> None:
    base = f"{server.url}/ebi/ncbiblast"
    slow = {**GOOD, "sequence": fasta(demo_16s[:24]), "task": "blastn", "wordsize": "4"}
    job_id = httpx.post(f"{base}/run/", data=slow, timeout=60).text
    assert httpx.get(f"{base}/status/{job_id}").text in ("QUEUED", "RUNNING")
    error_description(httpx.get(f"{base}/resulttypes/{job_id}"), 409, "results_not_ready")
    httpx.post(f"{server.url}/api/jobs/{job_id}/cancel")
    wait_for_job(lambda i: server.job(i), job_id)
    assert httpx.get(f"{base}/status/{job_id}").text == "ERROR"  # cancelled


def test_token_in_the_path_with_auth_on_and_never_in_a_log(tmp_path: Path, demo_16s) -> None:
    from tests.test_auth import cli

    data = tmp_path / "data"
    assert cli(data, "user", "add", "dana").returncode == 0
    token = cli(data, "token", "create", "dana").stdout.decode().strip()
    assert token
    server = Server(data, None)
    server.env["BLASTDECK_AUTH"] = "on"
    server.env["BLASTDECK_SUBMIT_BURST"] = "2"  # the client's submit, then one more
    server.env["BLASTDECK_SUBMIT_RATE_PER_MINUTE"] = "1"
    server.start()
    try:
        open_base = f"{server.url}/ebi/ncbiblast"
        refused = error_description(httpx.get(f"{open_base}/parameters"), 401, "unauthorized")
        assert "/ebi/t/<token>/ncbiblast" in refused
        error_description(httpx.post(f"{open_base}/run/", data=GOOD), 401, "unauthorized")
        bearer = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{open_base}/parameters", headers=bearer).status_code == 200
        bad = f"{server.url}/ebi/t/bd_not-a-token/ncbiblast"
        error_description(httpx.get(f"{bad}/parameters"), 401, "unauthorized")
        base = f"{server.url}/ebi/t/{token}/ncbiblast"
        # An unknown path under the token base does not echo it.
        assert token not in httpx.get(f"{base}/frobnicate/{token}").text
        query = tmp_path / "query.fa"
        query.write_text(fasta(demo_16s[4:6]))
        (tmp_path / "host").mkdir()
        with EbiHost(tmp_path / "host", server.port, f"/ebi/t/{token}/ncbiblast") as host:
            done = run_client(
                host, base, "--email", EMAIL, "--program", "blastn", "--stype", "dna",
                "--database", "demo-16s", "--sequence", str(query), "--outfile", "r",
                "--pollFreq", "1", cwd=tmp_path,
            )  # fmt: skip
        job_id = re.search(r"JobId: (\S+)", done.stderr).group(1)  # type: ignore[union-attr]
        assert_results_match_downloads(server, job_id, tmp_path / "r", token)
        job = rest(server, f"/api/jobs/{job_id}", token).json()
        assert job["phase"] == "completed"
        # Another user (none) cannot see it: the open base without a token is refused, and the
        # same id through the REST API without a token is 401.
        assert httpx.get(f"{server.url}/api/jobs/{job_id}").status_code == 401
        # Submits through the EBI API count against the user's rate like any other.
        assert httpx.post(f"{base}/run/", data=GOOD).status_code == 200
        limited = httpx.post(f"{base}/run/", data=GOOD)
        assert "Too many submits" in error_description(limited, 429, "rate_limited")
        assert int(limited.headers["retry-after"]) >= 1
    finally:
        server.kill(15)
    log = server.proc.stderr.read().decode()  # type: ignore[union-attr]
    assert token not in log
    for path in data.rglob("*"):
        if path.is_file() and path.suffix in (".log", ".txt", ".json"):
            assert token not in path.read_text(errors="replace"), path


def test_the_access_log_line_never_holds_the_token(caplog: pytest.LogCaptureFixture) -> None:
    """uvicorn's access line (its format and arguments) with the redaction `serve` installs."""
    install_log_redaction()
    access = logging.getLogger("uvicorn.access")
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        access.info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5555", "GET", "/ebi/t/bd_secret123/ncbiblast/status/x", "1.1", 200,
        )  # fmt: skip
        logging.getLogger("uvicorn.error").info("bad request /ebi/t/bd_secret123/ncbiblast/run/")
    text = caplog.text
    assert "bd_secret123" not in text and "/ebi/t/***/ncbiblast/status/x" in text


def test_every_result_type_on_every_backend(client, demo_16s) -> None:  # type: ignore[no-untyped-def]
    """The same API on SQLite, PostgreSQL and distributed (Celery workers): a submitted job's
    results equal BlastDeck's own downloads."""
    base = "/ebi/ncbiblast"
    form = {**GOOD, "sequence": fasta(demo_16s[10:12]), "exp": "1e-50", "title": "ebi backends"}
    submitted = client.post(f"{base}/run/", data=form)
    assert submitted.status_code == 200, submitted.text
    job_id = submitted.text
    job = wait_for_job(api_job(client), job_id)
    assert job["phase"] == "completed" and job["title"] == "ebi backends"
    assert client.get(f"{base}/status/{job_id}").text == "FINISHED"
    types = ET.fromstring(client.get(f"{base}/resulttypes/{job_id}").content)
    listed = [t.findtext("identifier") for t in types.findall("type")]
    assert listed == ["out", "sequence", "ids", "accs", "xml", "json", "tsv"]
    for kind, fmt in (("out", "text"), ("tsv", "tsv")):
        ours = client.get(f"/api/jobs/{job_id}/download", params={"format": fmt}).content
        assert client.get(f"{base}/result/{job_id}/{kind}").content == ours
    assert (
        client.get(f"{base}/result/{job_id}/sequence").text
        == client.get(f"/api/jobs/{job_id}/query").text
    )
    documents = client.get(f"{base}/result/{job_id}/json").json()
    hits = client.get(f"/api/jobs/{job_id}/hits", params={"limit": 1000}).json()["items"]
    assert [len(d["hits"]) for d in documents] == [
        sum(h["query_index"] == i for h in hits) for i in range(2)
    ]
    xml_hits = ebi_xml_hsps(client.get(f"{base}/result/{job_id}/xml").content)
    hsps = client.get(f"/api/jobs/{job_id}/hsps", params={"limit": 1000}).json()["items"]
    assert {k[:2] for k in xml_hits} == {(h["query_index"], h["subject_id"]) for h in hsps}
    ids = client.get(f"{base}/result/{job_id}/ids").text.splitlines()
    assert sorted(ids) == sorted({f"demo-16s:{h['subject_id']}" for h in hits})


def test_uvicorns_access_log_writes_the_path_without_the_token(tmp_path: Path) -> None:
    """A real uvicorn serving the app with its access log on (as an operator may run it), with
    the redaction `blastdeck serve` installs."""
    import threading
    import time

    import uvicorn

    from blastdeck.api.app import create_app
    from tests.conftest import free_port, make_settings

    port = free_port()
    app = create_app(make_settings(tmp_path / "data"))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="info", access_log=True)
    install_log_redaction()  # as serve() does, after uvicorn's own logging set-up
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Keep()
    logging.getLogger("uvicorn.access").addHandler(handler)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}/ebi/t/bd_secret123/ncbiblast"
        assert httpx.get(f"{url}/parameters").status_code == 200  # auth off: any token
        assert httpx.get(f"{url}/status/x").text == "NOT_FOUND"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        logging.getLogger("uvicorn.access").removeHandler(handler)
    assert any("/ebi/t/***/ncbiblast/parameters" in line for line in lines), lines
    assert len(lines) >= 2 and not any("bd_secret123" in line for line in lines), lines
