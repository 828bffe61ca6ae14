"""`query_loc` (BLAST's `-query_loc START-STOP`, applied to every query of a job).

- The XML, XML2 and JSON downloads, and the URL API's per-query zips, give each query's
  searched stretch as its length, as blastn writes them; `blast_formatter`, which makes them
  from the job's archives, writes the whole query's length. Checked against real blastn runs.
- A START past the end of a query is refused at submit: BLAST+ would leave that query out of
  its report without a word, or fail when it leaves out every query of a run.
"""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from blastdeck.blast_tools import DatabaseDir, tool_path
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.option_rules import check_query_loc_reaches_queries
from blastdeck.results.exports import render_export
from blastdeck.results.formats import ExportFormat
from blastdeck.results.per_query import PerQueryZip, render_per_query_zip
from blastdeck.results.query_lengths import searched_lengths
from tests.conftest import api_job, fasta, make_settings, wait_for_job
from tests.test_results import DEMO_DIR, Job, make_db, read_fasta, search

START, STOP = 41, 340
LOC = f"{START}-{STOP}"
SHORT = 200  # one query's letters: its stretch ends at its end, before STOP
OUTFMT = {ExportFormat.XML: "5", ExportFormat.JSON: "15", ExportFormat.XML2: "16"}
QUERY_LENGTH = re.compile(
    r'(?:<BlastOutput_query-len>|<Iteration_query-len>|<query-len>|"query_len": )(\d+)'
)


@pytest.fixture(scope="module")
def loc_job(tmp_path_factory: pytest.TempPathFactory) -> Job:
    """Four 16S queries (one of 200 letters) searched with `-query_loc 41-340` as one batch and
    as two, against 60 of the demo genes."""
    records = read_fasta(DEMO_DIR / "demo-16s.fa")
    short = (f"{records[100][0]} (first {SHORT} letters)", records[100][1][:SHORT])
    queries = (records[3], short, records[150], records[5])
    root = tmp_path_factory.mktemp("query-loc")
    blastdb_dir = make_db(root / "db", "16s-demo", records[:60], "nucl")
    run = (root, "blastn", blastdb_dir, "16s-demo", queries)
    extra = ["-query_loc", LOC, "-evalue", "1e-5"]
    batchings = {"1": search(*run, [4], "one", extra), "2": search(*run, [2, 2], "two", extra)}
    return Job("blastn", blastdb_dir, queries, batchings)


def stretch_lengths(job: Job) -> list[int]:
    return [min(len(seq), STOP) - START + 1 for _, seq in job.queries]


def blastn(job: Job, tmp_path: Path, outfmt: str, out: Path | None = None) -> str:
    """What one blastn run of all the job's queries writes (`out`: its -out, for the
    multi-file formats)."""
    query = tmp_path / "queries.fa"
    query.write_text(fasta(list(job.queries)))
    argv = [tool_path("blastn"), "-query", str(query), "-db", "16s-demo", "-outfmt", outfmt,
            "-query_loc", LOC, "-evalue", "1e-5", *(["-out", str(out)] if out else [])]  # fmt: skip
    where = DatabaseDir(job.blastdb_dir)
    done = subprocess.run(argv, env=where.env(), cwd=where.path, check=True, capture_output=True)
    return done.stdout.decode()


# A report's effective search space lines: blast_formatter gives every query of an archive its
# first query's (README, "What identical to BLAST+ means"), here 300 letters' where the short
# query's stretch is 160.
EFFECTIVE_SPACE = re.compile(r'^\s*(?:<Statistics_eff-space>|<eff-space>|"eff_space": ).*\n', re.M)


def without_effective_space(text: str) -> str:
    return EFFECTIVE_SPACE.sub("", text)


def query_lengths(text: str) -> list[int]:
    """The query lengths a report gives, in order (XML's header line left out)."""
    lines = [line for line in text.splitlines() if "<BlastOutput_query-len>" not in line]
    return [int(m.group(1)) for line in lines if (m := QUERY_LENGTH.search(line))]


@pytest.mark.parametrize("fmt", list(OUTFMT))
def test_a_one_batch_report_is_what_blastn_writes(
    loc_job: Job, tmp_path: Path, fmt: ExportFormat
) -> None:
    def render(query_loc: str | None, name: str) -> str:
        out = render_export(fmt, loc_job.tables("1"), loc_job.archives("1"),
                            loc_job.blastdb_dir, tmp_path / name, query_loc=query_loc)  # fmt: skip
        return out.read_text()

    theirs = blastn(loc_job, tmp_path, OUTFMT[fmt])
    assert query_lengths(theirs) == stretch_lengths(loc_job) == [300, 160, 300, 300]
    ours = render(LOC, "with-loc")
    assert without_effective_space(ours) == without_effective_space(theirs)
    assert ours.count("eff") == theirs.count("eff") > 0
    whole = render(None, "without")  # what blast_formatter alone writes: the whole queries
    assert query_lengths(whole) == [len(seq) for _, seq in loc_job.queries]
    assert whole != theirs


@pytest.mark.parametrize("fmt", list(OUTFMT))
def test_a_split_report_gives_every_query_its_stretch(
    loc_job: Job, tmp_path: Path, fmt: ExportFormat
) -> None:
    out = render_export(fmt, loc_job.tables("2"), loc_job.archives("2"), loc_job.blastdb_dir,
                        tmp_path / "out", query_loc=LOC)  # fmt: skip
    ours = out.read_text()
    assert query_lengths(ours) == stretch_lengths(loc_job)
    if fmt is ExportFormat.XML:
        header = re.search(r"<BlastOutput_query-len>(\d+)<", ours)
        assert header and int(header.group(1)) == stretch_lengths(loc_job)[0]


@pytest.mark.parametrize("kind", list(PerQueryZip))
@pytest.mark.parametrize("batching", ["1", "2"])
def test_per_query_zips_give_the_stretch(
    loc_job: Job, tmp_path: Path, kind: PerQueryZip, batching: str
) -> None:
    out = render_per_query_zip(kind, "RID", loc_job.archives(batching), loc_job.blastdb_dir,
                               tmp_path / f"out.{kind.extension}", query_loc=LOC)  # fmt: skip
    with zipfile.ZipFile(out) as zipped:
        reports = [zipped.read(name).decode() for name in zipped.namelist()[1:]]
    assert [query_lengths(r) for r in reports] == [[n] for n in stretch_lengths(loc_job)]
    if batching == "1":
        suffix = "xml" if kind is PerQueryZip.XML2 else "json"
        blastn(loc_job, tmp_path, "14" if kind is PerQueryZip.XML2 else "13", tmp_path / "RID")
        theirs = [(tmp_path / f"RID_{n}.{suffix}").read_text() for n in range(1, 5)]
        assert [without_effective_space(r) for r in reports] == [
            without_effective_space(r) for r in theirs
        ]


def test_the_line_fixer_touches_only_query_lengths() -> None:
    assert searched_lengths(None) is None and searched_lengths("") is None
    fix = searched_lengths("101-400")
    assert fix is not None
    assert fix("  <Iteration_query-len>1390</Iteration_query-len>\n") == (
        "  <Iteration_query-len>300</Iteration_query-len>\n"
    )
    assert fix("<BlastOutput_query-len>250</BlastOutput_query-len>\n") == (
        "<BlastOutput_query-len>150</BlastOutput_query-len>\n"
    )
    assert fix('          "query_len": 1736,\n') == '          "query_len": 300,\n'
    assert fix("              <query-len>380</query-len>\n") == (
        "              <query-len>280</query-len>\n"
    )
    for other in ('  <Hit_len>1390</Hit_len>\n', '  "len": 1390,\n', "Length=1390\n",
                  '<Hsp_query-to>1390</Hsp_query-to>\n'):  # fmt: skip
        assert fix(other) == other


def test_the_submit_check_names_the_short_queries() -> None:
    queries = [("q1", 500), ("q2", 99), ("q3", 100)] + [(f"s{n}", 10) for n in range(6)]
    check_query_loc_reaches_queries({}, queries)  # no query_loc: nothing to check
    check_query_loc_reaches_queries({"query_loc": "10-900"}, queries)  # STOP is BLAST's to cut
    with pytest.raises(BlastDeckError) as info:
        check_query_loc_reaches_queries({"query_loc": "100-900"}, queries)
    error = info.value
    assert error.code is ErrorCode.INVALID_OPTION_VALUE and error.field == "options.query_loc"
    assert "q2 (99 letters), s0 (10 letters)" in error.message
    assert "7 of the 9 queries" in error.message and "and 2 more" in error.message
    assert "q1" not in error.message and "q3" not in error.message


# -- through the API ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("data"), slots=2)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _jobs(client: TestClient) -> int:
    return client.get("/api/jobs").json()["total"]


@pytest.mark.parametrize(
    ("query_loc", "named"),
    [("1300-1400", "short_one (200 letters)"), ("2000-2100", "3 of the 3 queries")],
)
def test_a_start_past_a_query_is_refused_and_nothing_stored(
    client: TestClient, demo_16s, query_loc: str, named: str
) -> None:
    queries = [demo_16s[3], ("short_one 16S start", demo_16s[4][1][:200]), demo_16s[5]]
    before = _jobs(client)
    body = {"program": "blastn", "database": "demo-16s", "query": fasta(queries)}
    response = client.post("/api/jobs", json=body | {"options": {"query_loc": query_loc}})
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["error_code"] == "invalid_option_value"
    assert error["field"] == "options.query_loc"
    assert named in error["message"] and query_loc in error["message"]
    assert _jobs(client) == before


def test_a_job_downloads_the_stretch_as_blastn_writes_it(client: TestClient, demo_16s) -> None:
    """A STOP past a query's end is BLAST's to cut; the job's XML and JSON give each query the
    stretch searched (the job runs as two batches on two slots)."""
    queries = [demo_16s[3], ("short_one 16S start", demo_16s[4][1][:200]), demo_16s[5]]
    body = {"program": "blastn", "database": "demo-16s", "query": fasta(queries)}
    response = client.post("/api/jobs", json=body | {"options": {"query_loc": LOC}})
    assert response.status_code == 202, response.text
    done = wait_for_job(api_job(client), response.json()["id"], timeout=180)
    assert done["phase"] == "completed", done
    expected = [min(len(seq), STOP) - START + 1 for _, seq in queries]
    for fmt in ("xml", "json", "xml2"):
        got = client.get(f"/api/jobs/{done['id']}/download?format={fmt}")
        assert got.status_code == 200, got.text
        assert query_lengths(got.text) == expected == [300, 160, 300], fmt
    document = json.loads(client.get(f"/api/jobs/{done['id']}/download?format=json").text)
    assert [r["report"]["results"]["search"]["query_len"] for r in document["BlastOutput2"]] == [
        300, 160, 300
    ]
