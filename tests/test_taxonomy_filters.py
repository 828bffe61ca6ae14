"""The job's taxon filter options and NCBI's ENTREZ_QUERY, parsed into one TaxonFilter: the
forms clients send, the errors for everything else, and property tests (only our errors, for
any input; parse(format(f)) == f)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blastdeck.domain.entrez_query import (
    MAX_QUERY_CHARS,
    format_entrez_query,
    parse_entrez_query,
)
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.taxon_filter import (
    MAX_LIST_CHARS,
    MAX_NAME_CHARS,
    MAX_TAXA_PER_LIST,
    MAX_TAXID,
    TaxonFilter,
    TaxonRef,
    format_taxon_list,
    make_taxon_filter,
    parse_taxon_list,
    parse_taxon_ref,
    taxon_filter_from_options,
)

FILTER_CODES = {
    ErrorCode.INVALID_TAXON_FILTER,
    ErrorCode.TAXON_FILTER_CONFLICT,
    ErrorCode.UNSUPPORTED_ENTREZ_QUERY,
}


def t(taxid: int, descendants: bool = True) -> TaxonRef:
    return TaxonRef(taxid=taxid, descendants=descendants)


def n(name: str, descendants: bool = True) -> TaxonRef:
    return TaxonRef(name=name, descendants=descendants)


# -- job options ----------------------------------------------------------------------------


def test_options_take_lists_and_comma_separated_strings() -> None:
    spec = taxon_filter_from_options(
        [562, "590", "txid2", " Escherichia   coli "], "Homo sapiens, 10090,, "
    )
    assert spec.include == (t(562), t(590), t(2), n("Escherichia coli"))
    assert spec.exclude == (n("Homo sapiens"), t(10090))
    assert taxon_filter_from_options(562) == TaxonFilter(include=(t(562),))
    assert taxon_filter_from_options(None, None).is_empty


def test_options_drop_duplicates_case_insensitively() -> None:
    spec = taxon_filter_from_options(["E. coli", "e. COLI", 562, "562", "txid562"])
    assert spec.include == (n("E. coli"), t(562))


@pytest.mark.parametrize(
    ("taxids", "says"),
    [
        ([0], "from 1 to"),
        ([MAX_TAXID + 1], "from 1 to"),
        ([True], "not bool"),
        ([1.5], "not float"),
        ([[562]], "not list"),
        ({"taxid": 562}, "as a list"),
        ([""], "cannot be empty"),
        (["   "], "cannot be empty"),
        ("", "empty"),
        (" , ,", "empty"),
        (["x" * (MAX_NAME_CHARS + 1)], f"at most {MAX_NAME_CHARS} characters"),
        (["Escherichia\x00coli"], "control characters"),
        (list(range(1, MAX_TAXA_PER_LIST + 2)), f"At most {MAX_TAXA_PER_LIST} taxa"),
        ("1," * (MAX_LIST_CHARS // 2 + 1), f"at most {MAX_LIST_CHARS} characters"),
    ],
)
def test_bad_options_are_invalid_taxon_filter(taxids: object, says: str) -> None:
    with pytest.raises(BlastDeckError) as exc:
        taxon_filter_from_options(taxids)
    assert exc.value.code == ErrorCode.INVALID_TAXON_FILTER
    assert exc.value.field == "options.taxids"
    assert says in exc.value.message, exc.value.message


def test_negative_one_is_a_name_not_a_taxid() -> None:
    """ "-5" is no taxid: it is kept as a name and the taxonomy reports it unknown."""
    assert parse_taxon_list(["-5"], "f") == (n("-5"),)


def test_one_taxon_in_both_options_is_a_conflict_naming_it() -> None:
    for taxids, negative in (([562], "562"), (["Escherichia coli"], ["escherichia COLI"])):
        with pytest.raises(BlastDeckError) as exc:
            taxon_filter_from_options(taxids, negative)
        assert exc.value.code == ErrorCode.TAXON_FILTER_CONFLICT
        assert exc.value.field == "options.negative_taxids"
        assert str(taxids[0]) in exc.value.message


def test_a_taxon_kept_with_descendants_may_drop_itself_alone() -> None:
    spec = make_taxon_filter([t(562)], [t(562, descendants=False)])
    assert spec.exclude == (t(562, descendants=False),)
    for kept, dropped in ((t(562, False), t(562)), (t(562, False), t(562, False))):
        with pytest.raises(BlastDeckError) as exc:
            make_taxon_filter([kept], [dropped])
        assert exc.value.code == ErrorCode.TAXON_FILTER_CONFLICT


def test_format_taxon_list_round_trips_and_refuses_commas() -> None:
    refs = (t(562), n("Homo sapiens"), n("Bacillus <bacterium>"))
    assert parse_taxon_list(format_taxon_list(refs), "f") == refs
    with pytest.raises(BlastDeckError) as exc:
        format_taxon_list([n("2,3-D degrading bacterium NHC2")])
    assert exc.value.code == ErrorCode.INVALID_TAXON_FILTER
    assert parse_taxon_list(["2,3-D degrading bacterium NHC2"], "f") == (
        n("2,3-D degrading bacterium NHC2"),
    )


# -- ENTREZ_QUERY ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "include", "exclude"),
    [
        ("txid561[ORGN]", [t(561)], []),
        ("txid561 [orgn]", [t(561)], []),
        ("Escherichia coli[Organism]", [n("Escherichia coli")], []),
        ('"Escherichia coli"[organism]', [n("Escherichia coli")], []),
        (
            '"Abutilon mosaic virus - [WEST INDIA]"[ORGN]',
            [n("Abutilon mosaic virus - [WEST INDIA]")],
            [],
        ),
        ("txid562[ORGN:noexp]", [t(562, False)], []),
        ("txid562[Organism:exp]", [t(562)], []),
        (
            "txid561[ORGN] OR txid590[ORGN] OR Homo sapiens[orgn]",
            [t(561), t(590), n("Homo sapiens")],
            [],
        ),
        ("txid2[ORGN] NOT txid562[ORGN]", [t(2)], [t(562)]),
        ("txid2[ORGN] NOT txid562[ORGN] NOT txid590[ORGN]", [t(2)], [t(562), t(590)]),
        ("NOT txid9606[ORGN]", [], [t(9606)]),
        ("all[filter] NOT txid9606[ORGN]", [], [t(9606)]),
        ("all [Filter] NOT (txid9606[ORGN] OR txid10090[ORGN])", [], [t(9606), t(10090)]),
        ("(txid561[ORGN] OR txid590[ORGN]) NOT (txid562[ORGN])", [t(561), t(590)], [t(562)]),
        ("((txid561[ORGN]))", [t(561)], []),
        ("(all[filter] NOT txid9606[ORGN])", [], [t(9606)]),
        ("txid562[ORGN] NOT txid562[ORGN:noexp]", [t(562)], [t(562, False)]),
        ("  ", [], []),
        ("", [], []),
    ],
)
def test_entrez_queries_clients_send(query: str, include: list, exclude: list) -> None:
    assert parse_entrez_query(query) == TaxonFilter(tuple(include), tuple(exclude))


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("txid2[ORGN] AND txid1224[ORGN]", "AND is not supported"),
        ("biomol_rrna[PROP]", "[PROP] cannot be used"),
        ("Escherichia coli", "has no field"),
        ('"Escherichia coli"', "has no field"),
        ("txid2[ORGN] NOT txid562[ORGN] OR txid590[ORGN]", "OR after NOT"),
        ("(txid2[ORGN] NOT txid562[ORGN]) OR txid590[ORGN]", "NOT inside parentheses"),
        ("(txid2[ORGN]", "never closed"),
        ("txid2[ORGN])", "Unexpected ')'"),
        ('"Escherichia coli[ORGN]', "never closed"),
        ("txid2[ORGN", "never closed"),
        ("[ORGN]", "follows no term"),
        ("all[filter] OR txid2[ORGN]", "Unexpected 'OR'"),
        ("txid2[ORGN] OR all[filter]", "may only start the query"),
        ("txid2[ORGN] txid3[ORGN]", "Unexpected"),
        ("NOT", "ends where an organism was expected"),
        ("txid2[ORGN] OR", "ends where an organism was expected"),
        ("2019[PDAT]", "[PDAT] cannot be used"),
        ("x" * (MAX_QUERY_CHARS + 1), f"at most {MAX_QUERY_CHARS} characters"),
        ("txid2[ORGN]\x00", "control characters"),
    ],
)
def test_entrez_queries_outside_the_grammar_say_what_is_supported(query: str, says: str) -> None:
    with pytest.raises(BlastDeckError) as exc:
        parse_entrez_query(query)
    assert exc.value.code == ErrorCode.UNSUPPORTED_ENTREZ_QUERY
    assert exc.value.field == "ENTREZ_QUERY"
    assert says in exc.value.message, exc.value.message
    assert "Supported: organisms as txid562[ORGN]" in exc.value.message


def test_entrez_terms_are_checked_like_options() -> None:
    for query, code in (
        ("txid0[ORGN]", ErrorCode.INVALID_TAXON_FILTER),
        ('""[ORGN]', ErrorCode.INVALID_TAXON_FILTER),
        ("txid562[ORGN] NOT txid562[ORGN]", ErrorCode.TAXON_FILTER_CONFLICT),
        ("Homo sapiens[ORGN] NOT homo SAPIENS[Organism]", ErrorCode.TAXON_FILTER_CONFLICT),
    ):
        with pytest.raises(BlastDeckError) as exc:
            parse_entrez_query(query)
        assert exc.value.code == code, query


def test_format_entrez_query() -> None:
    assert format_entrez_query(TaxonFilter()) == ""
    spec = TaxonFilter((t(561), n("Salmonella")), (t(562, False),))
    assert (
        format_entrez_query(spec) == '(txid561[ORGN] OR "Salmonella"[ORGN]) NOT txid562[ORGN:noexp]'
    )
    assert format_entrez_query(TaxonFilter((), (t(9606), t(10090)))) == (
        "all[filter] NOT (txid9606[ORGN] OR txid10090[ORGN])"
    )
    with pytest.raises(BlastDeckError) as exc:
        format_entrez_query(TaxonFilter((n('Platycerium sp. "Mount Lewis"'),)))
    assert exc.value.code == ErrorCode.UNSUPPORTED_ENTREZ_QUERY


# -- properties -----------------------------------------------------------------------------

_names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40
)
_refs = st.one_of(
    st.builds(TaxonRef, taxid=st.integers(1, MAX_TAXID), descendants=st.booleans()),
    st.builds(TaxonRef, name=_names, descendants=st.booleans()),
)
_entrez_pieces = st.sampled_from(
    [
        "txid562[ORGN]",
        "Escherichia coli[orgn]",
        '"Homo sapiens"[Organism]',
        "[ORGN:noexp]",
        "(",
        ")",
        " OR ",
        " NOT ",
        " AND ",
        "all[filter]",
        '"',
        "[",
        "]",
        " ",
        "txid",
        "9606",
        "[Title]",
        "or",
        "not",
    ]
)
_option_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=60)),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)


def _normalized(include: list[TaxonRef], exclude: list[TaxonRef]) -> TaxonFilter | None:
    """The filter a parser would produce from these refs (None: they make no valid filter)."""
    try:
        parsed = [
            parse_taxon_ref(
                r.taxid if r.taxid is not None else r.name, "f", descendants=r.descendants
            )
            for r in [*include, *exclude]
        ]
        return make_taxon_filter(parsed[: len(include)], parsed[len(include) :])
    except BlastDeckError:
        return None


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_refs, max_size=4), st.lists(_refs, max_size=4))
def test_entrez_format_then_parse_gives_the_filter_back(include: list, exclude: list) -> None:
    spec = _normalized(include, exclude)
    if spec is None or any('"' in (r.name or "") for r in [*spec.include, *spec.exclude]):
        return
    assert parse_entrez_query(format_entrez_query(spec)) == spec


@settings(max_examples=300)
@given(st.lists(_refs, max_size=6))
def test_taxon_list_format_then_parse_gives_the_refs_back(refs: list) -> None:
    spec = _normalized([TaxonRef(r.taxid, r.name) for r in refs], [])
    if spec is None or any("," in (r.name or "") for r in spec.include) or not spec.include:
        return
    assert parse_taxon_list(format_taxon_list(spec.include), "f") == spec.include


@settings(max_examples=500)
@given(st.one_of(st.text(max_size=200), st.lists(_entrez_pieces, max_size=12).map("".join)))
def test_any_entrez_query_parses_or_raises_only_our_errors(query: str) -> None:
    try:
        spec = parse_entrez_query(query)
    except BlastDeckError as exc:
        assert exc.code in FILTER_CODES and exc.message
        return
    assert isinstance(spec, TaxonFilter)
    if not any('"' in (r.name or "") for r in [*spec.include, *spec.exclude]):
        assert parse_entrez_query(format_entrez_query(spec)) == spec


@settings(max_examples=500)
@given(_option_values, _option_values)
def test_any_option_values_parse_or_raise_only_our_errors(taxids: object, negative: object) -> None:
    try:
        spec = taxon_filter_from_options(taxids, negative)
    except BlastDeckError as exc:
        assert exc.code in FILTER_CODES and exc.field in (
            "options.taxids",
            "options.negative_taxids",
        )
        return
    for ref in [*spec.include, *spec.exclude]:
        assert (ref.taxid is None) != (ref.name is None)
        assert ref.taxid is None or 1 <= ref.taxid <= MAX_TAXID
        assert ref.name is None or (ref.name == " ".join(ref.name.split()) and ref.name)
