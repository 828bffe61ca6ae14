"""A small real BLAST+ database with taxids: the demo 16S genes, each mapped to the organism
its title names (`makeblastdb -parse_seqids -taxid_map`), the rest without a taxid; and a
finished job on it, in the app as `blastdeck serve` makes it (fixtures)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from blastdeck.taxonomy import Taxonomy
from tests.conftest import DEMO_DIR, api_job, fasta, make_settings, read_fasta, wait_for_job
from tests.support.taxonomy_cache import embedded_cache


def organism_of(taxonomy: Taxonomy, title: str) -> int | None:
    """The organism a 16S title names: its longest leading run of words that is exactly one
    scientific name ("Lactobacillus brevis strain I25 16S ..." -> Lactobacillus brevis)."""
    words = title.split()
    for count in range(min(len(words), 6), 0, -1):
        found = taxonomy.find(" ".join(words[:count]))
        if len(found) == 1:
            return found[0]
    return None


def build_demo_taxdb(taxonomy: Taxonomy, work: Path) -> dict[str, object]:
    """`work/demo` (v5, with taxids); returns its path, the records and the seqid->taxid map
    (seqids d0000...; sequences whose title names no organism are left out of the map)."""
    records = read_fasta(DEMO_DIR / "demo-16s.fa")
    fasta, taxmap, taxids = [], [], {}
    for i, (header, sequence) in enumerate(records):
        seqid = f"d{i:04d}"
        fasta.append(f">{seqid} {header}\n{sequence}\n")
        taxid = organism_of(taxonomy, header.split(" ", 1)[1])
        if taxid is not None:
            taxmap.append(f"{seqid}\t{taxid}\n")
            taxids[seqid] = taxid
    (work / "demo.fa").write_text("".join(fasta))
    (work / "demo.taxid_map").write_text("".join(taxmap))
    subprocess.run(
        ["makeblastdb", "-in", work / "demo.fa", "-dbtype", "nucl", "-parse_seqids",
         "-taxid_map", work / "demo.taxid_map", "-out", work / "demo"],
        check=True, capture_output=True,
    )  # fmt: skip
    return {"path": work / "demo", "records": records, "taxids": taxids}


# Fixtures for the modules that browse a finished job by organism (import them).


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Taxonomy(embedded_cache()[0])


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app as `blastdeck serve` makes it, its taxonomy index this run's build."""
    home = tmp_path_factory.mktemp("home")
    (home / "xdg" / "blastdeck").mkdir(parents=True)
    (home / "xdg" / "blastdeck" / "taxonomy").symlink_to(embedded_cache()[0])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(home / "xdg"))
        settings = make_settings(home / "data", demo_databases=False)
        with TestClient(create_app(settings)) as client:
            yield client


@pytest.fixture(scope="module")
def job(client: TestClient, taxonomy: Taxonomy, tmp_path_factory) -> dict:
    db = build_demo_taxdb(taxonomy, tmp_path_factory.mktemp("taxdb"))
    added = client.post("/api/databases", json={"name": "taxdemo", "path": str(db["path"])})
    assert added.status_code in (200, 201), added.text
    records = db["records"]
    queries = [(f"q{i}", seq) for i, (_, seq) in enumerate(records[:60:10])]
    queries.append(("noise", "ACGT" * 60))  # a query without hits
    body = {
        "program": "blastn",
        "database": "taxdemo",
        "query": fasta(queries),
        "options": {"evalue": 1e-5, "max_target_seqs": 100},
    }
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 202, response.text
    done = wait_for_job(api_job(client), response.json()["id"])
    assert done["phase"] == "completed", done
    return done | {"taxids": db["taxids"], "queries": queries, "db_path": db["path"]}
