"""Any of BLAST's outfmt 6 columns in the tsv and csv downloads (issue 15): every specifier,
the `ext` preset (Galaxy's 25 columns), for blastn and blastp, on one batch and several, each
compared byte for byte with a plain `blastn`/`blastp -outfmt "6 ..."` of the same search on the
same (real, makeblastdb) database; BLAST's taxonomy name columns filled from the NCBI Taxonomy
(BLAST prints N/A for them without NCBI's taxdb, and for the Blast names BlastDeck does too)."""

from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blastdeck.results.columns import EXTENDED_COLUMNS, SPECIFIERS, TaxonCells
from blastdeck.results.formatted_columns import row_fields
from blastdeck.results.tabular import STANDARD_COLUMNS
from blastdeck.taxonomy import Taxonomy
from tests.conftest import DEMO_DIR, add_split_cluster, api_job, fasta, read_fasta, wait_for_job
from tests.support import taxdb

# The finished job on a taxid database, and its app (module-scoped fixtures).
client, job, taxonomy = taxdb.client, taxdb.job, taxdb.taxonomy

OPTIONS = {"evalue": 1e-5, "max_target_seqs": 100}
# Every specifier of `blastn -help`, in its order (the test checks the list is BLAST's own).
_EVERY_TEXT = (
    "qseqid qgi qacc qaccver qlen sseqid sallseqid sgi sallgi sacc saccver sallacc slen qstart "
    "qend sstart send qseq sseq evalue bitscore score length pident nident mismatch positive "
    "gapopen gaps ppos frames qframe sframe btop staxid ssciname scomname sblastname sskingdom "
    "staxids sscinames scomnames sblastnames sskingdoms stitle salltitles sstrand qcovs qcovhsp "
    "qcovus"
)
EVERY = _EVERY_TEXT.split()
# Filled from the Taxonomy where BLAST without taxdb prints N/A.
NAMES = ("ssciname", "scomname", "sskingdom", "sscinames", "scomnames", "sskingdoms")


def _download(client: TestClient, job_id: str, fmt: str, columns: str) -> str:
    response = client.get(
        f"/api/jobs/{job_id}/download", params={"format": fmt, "columns": columns}
    )
    assert response.status_code == 200, response.text
    return response.content.decode("utf-8", "surrogateescape")


def _raw(program: str, db: Path, queries: list, options: dict, outfmt: str, tmp: Path) -> str:
    """What BLAST itself prints for the same search."""
    query = tmp / "query.fa"
    query.write_text(fasta(queries))
    argv = [program, "-db", str(db), "-query", str(query), "-outfmt", outfmt]
    for name, value in options.items():
        argv += [f"-{name}", str(value)]
    return subprocess.run(argv, check=True, capture_output=True).stdout.decode(
        "utf-8", "surrogateescape"
    )


def _body(text: str, columns: list[str]) -> str:
    header, _, body = text.partition("\n")
    assert header.split("\t") == columns
    return body


@pytest.fixture(scope="module")
def split_job(client: TestClient, job: dict) -> dict:
    """The same search as `job`, cut into several batches (one archive each)."""
    cluster = add_split_cluster(client, "columns-split", batch_letters=3000)
    body = {"program": "blastn", "database": "taxdemo", "query": fasta(job["queries"]),
            "options": OPTIONS, "cluster": cluster}  # fmt: skip
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 202, response.text
    done = wait_for_job(api_job(client), response.json()["id"])
    assert done["phase"] == "completed", done
    assert done["progress"]["batches_total"] > 1, done["progress"]
    return done | {"queries": job["queries"], "db_path": job["db_path"]}


@pytest.fixture(scope="module")
def protein_job(client: TestClient, tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("protdb")
    subprocess.run(
        ["makeblastdb", "-in", DEMO_DIR / "demo-proteins.fa", "-dbtype", "prot",
         "-parse_seqids", "-out", work / "prot"],
        check=True, capture_output=True,
    )  # fmt: skip
    added = client.post("/api/databases", json={"name": "protdemo", "path": str(work / "prot")})
    assert added.status_code in (200, 201), added.text
    records = read_fasta(DEMO_DIR / "demo-proteins.fa")
    queries = [(header.split()[0], seq) for header, seq in records[:3]]
    queries.append(("mutant", records[4][1][:40] + "W" * 8 + records[4][1][48:]))
    options = {"evalue": 10, "max_target_seqs": 50}
    body = {"program": "blastp", "database": "protdemo", "query": fasta(queries),
            "options": options}  # fmt: skip
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 202, response.text
    done = wait_for_job(api_job(client), response.json()["id"])
    assert done["phase"] == "completed", done
    return done | {"queries": queries, "db_path": work / "prot", "options": options}


def test_every_blast_specifier_is_offered() -> None:
    listed = subprocess.run(["blastn", "-help"], check=True, capture_output=True, text=True)
    words = [line.split() for line in listed.stdout.splitlines()]
    names = [w[0] for w in words if len(w) > 2 and w[1] == "means" and w[0].islower()]
    assert names == EVERY
    assert list(SPECIFIERS) == EVERY
    assert len(EXTENDED_COLUMNS) == 25


@pytest.mark.parametrize(
    "columns",
    [
        "ext",
        "qseqid,qgi,qacc,sseqid,sallseqid,sgi,sallgi,sacc,sallacc,score,nident,positive,gaps",
        "ppos,frames,qframe,sframe,btop,salltitles,sstrand,qcovus,qseq,sseq,staxid,staxids",
        "btop qseqid std evalue sstrand",  # blanks as in -outfmt; a repeat keeps its first place
        "sblastname,sblastnames,saccver,staxids",
    ],
)
def test_columns_equal_blastn(client: TestClient, job: dict, columns: str, tmp_path) -> None:
    given = columns.replace(",", " ").split()
    # BLAST knows `std` but not Galaxy's `ext` (it would skip the word): spelled out for it.
    blast = "6 " + " ".join(" ".join(EXTENDED_COLUMNS) if c == "ext" else c for c in given)
    raw = _raw("blastn", job["db_path"], job["queries"], OPTIONS, blast, tmp_path)
    presets = {"ext": EXTENDED_COLUMNS, "std": STANDARD_COLUMNS}
    names = list(dict.fromkeys(n for part in given for n in presets.get(part, (part,))))
    ours = _body(_download(client, job["id"], "tsv", columns), names)
    assert ours == raw
    assert len(raw.splitlines()) > 50


def test_several_batches_equal_blastn(
    client: TestClient, job: dict, split_job: dict, tmp_path
) -> None:
    raw = _raw("blastn", split_job["db_path"], split_job["queries"], OPTIONS,
               "6 " + " ".join(EXTENDED_COLUMNS), tmp_path)  # fmt: skip
    ours = _body(_download(client, split_job["id"], "tsv", "ext"), list(EXTENDED_COLUMNS))
    assert ours == raw
    one_batch = _download(client, job["id"], "tsv", "ext")
    assert ours == _body(one_batch, list(EXTENDED_COLUMNS))


def test_every_specifier_with_taxonomy_names(
    client: TestClient, job: dict, taxonomy: Taxonomy, tmp_path
) -> None:
    """All 50 at once: as BLAST prints them, but the taxonomy names (N/A in a BLAST without
    taxdb) filled from the subject's taxid."""
    raw = _raw("blastn", job["db_path"], job["queries"], OPTIONS, "6 " + " ".join(EVERY), tmp_path)
    ours = _body(_download(client, job["id"], "tsv", ",".join(EVERY)), EVERY)
    raw_rows, our_rows = raw.splitlines(), ours.splitlines()
    assert len(raw_rows) == len(our_rows) > 50
    at = {name: i for i, name in enumerate(EVERY)}
    named = 0
    for raw_row, our_row in zip(raw_rows, our_rows, strict=True):
        theirs, mine = raw_row.split("\t"), our_row.split("\t")
        for name in EVERY:
            if name not in NAMES:
                assert mine[at[name]] == theirs[at[name]], name
        taxid = theirs[at["staxid"]]
        if taxid == "N/A":
            assert theirs[at["staxids"]] == "0"
            assert [mine[at[n]] for n in NAMES] == ["N/A"] * len(NAMES)
            continue
        named += 1
        taxon = taxonomy.get(int(taxid))
        top = taxon.lineage["superkingdom"]
        expected = [taxon.scientific_name, taxon.common_name or "N/A", top.name if top else "N/A"]
        assert [mine[at[n]] for n in NAMES] == expected * 2
    assert 0 < named < len(our_rows)


def test_table_and_formatter_agree_on_taxonomy(client: TestClient, job: dict) -> None:
    """The same taxonomy columns whether the rows come from the hit table or blast_formatter."""
    names = "saccver,staxid,staxids,ssciname,sscinames,scomnames,sskingdoms,sblastnames"
    table = _download(client, job["id"], "tsv", names).splitlines()
    formatted = _download(client, job["id"], "tsv", names + ",btop").splitlines()
    assert [row.rsplit("\t", 1)[0] for row in formatted] == table


def test_csv_of_ext(client: TestClient, job: dict) -> None:
    tsv = _download(client, job["id"], "tsv", "ext").splitlines()
    raw = _download(client, job["id"], "csv", "ext")
    parsed = list(csv.reader(io.StringIO(raw)))
    assert parsed == [line.split("\t") for line in tsv]
    assert any("," in row[-1] for row in parsed[1:])  # titles with commas come back whole


@pytest.mark.parametrize(
    "columns",
    [
        "ext",
        "qseqid,qgi,qacc,qaccver,sseqid,sallseqid,sgi,sallgi,sacc,sallacc,saccver,stitle",
        "btop,positive,ppos,nident,gaps,frames,qframe,sframe,sstrand,score,qcovs,qcovhsp",
    ],
)
def test_columns_equal_blastp(client: TestClient, protein_job: dict, columns, tmp_path) -> None:
    job = protein_job
    names = list(EXTENDED_COLUMNS) if columns == "ext" else columns.split(",")
    blast = "6 " + " ".join(names)
    raw = _raw("blastp", job["db_path"], job["queries"], job["options"], blast, tmp_path)
    assert _body(_download(client, job["id"], "tsv", columns), names) == raw
    assert len(raw.splitlines()) >= 4


def test_qcovus_is_for_blastn_only(client: TestClient, protein_job: dict) -> None:
    for fmt in ("tsv", "csv"):
        response = client.get(
            f"/api/jobs/{protein_job['id']}/download",
            params={"format": fmt, "columns": "std,qcovus"},
        )
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["error_code"] == "column_not_for_program"
        assert body["field"] == "columns" and body["detail"] == {"column": "qcovus"}
        assert "blastp" in body["message"]


@pytest.mark.parametrize(
    ("columns", "named"),
    [
        ("ext,sseqids", "sseqids"),
        ("Ext", "Ext"),
        ("qseq,,sseq", None),
        ("btop,", None),
        (",".join(["qseqid"] * 101), None),  # more than 100 names, repeats counted
        ("std ext qseq " + "x" * 990, None),  # over 1000 characters
    ],
)
def test_bad_column_lists(client: TestClient, job: dict, columns: str, named) -> None:
    response = client.get(
        f"/api/jobs/{job['id']}/download", params={"format": "tsv", "columns": columns}
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error_code"] in ("unknown_column", "invalid_request"), body
    if len(columns) <= 1000:
        assert body["error_code"] == "unknown_column" and body["field"] == "columns"
    if named:
        assert repr(named) in body["message"] and body["detail"] == {"column": named}


def test_taxon_cells_of_several_taxids(taxonomy: Taxonomy) -> None:
    """A subject of several organisms (BLAST's `staxids` 9606;10090): names in that order,
    kingdoms unique and sorted, the singular columns from `staxid`."""
    taxa = TaxonCells(taxonomy)
    human, mouse, coli = (taxonomy.get(t) for t in (9606, 10090, 562))
    assert taxa.cell("sscinames", "9606", "9606;10090;562") == ";".join(
        t.scientific_name for t in (human, mouse, coli)
    )
    assert taxa.cell("sskingdoms", "9606", "9606;10090;562") == "Bacteria;Eukaryota"
    assert taxa.cell("ssciname", "10090", "9606;10090") == mouse.scientific_name
    assert taxa.cell("sblastnames", "9606", "9606") == "N/A"
    assert taxa.cell("staxids", "N/A", "") == "0"
    assert taxa.cell("sscinames", "99999999", "99999999") == "N/A"  # unknown to the taxonomy
    assert TaxonCells(None).cell("ssciname", "9606", "9606") == "N/A"  # no taxonomy: as BLAST


def test_tabs_inside_titles_go_back_to_their_title() -> None:
    """makeblastdb turns a title's tabs into spaces, but a database built otherwise may keep
    them: BLAST's row then has extra fields, which belong to the titles."""
    asked = ("sseqid", "stitle", "evalue", "salltitles")
    line = "s1\ta\tb\t1e-5\ta\tb<>c\td"
    assert row_fields(line, asked) == ["s1", "a\tb", "1e-5", "a\tb<>c\td"]
    assert row_fields("s1\ta\tb\t1e-5", asked[:3]) == ["s1", "a\tb", "1e-5"]
    assert row_fields("s1\ta\t1e-5\ta", asked) == ["s1", "a", "1e-5", "a"]


def test_a_share_links_holder_gets_the_same_columns(client: TestClient, job: dict) -> None:
    share = client.post(f"/api/jobs/{job['id']}/shares", json={})
    assert share.status_code == 201, share.text
    token = share.json()["url"].rsplit("/", 1)[1]
    owner = client.get(
        f"/api/jobs/{job['id']}/download", params={"format": "csv", "columns": "ext,staxids"}
    )
    holder = client.get(
        f"/api/shared/{token}/download", params={"format": "csv", "columns": "ext,staxids"}
    )
    assert holder.status_code == 200, holder.text
    assert holder.content == owner.content and len(owner.content.splitlines()) > 50
