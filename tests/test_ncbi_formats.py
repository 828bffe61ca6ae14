"""Every FORMAT_TYPE of NCBI's URL API, answered as NCBI answers it, read by Biopython's two
clients against a real `blastdeck serve`: `Bio.Blast.qblast` (which checks the first bytes of
each format) with `Bio.Blast.parse`, and the older `NCBIWWW.qblast` with `NCBIXML`. Whatever a
client reads must be the job's hits. The zip of XML2 / JSON2 is also checked against BLAST+'s
own multi-file output (`blast_formatter -outfmt 14 / 13`) for jobs of one and several batches.
"""

from __future__ import annotations

import ast
import html
import io
import json
import random
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from Bio import Blast
from Bio.Blast import NCBIWWW, NCBIXML
from fastapi.testclient import TestClient

from blastdeck.blast_tools import DatabaseDir, run_tool
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.results.per_query import PerQueryZip, member_names, render_per_query_zip
from tests.conftest import Server, api_job, fasta, wait_for_job
from tests.test_ncbi_api import api_hsps, assert_error_page, cgi, newest_job, put, xml_hsps
from tests.test_results import Job, nucl_job  # noqa: F401  (a fixture: the batched 16S job)

Hsps = set[tuple]
_READY_TEXT = b"<p><!--\nQBlastInfoBegin\n\tStatus=READY\nQBlastInfoEnd\n--><p>\n<PRE>\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("ncbi-formats") / "data", None)
    srv.start()
    yield srv
    srv.kill()


@pytest.fixture(scope="module")
def query(demo_16s: list[tuple[str, str]]) -> str:
    """Three 16S genes with hits and a shuffled sequence without any."""
    rng = random.Random(15)
    shuffled = "".join(rng.choice("ACGT") for _ in range(500))
    return fasta([*demo_16s[3:6], ("shuffled no hits expected", shuffled)])


def url(server: Server) -> str:
    return f"{server.url}/blast/Blast.cgi"


# -- reading each format back into (query, subject, qstart, qend, sstart, send, length) ------


def record_hsps(records: Blast.Records | list[Blast.Record]) -> Hsps:
    """From Bio.Blast's records: coordinates are 0-based, rows [subject, query]."""
    found = set()
    for record in records:
        for hit in record:
            for hsp in hit:
                (s0, s1), (q0, q1) = hsp.coordinates[:, [0, -1]]
                sstart, send = (s0 + 1, s1) if s0 < s1 else (s0, s1 + 1)
                length = hsp.length
                found.add((record.query.description.split()[0], hit.target.name,
                           int(q0) + 1, int(q1), int(sstart), int(send), length))  # fmt: skip
    return found


def json_hsps(reports: list[dict]) -> Hsps:
    return {
        (search["query_title"].split()[0], hit["description"][0]["accession"],
         hsp["query_from"], hsp["query_to"], hsp["hit_from"], hsp["hit_to"], hsp["align_len"])
        for report in reports
        for search in [report["BlastOutput2"]["report"]["results"]["search"]]
        for hit in search.get("hits", [])
        for hsp in hit["hsps"]
    }  # fmt: skip


def tabular_hsps(text: str) -> Hsps:
    """BLAST's commented hit table (outfmt 7, its 12 standard columns)."""
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    return {(r[0], r[1], int(r[6]), int(r[7]), int(r[8]), int(r[9]), int(r[3])) for r in rows}


def pairwise_hsps(text: str) -> Hsps:
    """BLAST's pairwise report as a reader takes it: `Query=` sections, `>` subjects, each
    `Score =` an HSP whose first and last `Query`/`Sbjct` lines give its coordinates."""
    found: Hsps = set()
    query = subject = ""
    hsp: dict[str, list[int]] | None = None
    length = 0

    def close() -> None:
        if hsp and hsp["Query"]:
            q, s = hsp["Query"], hsp["Sbjct"]
            found.add((query, subject, q[0], q[-1], s[0], s[-1], length))

    for line in text.splitlines():
        if line.startswith("Query= "):
            close()
            query, hsp = line.split()[1], None
        elif line.startswith(">"):
            close()
            subject, hsp = line[1:].split()[0], None
        elif line.startswith(" Score ="):
            close()
            hsp = {"Query": [], "Sbjct": []}
        elif line.startswith(" Identities =") and hsp is not None:
            length = int(re.search(r"/(\d+)", line).group(1))  # type: ignore[union-attr]
        elif hsp is not None and (m := re.match(r"(Query|Sbjct)\s+(\d+)\s+\S+\s+(\d+)$", line)):
            hsp[m.group(1)] += [int(m.group(2)), int(m.group(3))]
        elif line.startswith("Lambda") or line.startswith("  Database: "):
            close()
            hsp = None
    close()
    return found


def html_text(page: str) -> str:
    """BLAST's HTML report as text: the same layout without its markup."""
    return html.unescape(re.sub(r"<[^>]*>", "", page))


def strip_pre(body: bytes) -> str:
    assert body.startswith(_READY_TEXT) and body.endswith(b"</PRE>\n")
    return body[len(_READY_TEXT) : -len(b"</PRE>\n")].decode()


def zip_reports(body: bytes, rid: str, suffix: str, queries: int) -> list[bytes]:
    """The per-query files of NCBI's zip, in order, after checking names and index."""
    archive = zipfile.ZipFile(io.BytesIO(body))
    names = archive.namelist()
    assert names == [f"{rid}.{suffix}", *(f"{rid}_{n}.{suffix}" for n in range(1, queries + 1))]
    index = archive.read(names[0]).decode()
    assert re.findall(r'(?:href=|"File": )"([^"]+)"', index) == names[1:]
    return [archive.read(name) for name in names[1:]]


# -- Bio.Blast.qblast + Bio.Blast.parse ------------------------------------------------------


def new_qblast(server: Server, query: str, format_type: str) -> tuple[bytes, str]:
    Blast.qblast.previous = 0  # Biopython spaces its calls 20 s apart for NCBI's sake
    stream = Blast.qblast("blastn", "demo-16s", query, url_base=url(server),
                          format_type=format_type, expect=1e-20)  # fmt: skip
    body = stream.read()
    assert stream.rid == newest_job(server)["id"]
    return body, stream.rid


def test_bio_blast_xml(server: Server, query: str) -> None:
    body, rid = new_qblast(server, query, "XML")
    records = Blast.parse(io.BytesIO(body))
    assert record_hsps(records) == api_hsps(server, rid) != set()


def test_bio_blast_xml2_is_a_zip_of_one_report_per_query(server: Server, query: str) -> None:
    body, rid = new_qblast(server, query, "XML2")
    *reports, no_hits = zip_reports(body, rid, "xml", 4)
    records = [Blast.read(io.BytesIO(report)) for report in reports]
    assert [r.query.description for r in records] == re.findall(r"^>(.*)$", query, re.M)[:3]
    assert [r.query.id for r in records] == ["Query_1", "Query_2", "Query_3"]
    assert record_hsps(records) == api_hsps(server, rid) != set()
    # The shuffled query: BLAST+ says so in a <message>, which Bio.Blast 1.88's XML2 parser
    # does not know ("Failed to find method ... message"); the file is BLAST+'s as written.
    assert b"<query-id>Query_4</query-id>" in no_hits
    assert b"<message>No hits found</message>" in no_hits


def test_bio_blast_json2_is_a_zip_of_one_report_per_query(server: Server, query: str) -> None:
    body, rid = new_qblast(server, query, "JSON2")
    reports = [json.loads(r) for r in zip_reports(body, rid, "json", 4)]
    assert json_hsps(reports) == api_hsps(server, rid) != set()
    index = json.loads(zipfile.ZipFile(io.BytesIO(body)).read(f"{rid}.json"))
    assert index == {"BlastJSON": [{"File": f"{rid}_{n}.json"} for n in range(1, 5)]}


def test_bio_blast_text(server: Server, query: str) -> None:
    body, rid = new_qblast(server, query, "Text")
    text = strip_pre(body)
    assert text.startswith("BLASTN ") and text.count("Query= ") == 4
    assert pairwise_hsps(text) == api_hsps(server, rid) != set()
    rest = httpx.get(f"{server.url}/api/jobs/{rid}/download", params={"format": "text"})
    assert text.encode() == rest.content  # BLAST's own text, only wrapped


def test_bio_blast_tabular(server: Server, query: str) -> None:
    body, rid = new_qblast(server, query, "Tabular")
    text = strip_pre(body)
    assert text.count("# Query: ") == 4 and "# Fields: " in text
    assert tabular_hsps(text) == api_hsps(server, rid) != set()


def test_html_opens_as_ncbi_s_report_page(server: Server, query: str) -> None:
    """What `Bio.Blast.qblast(format_type="HTML")` asserts of the report. (Biopython 1.88 cannot
    receive it from any server, NCBI's included: its wait loop also takes every page starting
    `<!DOCTYPE html` for a "please wait" page; NCBIWWW.qblast reads it, below.)"""
    rid, _ = put(server, PROGRAM="blastn", DATABASE="demo-16s", QUERY=query, EXPECT="1e-20")
    body = cgi(server, CMD="Get", RID=rid, FORMAT_TYPE="HTML").content
    assert body.startswith(b"<!DOCTYPE html ") and b"Status=READY" in body
    assert pairwise_hsps(html_text(body.decode())) == api_hsps(server, rid) != set()


# -- NCBIWWW.qblast + NCBIXML: the formats it offers (HTML, Text, ASN.1, XML) ------------------


def old_qblast(server: Server, query: str, format_type: str) -> tuple[str, str]:
    NCBIWWW.qblast.previous = 0
    handle = NCBIWWW.qblast("blastn", "demo-16s", query, url_base=url(server),
                            format_type=format_type, expect=1e-20)  # fmt: skip
    return handle.read(), newest_job(server)["id"]


def test_ncbiwww_xml(server: Server, query: str) -> None:
    text, rid = old_qblast(server, query, "XML")
    records = list(NCBIXML.parse(io.BytesIO(text.encode())))
    assert len(records) == 4 and xml_hsps(records) == api_hsps(server, rid) != set()


def test_ncbiwww_text(server: Server, query: str) -> None:
    text, rid = old_qblast(server, query, "Text")
    assert "Status=READY" in text and text.count("Query= ") == 4
    assert pairwise_hsps(text) == api_hsps(server, rid) != set()


def test_ncbiwww_html(server: Server, query: str) -> None:
    text, rid = old_qblast(server, query, "HTML")
    assert text.startswith("<!DOCTYPE html ") and "<b>Query=</b>" in text
    assert pairwise_hsps(html_text(text)) == api_hsps(server, rid) != set()


def test_ncbiwww_asn1_is_the_archive_blast_formatter_reads(
    server: Server, query: str, tmp_path: Path
) -> None:
    text, rid = old_qblast(server, query, "ASN.1")
    assert text.startswith("Blast4-archive ::= {")
    (tmp_path / "job.asn").write_text(text)
    rows = run_tool(
        "blast_formatter",
        ["-archive", str(tmp_path / "job.asn"), "-outfmt",
         "6 qaccver saccver qstart qend sstart send length"],
        database_dir=DatabaseDir(server.data_dir / "databases" / "demo-16s"),
    )  # fmt: skip
    cells = [line.split("\t") for line in rows.splitlines()]
    hsps = {(r[0], r[1], *map(int, r[2:])) for r in cells}
    assert hsps == api_hsps(server, rid) != set()


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("format_type", ["PDF", "XML3", "json", "Text;rm -rf /"])
def test_an_unknown_format_type_gets_the_error_page(
    server: Server, demo_16s: list[tuple[str, str]], format_type: str
) -> None:
    rid, _ = put(server, PROGRAM="blastn", DATABASE="demo-16s", QUERY=demo_16s[8][1])
    page = assert_error_page(cgi(server, CMD="Get", RID=rid, FORMAT_TYPE=format_type),
                             422, "unknown_format")  # fmt: skip
    assert "is not supported; use one of HTML, Text, Tabular" in page
    assert "XML2, XML2_S, JSON2, JSON2_S, ASN.1, CSV" in page


def test_format_types_are_case_blind_and_single_file_variants_stay_single(
    server: Server, query: str
) -> None:
    rid, _ = put(server, PROGRAM="blastn", DATABASE="demo-16s", QUERY=query, EXPECT="1e-20")
    single = cgi(server, CMD="Get", RID=rid, FORMAT_TYPE="json2_s")
    assert len(single.json()["BlastOutput2"]) == 4
    assert cgi(server, CMD="Get", RID=rid, FORMAT_TYPE="xml2_S").content.startswith(b"<?xml")
    zipped = cgi(server, CMD="Get", RID=rid, FORMAT_TYPE="xml2")
    assert zipped.headers["content-type"] == "application/zip"
    assert zipped.content.startswith(b"PK\x03\x04")


# -- the zip against BLAST+'s own multi-file output ----------------------------------------------


def blast_multifile(job: Job, kind: PerQueryZip, base: Path) -> list[bytes]:
    """What blast_formatter writes for one archive of all the queries: index, then reports."""
    (archive,) = job.archives("1")
    outfmt = "14" if kind is PerQueryZip.XML2 else "13"
    run_tool("blast_formatter", ["-archive", str(archive), "-outfmt", outfmt, "-out", str(base)],
             database_dir=DatabaseDir(job.blastdb_dir))  # fmt: skip
    suffix = "xml" if kind is PerQueryZip.XML2 else "json"
    reports = [Path(f"{base}_{n}.{suffix}").read_bytes() for n in range(1, len(job.queries) + 1)]
    return [base.read_bytes(), *reports]


@pytest.mark.parametrize("kind", list(PerQueryZip))
@pytest.mark.parametrize("batching", ["1", "3", "2-multi"])
def test_zip_holds_blasts_own_files_numbered_across_the_job(
    nucl_job: Job,  # noqa: F811
    tmp_path: Path,
    kind: PerQueryZip,
    batching: str,
) -> None:
    out = render_per_query_zip(kind, "RID7", nucl_job.archives(batching), nucl_job.blastdb_dir,
                               tmp_path / f"out.{kind.extension}")  # fmt: skip
    archive = zipfile.ZipFile(out)
    assert archive.namelist() == member_names(kind, "RID7", len(nucl_job.queries))
    ours = [archive.read(name) for name in archive.namelist()]
    (tmp_path / "blast").mkdir()
    theirs = blast_multifile(nucl_job, kind, tmp_path / "blast" / "RID7")
    assert ours[0] == theirs[0]  # the index: BLAST's own, listing every query's file
    if batching == "1":
        assert ours == theirs  # byte for byte
    if kind is PerQueryZip.JSON2:
        assert json_hsps([json.loads(r) for r in ours[1:]]) == json_hsps(
            [json.loads(r) for r in theirs[1:]]
        )
        ids = [json.loads(r)["BlastOutput2"]["report"]["results"]["search"]["query_id"]
               for r in ours[1:]]  # fmt: skip
    else:  # (Bio.Blast cannot read a report without hits: test_bio_blast_xml2 says why)
        pairs = zip(ours[1:], theirs[1:], strict=True)
        with_hits = [(o, t) for o, t in pairs if b"<Hit>" in t]
        records = [Blast.read(io.BytesIO(o)) for o, _ in with_hits]
        reference = [Blast.read(io.BytesIO(t)) for _, t in with_hits]
        assert record_hsps(records) == record_hsps(reference)
        ids = [re.search(rb"<query-id>(\w+)</query-id>", o).group(1).decode()  # type: ignore[union-attr]
               for o in ours[1:]]  # fmt: skip
        assert len(records) > 3
    assert ids == [f"Query_{n}" for n in range(1, len(nucl_job.queries) + 1)]


def test_zip_refuses_a_job_without_batches_and_a_bad_name(
    nucl_job: Job,  # noqa: F811
    tmp_path: Path,
) -> None:
    with pytest.raises(BlastDeckError, match="no batch results"):
        render_per_query_zip(PerQueryZip.XML2, "R", [], nucl_job.blastdb_dir, tmp_path / "a.zip")
    with pytest.raises(BlastDeckError, match="cannot name"):
        render_per_query_zip(PerQueryZip.XML2, "../x", nucl_job.archives("1"),
                             nucl_job.blastdb_dir, tmp_path / "a.zip")  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_zip_of_an_archive_blast_cannot_read_fails_cleanly(
    nucl_job: Job,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A batch archive that is not BLAST's: export_failed naming it, no zip, no scratch left."""
    bad = tmp_path / "in" / "batch_002.asn"
    bad.parent.mkdir()
    bad.write_text("Blast4-archive ::= { truncated")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(BlastDeckError, match=r"batch_002\.asn") as caught:
        render_per_query_zip(PerQueryZip.JSON2, "R", [*nucl_job.archives("1"), bad],
                             nucl_job.blastdb_dir, out_dir / "r.zip")  # fmt: skip
    assert caught.value.code is ErrorCode.EXPORT_FAILED
    assert list(out_dir.iterdir()) == []


# -- the docs' examples, run as written ------------------------------------------------------


def test_the_docs_biopython_examples_run(
    server: Server, query: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    doc = (Path(__file__).resolve().parents[1] / "docs" / "ncbi-url-api.md").read_text()
    section = doc.split("## Biopython", 1)[1].split("\n## ", 1)[0]
    examples = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(examples) == 2
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my-16s.fa").write_text(query)
    printed = []
    for example in examples:
        NCBIWWW.qblast.previous = Blast.qblast.previous = 0
        exec(example.replace("http://127.0.0.1:8000", server.url), {})
        expected = {(q, s) for q, s, *_ in api_hsps(server, newest_job(server)["id"])}
        printed.append((capsys.readouterr().out.splitlines(), expected))
    (old_lines, old_hits), (new_lines, new_hits) = printed
    # print(record.query, alignment.accession, expect): one line per hit
    assert {(line.split()[0], line.split()[-2]) for line in old_lines} == old_hits != set()
    # print(record.query.description, [hit names]): one line per query with hits
    pairs = set()
    for line in new_lines:
        description, names = line.rsplit(" [", 1)
        pairs |= {(description.split()[0], n) for n in ast.literal_eval(f"[{names}")}
    assert pairs == new_hits != set() and len(new_lines) == 3


# -- every backend -----------------------------------------------------------------------------


def test_reports_on_every_backend(client: TestClient, query: str) -> None:
    """Embedded (SQLite, PostgreSQL) and distributed: the same zips and wrapped text."""
    page = client.post("/blast/Blast.cgi", data={"CMD": "Put", "PROGRAM": "blastn",
                       "DATABASE": "demo-16s", "QUERY": query, "EXPECT": "1e-20"})  # fmt: skip
    rid = re.search(r"RID = (\S+)", page.text).group(1)  # type: ignore[union-attr]
    assert wait_for_job(api_job(client), rid)["phase"] == "completed"
    items = client.get(f"/api/jobs/{rid}/hsps", params={"limit": 1000}).json()["items"]
    expected = {(h["query_id"], h["subject_id"], h["qstart"], h["qend"], h["sstart"], h["send"],
                 h["length"]) for h in items}  # fmt: skip

    def get(format_type: str) -> bytes:
        response = client.post("/blast/Blast.cgi", data={"CMD": "Get", "RID": rid,
                               "FORMAT_TYPE": format_type})  # fmt: skip
        assert response.status_code == 200, response.text
        return response.content

    reports = [json.loads(r) for r in zip_reports(get("JSON2"), rid, "json", 4)]
    assert json_hsps(reports) == expected != set()
    xml_reports = zip_reports(get("XML2"), rid, "xml", 4)[:3]
    assert record_hsps([Blast.read(io.BytesIO(r)) for r in xml_reports]) == expected
    assert pairwise_hsps(strip_pre(get("Text"))) == expected
    assert tabular_hsps(strip_pre(get("Tabular"))) == expected
