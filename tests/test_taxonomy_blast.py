"""The expanded taxon filter with real BLAST+: a v5 database with taxids (makeblastdb
-parse_seqids -taxid_map) built from the demo 16S genes, searched with -taxidlist and
-negative_taxidlist files written by `write_taxid_list`."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.taxonomy import Taxonomy, write_taxid_list
from blastdeck.taxonomy.model import in_sorted, sorted_intersection
from tests.conftest import DEMO_DIR, read_fasta
from tests.support.taxonomy_cache import embedded_cache


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Taxonomy(embedded_cache()[0])


def _taxid_of(taxonomy: Taxonomy, title: str) -> int | None:
    """The organism a 16S title names: its longest leading run of words that is exactly one
    scientific name ("Lactobacillus brevis strain I25 16S ..." -> Lactobacillus brevis)."""
    words = title.split()
    for count in range(min(len(words), 6), 0, -1):
        found = taxonomy.find(" ".join(words[:count]))
        if len(found) == 1:
            return found[0]
    return None


@pytest.fixture(scope="module")
def database(taxonomy: Taxonomy, tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("taxdb")
    records = read_fasta(DEMO_DIR / "demo-16s.fa")
    fasta, taxmap = [], []
    for i, (header, sequence) in enumerate(records):
        seqid = f"d{i:04d}"
        fasta.append(f">{seqid} {header}\n{sequence}\n")
        taxid = _taxid_of(taxonomy, header.split(" ", 1)[1])
        if taxid is not None:
            taxmap.append(f"{seqid}\t{taxid}\n")
    (work / "demo.fa").write_text("".join(fasta))
    (work / "demo.taxid_map").write_text("".join(taxmap))
    assert len(taxmap) > 150  # the organism of most demo genes is an NCBI name
    subprocess.run(
        ["makeblastdb", "-in", work / "demo.fa", "-dbtype", "nucl", "-parse_seqids",
         "-taxid_map", work / "demo.taxid_map", "-out", work / "demo"],
        check=True, capture_output=True,
    )  # fmt: skip
    info = subprocess.run(
        ["blastdbcmd", "-db", work / "demo", "-info"], check=True, capture_output=True, text=True
    ).stdout
    assert "BLASTDB Version: 5" in info
    (work / "query.fa").write_text("".join(f">{h.split()[0]}\n{s}\n" for h, s in records[:4]))
    return {"dir": work, "db": work / "demo", "query": work / "query.fa"}


def _blastn(database: dict, *extra: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["blastn", "-db", database["db"], "-query", database["query"], "-evalue", "1e-20",
         "-max_target_seqs", "500", "-outfmt", "6 qaccver saccver staxid evalue", *extra],
        capture_output=True, text=True,
    )  # fmt: skip


def _hits(done: subprocess.CompletedProcess) -> list[tuple[str, str, int, float]]:
    assert done.returncode == 0, done.stderr
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    # BLAST prints N/A for a subject without a taxid (taxid 0 in the database).
    return [(q, s, 0 if t == "N/A" else int(t), float(e)) for q, s, t, e in rows]


@pytest.fixture(scope="module")
def unfiltered(database: dict) -> list[tuple[str, str, int, float]]:
    hits = _hits(_blastn(database))
    assert len({s for _, s, _, _ in hits}) > 100
    return hits


def _strong(hits: list, keep) -> set[tuple[str, str]]:
    """Hits too strong to move past the e-value cut-off when the searched set shrinks."""
    return {(q, s) for q, s, t, e in hits if e < 1e-100 and keep(t)}


def test_taxidlist_keeps_only_the_expanded_taxa(
    taxonomy: Taxonomy, database: dict, unfiltered: list
) -> None:
    phyla = taxonomy.lineage_names([t for _, _, t, _ in unfiltered])
    rows = phyla.rows_for([t for _, _, t, _ in unfiltered])
    placed = phyla.rank_taxids["phylum"][rows]
    counted = np.unique(placed[placed > 0], return_counts=True)  # "uncultured bacterium": none
    phylum = int(counted[0][np.argmax(counted[1])])  # the phylum with most hits
    lists = taxonomy.expand([phylum])
    path = database["dir"] / "phylum.taxids"
    write_taxid_list(path, lists.include)
    allowed = set(lists.include.tolist())
    hits = _hits(_blastn(database, "-taxidlist", path))
    assert hits and {t for _, _, t, _ in hits} <= allowed
    assert len(hits) < len(unfiltered)
    assert _strong(unfiltered, lambda t: t in allowed) <= {(q, s) for q, s, _, _ in hits}


def test_negative_taxidlist_drops_the_expanded_taxa(
    taxonomy: Taxonomy, database: dict, unfiltered: list
) -> None:
    lists = taxonomy.expand([], ["Pseudomonadota"])
    path = database["dir"] / "negative.taxids"
    write_taxid_list(path, lists.exclude)
    dropped = set(lists.exclude.tolist())
    assert any(t in dropped for _, _, t, _ in unfiltered)  # the filter has work to do
    hits = _hits(_blastn(database, "-negative_taxidlist", path))
    assert hits and not {t for _, _, t, _ in hits} & dropped
    assert _strong(unfiltered, lambda t: t not in dropped) <= {(q, s) for q, s, _, _ in hits}


def test_a_list_of_all_bacteria_works(taxonomy: Taxonomy, database: dict, unfiltered: list) -> None:
    """~570,000 taxids in one -taxidlist file: BLAST reads it and keeps every bacterial hit."""
    lists = taxonomy.expand(["Bacteria"])
    assert len(lists.include) > 500_000
    path = database["dir"] / "bacteria.taxids"
    write_taxid_list(path, lists.include)
    hits = _hits(_blastn(database, "-taxidlist", path))
    bacterial = set(lists.include.tolist())
    assert {(q, s) for q, s, t, _ in unfiltered if t in bacterial} == {
        (q, s) for q, s, _, _ in hits
    }


def test_blast_refuses_both_lists_at_once_so_expand_gives_one(
    taxonomy: Taxonomy, database: dict
) -> None:
    write_taxid_list(database["dir"] / "a.taxids", [562])
    done = _blastn(database, "-taxidlist", database["dir"] / "a.taxids",
                   "-negative_taxidlist", database["dir"] / "a.taxids")  # fmt: skip
    assert done.returncode != 0 and "incompatible" in done.stderr.lower()
    lists = taxonomy.expand(["Bacteria"], ["Pseudomonadota"])
    assert lists.exclude is None and 1224 not in set(lists.include.tolist())


def test_blast_rejects_a_list_none_of_whose_taxa_are_in_the_database(database: dict) -> None:
    """What the job pipeline must expect (and should say better): BLAST exits with an error
    when no sequence of the database has a listed taxid."""
    write_taxid_list(database["dir"] / "human.taxids", [9606])
    done = _blastn(database, "-taxidlist", database["dir"] / "human.taxids")
    assert done.returncode != 0 and "Taxonomy ID(s) not found" in done.stderr


def _database_taxids(database: dict) -> np.ndarray:
    listed = subprocess.run(
        ["blastdbcmd", "-db", database["db"], "-tax_info"], check=True, capture_output=True,
        text=True,
    ).stdout.splitlines()  # fmt: skip
    return np.array([int(line.split("\t")[0]) for line in listed if line[:1].isdigit()])


def test_lists_cut_to_the_database_give_the_same_hits(
    taxonomy: Taxonomy, database: dict, unfiltered: list
) -> None:
    present = _database_taxids(database)
    assert 0 < len(present) <= 200
    full = taxonomy.expand(["Bacteria"], ["Pseudomonadota"])
    cut = full.restricted_to(present, "demo")
    assert set(cut.include.tolist()) == set(full.include.tolist()) & set(present.tolist())
    paths = {}
    for name, lists in (("full", full), ("cut", cut)):
        paths[name] = database["dir"] / f"{name}.taxids"
        write_taxid_list(paths[name], lists.include)
    hits = {name: _hits(_blastn(database, "-taxidlist", path)) for name, path in paths.items()}
    assert hits["cut"] and hits["cut"] == hits["full"]
    nothing_to_drop = taxonomy.expand([], ["Homo sapiens"]).restricted_to(present, "demo")
    assert nothing_to_drop.include is None and nothing_to_drop.exclude is None
    with pytest.raises(BlastDeckError) as exc:
        taxonomy.expand(["Homo sapiens"]).restricted_to(present, "demo")
    assert exc.value.code == ErrorCode.TAXON_FILTER_EMPTY and "demo" in exc.value.message


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sorted_intersection_is_numpys_on_sorted_unique_taxids(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for size_a, size_b in ((0, 5), (5, 0), (1, 1), (300, 40), (40, 300), (5000, 5000)):
        a = np.unique(rng.integers(1, 3 * max(size_a, 1), size_a, dtype=np.int64))
        b = np.unique(rng.integers(1, 3 * max(size_b, 1), size_b, dtype=np.int64))
        got = sorted_intersection(a, b)
        assert got.dtype == np.int64 and got.tolist() == np.intersect1d(a, b).tolist()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_in_sorted_is_numpys_isin_for_values_in_any_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for size_values, size_ordered in ((0, 5), (5, 0), (1, 1), (300, 40), (40, 300), (5000, 500)):
        values = rng.integers(1, 3 * max(size_values, 1), size_values, dtype=np.int64)
        ordered = np.unique(rng.integers(1, 3 * max(size_ordered, 1), size_ordered))
        got = in_sorted(values, ordered)
        assert got.dtype == bool and got.tolist() == np.isin(values, ordered).tolist()
