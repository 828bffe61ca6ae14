"""The tsv and csv downloads with `columns=` (issue 12): BLAST's outfmt 6 specifiers copied
from the job's hit tables exactly as a plain `blastn` prints them, the taxonomy columns filled
from the real NCBI Taxonomy, the default download unchanged, and bad column lists."""

from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blastdeck.taxonomy import Taxonomy
from tests.conftest import fasta
from tests.support import taxdb

# The finished job on a taxid database, and its app (module-scoped fixtures).
client, job, taxonomy = taxdb.client, taxdb.job, taxdb.taxonomy


def _download(client: TestClient, job: dict, **params) -> bytes:
    response = client.get(f"/api/jobs/{job['id']}/download", params=params)
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    return response.content


def test_std_is_the_default_download_byte_for_byte(client: TestClient, job: dict) -> None:
    for fmt in ("tsv", "csv"):
        default = _download(client, job, format=fmt)
        assert _download(client, job, format=fmt, columns="std") == default
        spelled = (
            "qaccver,saccver,pident,length,mismatch,gapopen,qstart,qend,sstart,send,evalue,bitscore"
        )
        assert _download(client, job, format=fmt, columns=spelled) == default
    assert default.startswith(b"qaccver,saccver,pident,")
    assert len(default.splitlines()) > 50


def test_columns_are_what_blastn_prints(client: TestClient, job: dict, tmp_path: Path) -> None:
    """The index's columns, in BLAST's order, equal a plain blastn run of the same search."""
    names = "qseqid qaccver saccver stitle evalue bitscore qlen slen qcovhsp qcovs staxid"
    query = tmp_path / "query.fa"
    query.write_text(fasta(job["queries"]))
    plain = subprocess.run(
        ["blastn", "-db", job["db_path"], "-query", query, "-evalue", "1e-5",
         "-max_target_seqs", "100", "-outfmt", f"6 {names}"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    ours = _download(client, job, format="tsv", columns=names.replace(" ", ",")).decode()
    header, *rows = ours.splitlines()
    assert header.split("\t") == names.split()
    assert rows == plain.splitlines()


def test_taxonomy_columns(client: TestClient, job: dict, taxonomy: Taxonomy) -> None:
    text = _download(
        client, job, format="tsv", columns="saccver,staxid,staxids,sscinames,scomnames,sskingdoms"
    ).decode()
    header, *rows = text.splitlines()
    assert header == "saccver\tstaxid\tstaxids\tsscinames\tscomnames\tsskingdoms"
    hsps = client.get(f"/api/jobs/{job['id']}/hsps", params={"sort": "query", "limit": 1000})
    assert len(rows) == hsps.json()["total"]
    named = 0
    for row, hsp in zip(rows, hsps.json()["items"], strict=True):
        subject, staxid, staxids, sciname, comname, kingdom = row.split("\t")
        assert subject == hsp["subject_id"]
        if hsp["staxid"]:
            named += 1
            taxon = taxonomy.get(hsp["staxid"])
            assert (staxid, staxids) == (str(hsp["staxid"]),) * 2
            assert sciname == taxon.scientific_name == hsp["scientific_name"]
            assert comname == (taxon.common_name or "N/A")
            top = taxon.lineage["superkingdom"]
            assert kingdom == (top.name if top else "N/A")
        else:  # no taxid in the database: BLAST's N/A (and staxids 0, as BLAST prints it)
            assert (staxid, staxids, sciname, comname, kingdom) == ("N/A", "0", *("N/A",) * 3)
    assert 0 < named < len(rows)


def test_csv_quotes_what_needs_it(client: TestClient, job: dict) -> None:
    columns = "saccver,stitle,sscinames,evalue"
    tsv = _download(client, job, format="tsv", columns=columns).decode().splitlines()
    raw = _download(client, job, format="csv", columns=columns).decode()
    parsed = list(csv.reader(io.StringIO(raw)))
    assert parsed == [line.split("\t") for line in tsv]
    assert any("," in row[1] for row in parsed[1:])  # titles with commas come back whole
    preset = _download(client, job, format="csv", columns="std,staxid").decode()
    assert next(csv.reader(io.StringIO(preset)))[-2:] == ["bitscore", "staxid"]


@pytest.mark.parametrize(
    ("columns", "named"),
    [
        ("qseqid,nope", "nope"),
        ("QSEQID", "QSEQID"),
        ("sseqids", "sseqids"),  # not a BLAST specifier
        ("qseqid;evalue", "qseqid;evalue"),
        ("qseqid,,evalue", None),
        ("", None),
        ("std," * 30, None),  # more than 100 columns
    ],
)
def test_unknown_columns(client: TestClient, job: dict, columns: str, named) -> None:
    for fmt in ("tsv", "csv"):
        response = client.get(
            f"/api/jobs/{job['id']}/download", params={"format": fmt, "columns": columns}
        )
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["error_code"] == "unknown_column" and body["field"] == "columns"
        if named:
            assert repr(named) in body["message"] and body["detail"] == {"column": named}


def test_columns_only_for_tabular_downloads(client: TestClient, job: dict) -> None:
    for params in ({"format": "json", "columns": "std"}, {"columns": "x" * 1001}):
        response = client.get(f"/api/jobs/{job['id']}/download", params=params)
        assert response.status_code == 422, response.text
        assert response.json()["error_code"] == "invalid_request"
