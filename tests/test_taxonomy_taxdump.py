"""The taxonomy service on an operator's NCBI taxdump (BLASTDECK_TAXONOMY_DIR): a small dump
in NCBI's exact format, read, indexed, cached, and every answer checked against the dump."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.taxon_filter import TaxonRef
from blastdeck.taxonomy import Taxonomy, read_taxid_list, write_taxid_list
from blastdeck.taxonomy import embedded as embedded_source
from tests.support.taxdump import MERGED, NODES, subtree, write_taxdump


@pytest.fixture(scope="module")
def dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_taxdump(tmp_path_factory.mktemp("taxdump"))


@pytest.fixture(scope="module")
def taxonomy(dump: Path, tmp_path_factory: pytest.TempPathFactory) -> Taxonomy:
    taxonomy = Taxonomy(tmp_path_factory.mktemp("cache"), dump)
    report = taxonomy.ensure_ready()
    assert report.built and report.taxa == len(NODES)
    return taxonomy


def _code(exc: pytest.ExceptionInfo[BlastDeckError]) -> ErrorCode:
    return exc.value.code


# -- one taxon ------------------------------------------------------------------------------


def test_get_gives_names_rank_and_lineage_at_the_standard_ranks(taxonomy: Taxonomy) -> None:
    taxon = taxonomy.get(83333)
    assert (taxon.taxid, taxon.scientific_name, taxon.rank) == (
        83333,
        "Escherichia coli K-12",
        "strain",
    )
    assert taxon.parent_taxid == 562
    assert {
        rank: (ref.taxid, ref.name) if ref else None for rank, ref in taxon.lineage.items()
    } == {
        "superkingdom": (2, "Bacteria"),
        "phylum": (1224, "Pseudomonadota"),
        "class": (1236, "Gammaproteobacteria"),
        "order": (91347, "Enterobacterales"),
        "family": (543, "Enterobacteriaceae"),
        "genus": (561, "Escherichia"),
        "species": (562, "Escherichia coli"),
    }
    assert [e.taxid for e in taxon.full_lineage] == [
        131567,
        2,
        1224,
        1236,
        91347,
        543,
        561,
        562,
        83333,
    ]
    assert taxon.full_lineage[0].rank == "no rank"
    assert (taxon.child_count, taxon.descendant_count, taxon.merged_from) == (0, 0, None)


def test_a_lineage_skips_ranks_a_taxon_lacks_and_intermediate_ones(taxonomy: Taxonomy) -> None:
    human = taxonomy.get(9606)
    assert human.lineage["order"].name == "Primates"  # not the superorder above it
    assert "Euarchontoglires" in [e.name for e in human.full_lineage]
    assert taxonomy.get(2).lineage == {
        "superkingdom": taxonomy.get(2).lineage["superkingdom"],
        **dict.fromkeys(("phylum", "class", "order", "family", "genus", "species")),
    }
    assert taxonomy.get(2).lineage["superkingdom"].taxid == 2


def test_common_names_prefer_genbank_then_common_then_blast_name(taxonomy: Taxonomy) -> None:
    assert taxonomy.get(9606).common_name == "human"  # genbank common name over "man"
    assert taxonomy.get(10090).common_name == "house mouse"
    assert taxonomy.get(562).common_name == "E. coli"  # a common name only
    assert taxonomy.get(2).common_name == "eubacteria"  # genbank common name over blast name
    assert taxonomy.get(91347).common_name == "enterobacteria"  # a blast name only
    assert taxonomy.get(543).common_name is None


def test_merged_taxids_resolve_to_the_current_one(taxonomy: Taxonomy) -> None:
    for old, new in MERGED:
        taxon = taxonomy.get(old)
        assert (taxon.taxid, taxon.merged_from) == (new, old)
        assert taxonomy.resolve(old) == new
        assert taxonomy.resolve(str(old)) == new
        assert taxonomy.canonical(old) == new


def test_unknown_taxids_are_unknown_taxon(taxonomy: Taxonomy) -> None:
    for taxid in (3, 99_999_999, 2**31 - 1, 0, -5):
        with pytest.raises(BlastDeckError) as exc:
            taxonomy.get(taxid)
        assert _code(exc) == ErrorCode.UNKNOWN_TAXON and exc.value.http_status == 404


def test_children_and_descendants(taxonomy: Taxonomy) -> None:
    assert taxonomy.children(543) == [561, 590]
    assert taxonomy.children(1) == [131567]
    assert sorted(taxonomy.children(131567)) == [2, 2759]
    for taxid, *_ in NODES:
        found = taxonomy.descendants(taxid)
        assert found[0] == taxid
        assert set(found.tolist()) == subtree(taxid), taxid
        assert len(found) == len(set(found.tolist()))
        assert taxonomy.get(taxid).descendant_count == len(found) - 1


# -- names ----------------------------------------------------------------------------------


def test_resolve_taxids_scientific_names_any_case_and_blanks(taxonomy: Taxonomy) -> None:
    assert taxonomy.resolve(562) == 562
    assert taxonomy.resolve("562") == 562
    assert taxonomy.resolve(" txid562 ") == 562
    assert taxonomy.resolve("Escherichia coli") == 562
    assert taxonomy.resolve("  escherichia   COLI ") == 562
    assert taxonomy.resolve("Escherichia coli K-12") == 83333


def test_resolve_falls_back_to_a_common_name_or_synonym_only_one_taxon_has(
    taxonomy: Taxonomy,
) -> None:
    assert taxonomy.resolve("human") == 9606
    assert taxonomy.resolve("Man") == 9606
    assert taxonomy.resolve("mouse") == 10090
    assert taxonomy.resolve("Bacillus coli") == 562
    assert taxonomy.resolve("Proteobacteria") == 1224
    assert taxonomy.resolve("vibrio subtilis") == 1423
    assert taxonomy.resolve("enterobacteria") == 91347  # a blast name


def test_names_of_classes_blastdeck_ignores_do_not_resolve(taxonomy: Taxonomy) -> None:
    for ignored in (
        "Escherichia coli (Migula 1895) Castellani and Chalmers 1919",
        "Monera",
        "ATCC 11775",
        "LK3 transgenic mice",
        "Bacillus <bacterium>",
    ):
        with pytest.raises(BlastDeckError) as exc:
            taxonomy.resolve(ignored)
        assert _code(exc) == ErrorCode.UNKNOWN_TAXON


def test_a_homonym_is_ambiguous_and_lists_every_taxon_with_its_place(taxonomy: Taxonomy) -> None:
    with pytest.raises(BlastDeckError) as exc:
        taxonomy.resolve("bacillus", field="options.taxids")
    assert _code(exc) == ErrorCode.AMBIGUOUS_TAXON and exc.value.http_status == 422
    assert exc.value.field == "options.taxids"
    message = exc.value.message
    assert "(1386, genus; Bacteria, Bacillota, Bacilli)" in message
    assert "(55087, genus; Eukaryota, Arthropoda, Insecta)" in message
    assert "taxid" in message


def test_an_unknown_name_suggests_close_ones(taxonomy: Taxonomy) -> None:
    cases = {
        "Escherichia colli": "Escherichia coli (562)",  # a slip late in the name
        "Eshcerichia coli": "Escherichia coli (562)",  # two letters swapped early
        "Homo sapeins": "Homo sapiens (9606)",
        "Salmonela enterica": "Salmonella enterica (28901)",
        "Xscherichia": "Escherichia (561)",  # the first letter wrong
    }
    for typed, expected in cases.items():
        with pytest.raises(BlastDeckError) as exc:
            taxonomy.resolve(typed)
        assert _code(exc) == ErrorCode.UNKNOWN_TAXON and exc.value.http_status == 404
        assert exc.value.detail["suggestions"].split("; ")[0] == expected, typed
        assert expected in exc.value.message
    with pytest.raises(BlastDeckError) as exc:
        taxonomy.resolve("Quux flibbertigibbet")
    assert exc.value.detail["suggestions"] == ""
    assert "Did you mean" not in exc.value.message


def test_search_is_by_prefix_any_case_one_item_per_taxon(taxonomy: Taxonomy) -> None:
    found = taxonomy.search("ESCH", 10)
    assert [m.taxid for m in found] == [561, 562, 83333]  # genus, species, strain
    assert all(m.scientific_name.lower().startswith("esch") for m in found)
    assert all(not m.exact for m in found)
    assert len({m.taxid for m in taxonomy.search("e", 50)}) == len(taxonomy.search("e", 50))
    assert taxonomy.search("escherichia coli k-12 x", 10) == []
    assert taxonomy.search("   ", 10) == []


def test_search_puts_exact_names_first_then_bigger_taxa(taxonomy: Taxonomy) -> None:
    bacillus = taxonomy.search("Bacillus", 10)
    assert {m.taxid for m in bacillus[:2]} == {1386, 55087} and all(m.exact for m in bacillus[:2])
    assert bacillus[2].taxid == 1423 and not bacillus[2].exact
    # Bacteria has more taxa under it than Bacillota, Bacilli, Bacillales: it comes first.
    assert taxonomy.search("bac", 3)[0].taxid == 2


def test_search_finds_common_names_and_their_later_words(taxonomy: Taxonomy) -> None:
    human = taxonomy.search("hum", 5)[0]
    assert (human.taxid, human.matched_name, human.name_class) == (9606, "human", "common name")
    mouse = taxonomy.search("mouse", 5)
    assert mouse[0].taxid == 10090 and mouse[0].exact  # NCBI's common name "mouse"
    house = taxonomy.search("house", 5)[0]
    assert (house.taxid, house.matched_name) == (10090, "house mouse")
    coli = taxonomy.search("coli", 5)
    assert [m.taxid for m in coli] == [562] and coli[0].matched_name == "E. coli"
    assert taxonomy.search("vibrio", 5)[0].name_class == "synonym"


def test_search_limit_is_honoured(taxonomy: Taxonomy) -> None:
    assert len(taxonomy.search("e", 2)) == 2
    assert len(taxonomy.search("e", 1)) == 1


# -- filters --------------------------------------------------------------------------------


def test_expand_includes_descendants_minus_exclusions(taxonomy: Taxonomy) -> None:
    lists = taxonomy.expand([543], [562])
    assert lists.exclude is None
    assert lists.include.tolist() == sorted(subtree(543) - subtree(562))
    assert lists.include_taxa == (543,) and lists.exclude_taxa == (562,)
    by_name = taxonomy.expand(["Enterobacteriaceae"], ["Escherichia coli"])
    assert np.array_equal(by_name.include, lists.include)


def test_expand_of_taxa_apart_keeps_only_their_subtrees(taxonomy: Taxonomy) -> None:
    """Included taxa far apart in the tree, an exclusion inside one and one outside both: the
    mask spans the included subtrees' range only, and what lies between them stays out."""
    lists = taxonomy.expand([562, 590, 9606], [83333, 10088])
    assert lists.include.tolist() == sorted(
        (subtree(562) | subtree(590) | subtree(9606)) - subtree(83333)
    )
    # An excluded ancestor (Enterobacterales) takes its included descendants out with it.
    assert taxonomy.expand([562, 590, 9606], [91347]).include.tolist() == sorted(subtree(9606))
    single = taxonomy.expand([TaxonRef(taxid=9606, descendants=False), 562], [])
    assert single.include.tolist() == sorted(subtree(562) | {9606})


def test_expand_with_nothing_included_is_a_negative_list(taxonomy: Taxonomy) -> None:
    lists = taxonomy.expand([], ["Homo sapiens", 10088])
    assert lists.include is None
    assert lists.exclude.tolist() == sorted(subtree(9606) | subtree(10088))
    everything_but = taxonomy.expand([1], [9606])  # the root included: no positive list
    assert everything_but.include is None and everything_but.exclude.tolist() == [9606]
    nothing = taxonomy.expand([], [])
    assert nothing.include is None and nothing.exclude is None


def test_expand_respects_noexp(taxonomy: Taxonomy) -> None:
    alone = taxonomy.expand([TaxonRef(taxid=562, descendants=False)], [])
    assert alone.include.tolist() == [562]
    strains = taxonomy.expand([562], [TaxonRef(taxid=562, descendants=False)])
    assert strains.include.tolist() == [83333]


def test_expand_rejects_one_taxon_in_both_lists_even_named_differently(taxonomy: Taxonomy) -> None:
    for include, exclude in (
        ([562], [562]),
        (["Escherichia coli"], ["562"]),
        ([469598], [562]),
        (["Bacillus coli"], ["escherichia coli"]),
    ):
        with pytest.raises(BlastDeckError) as exc:
            taxonomy.expand(include, exclude)
        assert _code(exc) == ErrorCode.TAXON_FILTER_CONFLICT, (include, exclude)
        assert "562" in exc.value.message and "Escherichia coli" in exc.value.message


def test_expand_rejects_a_filter_that_leaves_nothing(taxonomy: Taxonomy) -> None:
    with pytest.raises(BlastDeckError) as exc:
        taxonomy.expand([562, 590], [2])
    assert _code(exc) == ErrorCode.TAXON_FILTER_EMPTY


def test_expand_reports_unknown_and_ambiguous_names_with_their_field(taxonomy: Taxonomy) -> None:
    with pytest.raises(BlastDeckError) as exc:
        taxonomy.expand(["Escherichia colli"], [])
    assert (_code(exc), exc.value.field) == (ErrorCode.UNKNOWN_TAXON, "options.taxids")
    with pytest.raises(BlastDeckError) as exc:
        taxonomy.expand([2], ["Bacillus"])
    assert (_code(exc), exc.value.field) == (ErrorCode.AMBIGUOUS_TAXON, "options.negative_taxids")


# -- many taxa ------------------------------------------------------------------------------


def test_lineage_names_for_many_taxids(taxonomy: Taxonomy) -> None:
    asked = np.array([562, 83333, 9606, 0, 1637912, 123456789, 562, 2, 1])
    table = taxonomy.lineage_names(asked)
    assert table.taxids.tolist() == [0, 1, 2, 562, 9606, 83333, 1637912, 123456789]
    rows = {int(t): table.row(i) for i, t in enumerate(table.taxids)}
    assert rows[83333]["name"] == "Escherichia coli K-12" and rows[83333]["rank"] == "strain"
    assert rows[83333]["species"] == {"taxid": 562, "name": "Escherichia coli"}
    assert rows[83333]["superkingdom"] == {"taxid": 2, "name": "Bacteria"}
    assert rows[9606]["order"] == {"taxid": 9443, "name": "Primates"}
    assert rows[1637912]["current_taxid"] == 562 and rows[1637912]["genus"]["name"] == "Escherichia"
    for unknown in (0, 123456789):
        assert rows[unknown]["name"] is None and rows[unknown]["species"] is None
    assert rows[1]["name"] == "root" and rows[1]["superkingdom"] is None
    assert table.taxids[table.rows_for(asked)].tolist() == asked.tolist()
    for taxid, *_ in NODES:  # the vectorised walk agrees with get() for every taxon
        taxon = taxonomy.get(taxid)
        row = taxonomy.lineage_names([taxid]).row(0)
        assert {r: row[r]["taxid"] if row[r] else None for r in taxon.lineage} == {
            r: ref.taxid if ref else None for r, ref in taxon.lineage.items()
        }


# -- formats and failures -------------------------------------------------------------------


@pytest.mark.parametrize(("domain_rank", "nodes_fields"), [("domain", 18), ("superkingdom", 18)])
def test_newer_taxdump_formats(tmp_path: Path, domain_rank: str, nodes_fields: int) -> None:
    """2023 on: 18 columns in nodes.dmp; 2025 on: "domain" where "superkingdom" was."""
    dump = write_taxdump(tmp_path / "dump", domain_rank=domain_rank, nodes_fields=nodes_fields)
    taxonomy = Taxonomy(tmp_path / "cache", dump)
    taxon = taxonomy.get(562)
    assert taxon.lineage["superkingdom"].name == "Bacteria"
    assert taxonomy.get(2).rank == domain_rank
    assert taxonomy.lineage_names([562]).row(0)["superkingdom"]["taxid"] == 2


def test_merged_dmp_is_optional(tmp_path: Path) -> None:
    taxonomy = Taxonomy(tmp_path / "cache", write_taxdump(tmp_path / "dump", merged=False))
    assert taxonomy.get(562).taxid == 562
    with pytest.raises(BlastDeckError) as exc:
        taxonomy.get(MERGED[0][0])
    assert _code(exc) == ErrorCode.UNKNOWN_TAXON


def _broken(tmp_path: Path, name: str, text: str | None) -> Taxonomy:
    dump = write_taxdump(tmp_path / "dump")
    if text is None:
        (dump / name).unlink()
    else:
        (dump / name).write_text(text)
    return Taxonomy(tmp_path / "cache", dump)


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("names.dmp", None, "has no names.dmp"),
        ("nodes.dmp", None, "has no nodes.dmp"),
        ("nodes.dmp", "1\t|\t1\t|\tno rank\t|\n562 561 species\n", "nodes.dmp:2"),
        ("nodes.dmp", "1\t|\t1\t|\tno rank\t|\nabc\t|\t1\t|\tgenus\t|\n", "'abc' is not a taxid"),
        ("nodes.dmp", "1\t|\t1\t|\tno rank\t|\n2\t|\t2\t|\tno rank\t|\n", "exactly one root"),
        ("nodes.dmp", "1\t|\t1\t|\tno rank\t|\n562\t|\t561\t|\tspecies\t|\n", "not a taxon"),
        ("names.dmp", "1\t|\troot\t|\t\t|\tscientific name\t|\n", "no scientific name"),
        ("merged.dmp", "12\t|\n", "merged.dmp:1"),
    ],
)
def test_a_broken_taxdump_is_taxonomy_unavailable(
    tmp_path: Path, name: str, text: str | None, says: str
) -> None:
    taxonomy = _broken(tmp_path, name, text)
    with pytest.raises(BlastDeckError) as exc:
        taxonomy.ensure_ready()
    assert _code(exc) == ErrorCode.TAXONOMY_UNAVAILABLE and exc.value.http_status == 503
    assert says in exc.value.message
    # Nothing half-built is left behind (only the lock file the build takes).
    left = [p.name for p in (tmp_path / "cache").glob("*") if p.name != ".build.lock"]
    assert left == []


def test_a_missing_taxdump_dir_is_taxonomy_unavailable(tmp_path: Path) -> None:
    with pytest.raises(BlastDeckError) as exc:
        Taxonomy(tmp_path / "cache", tmp_path / "nowhere").get(562)
    assert _code(exc) == ErrorCode.TAXONOMY_UNAVAILABLE and "does not exist" in exc.value.message


# -- the cache ------------------------------------------------------------------------------


def test_the_index_is_built_once_and_reopened_without_reading_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dump = write_taxdump(tmp_path / "dump")
    first = Taxonomy(tmp_path / "cache", dump).ensure_ready()
    assert first.built and first.build_seconds > 0

    def no_reading(_: Path) -> None:
        raise AssertionError("the source was read again")

    monkeypatch.setattr("blastdeck.taxonomy.taxdump.load", no_reading)
    monkeypatch.setattr(embedded_source, "load", no_reading)
    again = Taxonomy(tmp_path / "cache", dump)
    report = again.ensure_ready()
    assert not report.built and report.path == first.path
    assert report.build_seconds == first.build_seconds
    assert again.get(562).scientific_name == "Escherichia coli"


def test_a_changed_taxdump_is_indexed_again_and_the_old_index_dropped(tmp_path: Path) -> None:
    dump = write_taxdump(tmp_path / "dump")
    first = Taxonomy(tmp_path / "cache", dump).ensure_ready()
    names = dump / "names.dmp"
    names.write_text(names.read_text().replace("\tEscherichia coli\t", "\tEscherichia coli X\t"))
    stat = names.stat()
    os.utime(names, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    changed = Taxonomy(tmp_path / "cache", dump)
    report = changed.ensure_ready()
    assert report.built and report.path != first.path
    assert changed.get(562).scientific_name == "Escherichia coli X"
    assert not first.path.exists()


# -- taxid list files -----------------------------------------------------------------------


def test_taxid_lists_are_written_one_per_line_sorted_and_atomically(tmp_path: Path) -> None:
    target = tmp_path / "taxids.txt"
    target.write_text("stale\n")
    assert write_taxid_list(target, np.array([562, 2, 562, 83333])) == 3
    assert target.read_text() == "2\n562\n83333\n"
    assert read_taxid_list(target).tolist() == [2, 562, 83333]
    assert write_taxid_list(target, iter([9606])) == 1
    assert target.read_text() == "9606\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taxids.txt"]  # no temporary left
    for bad in ([0], [2**31]):
        with pytest.raises(ValueError):
            write_taxid_list(target, bad)
    assert target.read_text() == "9606\n"  # a failed write leaves the old list whole


# -- any input ------------------------------------------------------------------------------

_ANSWERS = {ErrorCode.UNKNOWN_TAXON, ErrorCode.AMBIGUOUS_TAXON, ErrorCode.INVALID_TAXON_FILTER}


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.text(max_size=250),
        st.integers(-(2**40), 2**40),
        st.sampled_from(["Bacillus", "bacillus  ", "txid562", "E. coli", "mouse", "562 "]),
    ),
    st.integers(-5, 500),
)
def test_any_input_resolves_searches_or_raises_only_our_errors(
    taxonomy: Taxonomy, value: str | int, limit: int
) -> None:
    try:
        taxid = taxonomy.resolve(value)
    except BlastDeckError as exc:
        assert exc.code in _ANSWERS and exc.message
    else:
        assert taxonomy.get(taxid).taxid == taxid
    if isinstance(value, str):
        found = taxonomy.search(value, limit)
        assert len(found) <= max(1, min(limit, 100))
        assert len({m.taxid for m in found}) == len(found)
        key = " ".join(value.split()).lower()
        assert all(key in m.matched_name.lower() for m in found)
