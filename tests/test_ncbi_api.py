"""NCBI's BLAST URL API (/blast/Blast.cgi) against a real `blastdeck serve`, driven by
Biopython's own client (`NCBIWWW.qblast(url_base=...)`) and by plain HTTP, as curl would."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from Bio.Blast import NCBIWWW, NCBIXML

from tests.conftest import Server, fasta, wait_for_job


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("ncbi") / "data", None)
    srv.start()
    yield srv
    srv.kill()


def cgi(server: Server, **params: str) -> httpx.Response:
    return httpx.post(f"{server.url}/blast/Blast.cgi", data=params, timeout=60)


def qblast(server: Server, program: str, database: str, query: str):  # type: ignore[no-untyped-def]
    # Biopython spaces its calls 20 s apart out of courtesy to NCBI; this is our own server.
    NCBIWWW.qblast.previous = 0
    handle = NCBIWWW.qblast(program, database, query, url_base=f"{server.url}/blast/Blast.cgi")
    return list(NCBIXML.parse(handle))


def newest_job(server: Server) -> dict:
    return httpx.get(f"{server.url}/api/jobs", params={"limit": 1}).json()["items"][0]


def api_hsps(server: Server, job_id: str) -> set[tuple]:
    hits = httpx.get(f"{server.url}/api/jobs/{job_id}/hsps", params={"limit": 1000}).json()
    return {
        (
            h["query_id"],
            h["subject_id"],
            h["qstart"],
            h["qend"],
            h["sstart"],
            h["send"],
            h["length"],
        )
        for h in hits["items"]
    }


def xml_hsps(records) -> set[tuple]:  # type: ignore[no-untyped-def]
    return {
        (
            r.query.split()[0],
            a.accession,
            h.query_start,
            h.query_end,
            h.sbjct_start,
            h.sbjct_end,
            h.align_length,
        )
        for r in records
        for a in r.alignments
        for h in a.hsps
    }


def test_biopython_blastn_finds_what_blastdeck_shows(server: Server, demo_16s) -> None:
    records = qblast(server, "blastn", "demo-16s", fasta(demo_16s[:2]))
    assert len(records) == 2 and all(r.alignments for r in records)
    job = newest_job(server)
    assert job["phase"] == "completed" and job["options"]["max_target_seqs"] == 50
    assert xml_hsps(records) == api_hsps(server, job["id"])
    assert records[0].alignments[0].accession == demo_16s[0][0].split()[0]


def test_biopython_blastp(server: Server, demo_proteins) -> None:
    records = qblast(server, "blastp", "demo-proteins", fasta(demo_proteins[2:3]))
    assert records[0].alignments[0].hit_def.startswith("Green fluorescent protein")
    job = newest_job(server)
    assert job["program"] == "blastp"
    assert xml_hsps(records) == api_hsps(server, job["id"])


def test_biopython_with_an_accession_as_its_tutorial_does(server: Server, demo_16s) -> None:
    """`qblast("blastn", "nt", "8332116")` is the first example of Biopython's tutorial: the
    query is an id, read here from the server's own databases."""
    accession = demo_16s[6][0].split()[0]
    records = qblast(server, "blastn", "demo-16s", accession)
    assert len(records) == 1 and records[0].query.startswith(accession)
    assert records[0].alignments[0].accession == accession
    assert records[0].alignments[0].hsps[0].identities == len(demo_16s[6][1])
    job = newest_job(server)
    assert xml_hsps(records) == api_hsps(server, job["id"])


def put(server: Server, **params: str) -> tuple[str, int]:
    page = cgi(server, CMD="Put", **params)
    assert page.status_code == 200, page.text
    rid = re.search(r"RID = (\S+)", page.text)
    rtoe = re.search(r"RTOE = (\d+)", page.text)
    assert rid and rtoe, page.text
    return rid.group(1), int(rtoe.group(1))


def search_info(server: Server, rid: str) -> str:
    page = cgi(server, CMD="Get", FORMAT_OBJECT="SearchInfo", RID=rid).text
    return page


def test_curl_put_poll_and_get_every_format(server: Server, demo_16s) -> None:
    rid, rtoe = put(
        server,
        PROGRAM="blastn",
        DATABASE="demo-16s",
        QUERY=fasta(demo_16s[3:6]),
        EXPECT="1e-20",
        HITLIST_SIZE="20",
        FILTER="L",
        MEGABLAST="on",
    )
    assert rtoe >= 1
    wait_for_job(lambda i: httpx.get(f"{server.url}/api/jobs/{i}").json(), rid)
    info = search_info(server, rid)
    assert "Status=READY" in info and "ThereAreHits=yes" in info
    job = httpx.get(f"{server.url}/api/jobs/{rid}").json()
    assert (
        job["options"]
        == {"evalue": "1e-20", "max_target_seqs": "20", "dust": "yes", "task": "megablast"}
        or job["options"]["dust"] == "yes"
    )

    def get(**extra: str) -> httpx.Response:
        response = cgi(server, CMD="Get", RID=rid, **extra)
        assert response.status_code == 200, response.text
        return response

    xml = get(FORMAT_TYPE="XML").content
    assert len(ET.fromstring(xml).findall(".//Iteration")) == 3
    rest_xml = httpx.get(f"{server.url}/api/jobs/{rid}/download", params={"format": "xml"})
    assert xml == rest_xml.content  # the same bytes as the REST download
    xml2 = ET.fromstring(get(FORMAT_TYPE="XML2_S").content)
    assert len(xml2.findall("{http://www.ncbi.nlm.nih.gov}BlastOutput2")) == 3
    assert len(json.loads(get(FORMAT_TYPE="JSON2_S").content)["BlastOutput2"]) == 3
    # XML2 and JSON2 are zips of one file per query (test_ncbi_formats.py)
    assert len(zipfile.ZipFile(io.BytesIO(get(FORMAT_TYPE="XML2").content)).namelist()) == 4
    assert get(FORMAT_TYPE="Text").text.count("Query= ") == 3
    assert get(FORMAT_TYPE="HTML").text.count("<b>Query=</b>") == 3
    tabular = get(FORMAT_TYPE="Text", ALIGNMENT_VIEW="Tabular").text
    assert tabular.count("# Query: ") == 3 and "# Fields: " in tabular
    csv_rows = get(FORMAT_TYPE="CSV").text.splitlines()
    assert len(csv_rows) == job["hsps_total"] and csv_rows[0].count(",") == 11
    tsv = httpx.get(f"{server.url}/api/jobs/{rid}/download", params={"format": "tsv"}).text
    assert [r.split(",") for r in csv_rows] == [r.split("\t") for r in tsv.splitlines()[1:]]


def test_get_right_after_put_waits_for_the_report(server: Server, demo_16s) -> None:
    rid, _ = put(server, PROGRAM="blastn", DATABASE="demo-16s", QUERY=demo_16s[7][1])
    report = cgi(server, CMD="Get", RID=rid, FORMAT_TYPE="XML")  # right after Put
    assert report.status_code == 200 and b"<BlastOutput>" in report.content


def test_unknown_rid_is_unknown(server: Server) -> None:
    assert "Status=UNKNOWN" in search_info(server, "no-such-rid")
    page = cgi(server, CMD="Get", RID="00000000-0000-0000-0000-000000000000", FORMAT_TYPE="XML")
    assert page.status_code == 200 and "Status=UNKNOWN" in page.text


def test_delete_cancels_a_running_search_and_removes_a_finished_one(
    server: Server, demo_16s
) -> None:
    rid, _ = put(
        server,
        PROGRAM="blastn",
        DATABASE="demo-16s",
        QUERY=fasta(demo_16s[:24]),
        SERVICE="plain",
        WORD_SIZE="4",
    )
    wait_for_job(
        lambda i: httpx.get(f"{server.url}/api/jobs/{i}").json(),
        rid,
        until=lambda j: j["phase"] == "running",
    )
    assert "Status=UNKNOWN" in cgi(server, CMD="Delete", RID=rid).text
    job = wait_for_job(lambda i: httpx.get(f"{server.url}/api/jobs/{i}").json(), rid)
    assert job["phase"] == "cancelled"
    assert "Status=UNKNOWN" in search_info(server, rid)
    cgi(server, CMD="Delete", RID=rid)  # now finished: deleted for good
    assert httpx.get(f"{server.url}/api/jobs/{rid}").status_code == 404


def assert_error_page(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert 'class="error msInf"' in response.text and f"[{code}]" in response.text
    with pytest.raises(ValueError, match="Error message from NCBI"):
        # What Biopython's client makes of the page: its own error, with our message.
        NCBIWWW._parse_qblast_ref_page(io.BytesIO(response.content))
    return response.text


@pytest.mark.parametrize(
    "params, code",
    [
        (
            {"PROGRAM": "blastz", "DATABASE": "demo-16s", "QUERY": "ACGTACGTACGTAGCT"},
            "unknown_program",
        ),
        (
            {"PROGRAM": "blastn", "DATABASE": "nope", "QUERY": "ACGTACGTACGTAGCT"},
            "unknown_database",
        ),
        ({"PROGRAM": "blastn", "DATABASE": "demo-16s"}, "empty_query"),
        ({"PROGRAM": "blastn", "DATABASE": "demo-16s", "QUERY": "8332116"}, "query_id_not_found"),
        (
            {"PROGRAM": "blastp", "DATABASE": "demo-16s", "QUERY": "MKVLAAGIV"},
            "database_molecule_mismatch",
        ),
        (
            {
                "PROGRAM": "blastn",
                "DATABASE": "demo-16s",
                "QUERY": "ACGTAGCTAGCTAGCTAG",
                "ENTREZ_QUERY": "human[title]",  # organisms only (test_taxonomy_ncbi.py)
            },
            "unsupported_entrez_query",
        ),
        (
            {
                "PROGRAM": "blastn",
                "DATABASE": "demo-16s",
                "QUERY": "ACGTAGCTAGCTAGCTAG",
                "SERVICE": "psi",
            },
            "unsupported_parameter",
        ),
        (
            {
                "PROGRAM": "blastn",
                "DATABASE": "demo-16s",
                "QUERY": "ACGTAGCTAGCTAGCTAG",
                "EXPECT": "lots",
            },
            "invalid_option_value",
        ),
        (
            {
                "PROGRAM": "blastn",
                "DATABASE": "demo-16s",
                "QUERY": "ACGTAGCTAGCTAGCTAG",
                "GAPCOSTS": "5",
            },
            "invalid_option_value",
        ),
    ],
    ids=[
        "program",
        "database",
        "missing-query",
        "unknown-accession",
        "wrong-molecule",
        "entrez",
        "service",
        "expect",
        "gapcosts",
    ],
)
def test_put_errors_use_the_page_clients_recognise(server: Server, params: dict, code: str) -> None:
    jobs_before = httpx.get(f"{server.url}/api/jobs").json()["total"]
    assert_error_page(cgi(server, CMD="Put", **params), 200, code)
    assert httpx.get(f"{server.url}/api/jobs").json()["total"] == jobs_before


def test_unknown_cmd_and_unsupported_format(server: Server, demo_16s) -> None:
    assert_error_page(cgi(server, CMD="Frobnicate"), 422, "unknown_command")
    rid, _ = put(server, PROGRAM="blastn", DATABASE="demo-16s", QUERY=demo_16s[8][1])
    text = assert_error_page(
        cgi(server, CMD="Get", RID=rid, FORMAT_TYPE="PDF"), 422, "unknown_format"
    )
    assert "HTML, Text, Tabular (or Text with ALIGNMENT_VIEW=Tabular), XML, XML2" in text


def test_get_works_as_a_plain_url_too(server: Server, demo_16s) -> None:
    rid, _ = put(server, PROGRAM="blastn", DATABASE="demo-16s", QUERY=demo_16s[9][1])
    wait_for_job(lambda i: httpx.get(f"{server.url}/api/jobs/{i}").json(), rid)
    page = httpx.get(
        f"{server.url}/blast/Blast.cgi",
        params={"CMD": "Get", "RID": rid, "FORMAT_OBJECT": "SearchInfo"},
    )
    assert "Status=READY" in page.text


def test_docs_example_matches(server: Server) -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "ncbi-url-api.md").read_text()
    assert "url_base=" in doc and "CMD=Put" in doc and "FORMAT_OBJECT=SearchInfo" in doc
