"""NCBI's URL API searching within organisms: Biopython's own client
(`NCBIWWW.qblast(..., entrez_query=...)`) against a BlastDeck server holding a 16S database
with real taxids; the hits are those of raw `blastn -taxidlist` / `-negative_taxidlist` given
the same expanded set, and an ENTREZ_QUERY outside the grammar gets the error page saying
what is supported."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from Bio.Blast import NCBIWWW, NCBIXML

from blastdeck.taxonomy import Taxonomy, write_taxid_list
from tests.conftest import Server, read_fasta
from tests.support.bench_data import bench_16s_3000
from tests.support.taxonomy_cache import embedded_cache
from tests.test_ncbi_api import assert_error_page, cgi, newest_job

BENCH = bench_16s_3000()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("ncbi-taxa")
    srv = Server(root / "data", None)
    srv.env["BLASTDECK_TAXONOMY_CACHE_DIR"] = str(embedded_cache()[0])
    srv.env["BLASTDECK_DEMO_DATABASES"] = "false"
    srv.start()
    records = read_fasta(BENCH / "16s-3000.fa")[:40]
    ids = {header.split()[0] for header, _ in records}
    taxmap = [line for line in (BENCH / "16s-3000.taxid_map").read_text().splitlines()
              if line.split()[0] in ids]  # fmt: skip
    response = httpx.post(
        f"{srv.url}/api/databases",
        data={"name": "sixteen"},
        files={
            "file": ("db.fa", "".join(f">{h}\n{s}\n" for h, s in records), "text/plain"),
            "taxid_map": ("map", "\n".join(taxmap), "text/plain"),
        },
        timeout=120,
    )
    assert response.status_code == 201, response.text
    srv.query = "".join(f">q{n}\n{records[i][1]}\n" for n, i in enumerate((0, 1, 4, 7)))
    srv.taxids = {line.split()[0]: int(line.split()[1]) for line in taxmap}
    srv.prefix = Path(response.json()["path"])
    yield srv
    srv.kill()


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Taxonomy(embedded_cache()[0])


def qblast(server: Server, entrez_query: str) -> list[Any]:
    NCBIWWW.qblast.previous = 0  # Biopython spaces calls 20 s apart for NCBI's sake
    handle = NCBIWWW.qblast(
        "blastn", "sixteen", server.query, url_base=f"{server.url}/blast/Blast.cgi",
        entrez_query=entrez_query, expect=1e-30,
    )  # fmt: skip
    return list(NCBIXML.parse(handle))


def xml_hits(records: list[Any]) -> set[tuple[str, str]]:
    return {(r.query.split()[0], a.accession) for r in records for a in r.alignments}


def raw_hits(server: Server, tmp_path: Path, *extra: str) -> set[tuple[str, str]]:
    (tmp_path / "q.fa").write_text(server.query)
    done = subprocess.run(
        ["blastn", "-db", server.prefix.name, "-query", str(tmp_path / "q.fa"), "-evalue",
         "1e-30", "-max_target_seqs", "50", "-outfmt", "6 qaccver saccver", *extra],
        cwd=server.prefix.parent, capture_output=True, text=True,
        env={"BLASTDB": ".", "PATH": "/usr/bin"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return {tuple(line.split("\t")) for line in done.stdout.splitlines()}  # type: ignore[misc]


def test_qblast_with_an_organism_has_the_hits_of_raw_blastn_taxidlist(
    server: Server, taxonomy: Taxonomy, tmp_path: Path
) -> None:
    records = qblast(server, "txid561[ORGN]")  # Escherichia and everything under it
    lists = taxonomy.expand([561])
    write_taxid_list(tmp_path / "in.txt", lists.include)
    hits = xml_hits(records)
    assert hits == raw_hits(server, tmp_path, "-taxidlist", str(tmp_path / "in.txt"))
    assert hits and {server.taxids[s] for _, s in hits} <= set(lists.include.tolist())
    assert len(hits) < len(raw_hits(server, tmp_path))
    shown = newest_job(server)["taxon_filter"]
    assert shown["entrez_query"] == "txid561[ORGN]" and shown["include_taxa"] == [561]
    assert shown["blast_option"] == "-taxidlist"


def test_qblast_with_not_has_the_hits_of_raw_blastn_negative_taxidlist(
    server: Server, taxonomy: Taxonomy, tmp_path: Path
) -> None:
    query = 'all[filter] NOT "Escherichia coli"[Organism] NOT txid2157[ORGN]'
    hits = xml_hits(qblast(server, query))
    lists = taxonomy.expand([], [562, 2157])  # E. coli's subtree, all Archaea
    write_taxid_list(tmp_path / "out.txt", lists.exclude)
    assert hits == raw_hits(server, tmp_path, "-negative_taxidlist", str(tmp_path / "out.txt"))
    dropped = set(lists.exclude.tolist())
    assert hits and not any(server.taxids.get(s) in dropped for _, s in hits)
    assert any(server.taxids.get(s) in dropped for _, s in raw_hits(server, tmp_path))
    shown = newest_job(server)["taxon_filter"]
    assert shown["exclude_taxa"] == [562, 2157] and shown["blast_option"] == "-negative_taxidlist"


@pytest.mark.parametrize(
    ("entrez", "code", "says"),
    [
        ("human[title]", "unsupported_entrez_query", "Supported: organisms as txid562[ORGN]"),
        ("txid561[ORGN] AND txid562[ORGN]", "unsupported_entrez_query", "Supported:"),
        ("Escherichia colli[orgn]", "unknown_taxon", "Escherichia coli (562)"),
        ("txid561[ORGN] NOT txid561[ORGN]", "taxon_filter_conflict", "both included"),
    ],
)
def test_an_entrez_query_we_cannot_honour_gets_the_error_page(
    server: Server, entrez: str, code: str, says: str
) -> None:
    before = httpx.get(f"{server.url}/api/jobs").json()["total"]
    put = cgi(server, CMD="Put", PROGRAM="blastn", DATABASE="sixteen", QUERY=server.query,
              ENTREZ_QUERY=entrez)  # fmt: skip
    page = assert_error_page(put, 200, code)
    assert says in page.replace("&quot;", '"').replace("&#x27;", "'"), page
    assert httpx.get(f"{server.url}/api/jobs").json()["total"] == before


def test_orgn_noexp_is_the_taxon_alone(server: Server) -> None:
    """[ORGN:noexp]: E. coli O157:H7 EDL933's own taxid, none of the strains under it."""
    put = cgi(server, CMD="Put", PROGRAM="blastn", DATABASE="sixteen", QUERY=server.query,
              ENTREZ_QUERY="txid83334[ORGN:noexp]")  # fmt: skip
    assert put.status_code == 200 and "RID = " in put.text, put.text
    shown = newest_job(server)["taxon_filter"]
    assert shown["include_taxa"] == [83334] and shown["expanded_taxids"] == 1
    assert shown["database_taxids"] == 1 and shown["entrez_query"] == "txid83334[ORGN:noexp]"
