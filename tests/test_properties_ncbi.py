"""Property tests (hypothesis) for NCBI's BLAST URL API translation (blastdeck.ncbi_api).

Whatever Blast.cgi parameters arrive, translating them answers a job request or a
BlastDeckError; a search written as NCBI parameters (as Biopython's qblast writes them) means
the same options as the same search sent to the REST API; and the pages BlastDeck writes read
back, through Biopython's own parser, as what was written (RID and RTOE, status, error)."""

from __future__ import annotations

import html
import io
import re
from urllib.parse import parse_qsl, urlencode

from Bio.Blast import NCBIWWW
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.options import validate_options
from blastdeck.domain.pipeline_model import Phase
from blastdeck.domain.programs import Program
from blastdeck.job_service import SubmitRequest
from blastdeck.ncbi_api import (
    FORMAT_TYPES,
    error_page,
    put_page,
    put_request,
    report,
    search_status,
    status_page,
)

PROPERTIES = settings(
    max_examples=300,
    deadline=None,
    derandomize=False,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
PARAMETERS = (
    "CMD", "RID", "TOKEN", "PROGRAM", "DATABASE", "QUERY", "SERVICE", "MEGABLAST", "EXPECT",
    "HITLIST_SIZE", "WORD_SIZE", "MATRIX_NAME", "GAPCOSTS", "FILTER", "PERC_IDENT",
    "NUCL_REWARD", "NUCL_PENALTY", "THRESHOLD", "ENTREZ_QUERY", "FORMAT_TYPE", "FORMAT_OBJECT",
    "ALIGNMENT_VIEW", "JOB_TITLE",
)  # fmt: skip
PROGRAMS = ("blastn", "blastp", "blastx", "tblastn", "tblastx")
TEXT = st.text(st.characters(codec="utf-8"), max_size=30)
VALUES = st.one_of(
    TEXT,
    st.sampled_from(
        ["", " ", "on", "ON", "true", "L", "F", "m L", "none", "(None)", "11 1", "11  1 ", "1e-5",
         "-3", "XML", "Text", "Tabular", "megablast", "plain", "blastn", "BLASTP", "psi", "x;y"]
    ),
)  # fmt: skip
ANY_PARAMS = st.dictionaries(st.one_of(st.sampled_from(PARAMETERS), TEXT), VALUES, max_size=12)


def through_http(params: dict[str, str]) -> dict[str, str]:
    """What the router hands the translator: a form, URL-encoded and decoded, names in capitals."""
    return {name.upper(): value for name, value in parse_qsl(urlencode(params), True)}


@PROPERTIES
@given(params=ANY_PARAMS)
@example(params={"PROGRAM": "blastn", "GAPCOSTS": "11 1 1"})
@example(params={"PROGRAM": "blastp", "FILTER": "L F"})
@example(params={"PROGRAM": "blastn", "SERVICE": "psi"})
@example(params={"ENTREZ_QUERY": "human[orgn]"})
def test_any_parameters_are_a_request_or_our_error(params: dict[str, str]) -> None:
    params = through_http(params)
    try:
        request = put_request(params)
    except BlastDeckError as exc:
        assert exc.code in (ErrorCode.UNSUPPORTED_PARAMETER, ErrorCode.INVALID_OPTION_VALUE)
        assert exc.field in params, (exc.field, params)  # names the parameter to change
        assert exc.message and len(exc.message) < 500
        return
    assert isinstance(request, SubmitRequest)
    for text in (request.program, request.query):
        assert isinstance(text, str)
    # DATABASE: one name, or several separated by whitespace (searched as one)
    names = params.get("DATABASE", "").split()
    if len(names) > 1:
        assert request.database is None and request.databases == names
    else:
        assert request.database == params.get("DATABASE", "").strip()
    assert request.query == params.get("QUERY", "")
    assert all(isinstance(v, str) for v in (request.options or {}).values())
    if request.program in PROGRAMS:  # what the job service does next
        try:
            validate_options(Program(request.program), request.options)
        except BlastDeckError as exc:
            assert exc.code in (ErrorCode.OPTION_NOT_ALLOWED, ErrorCode.INVALID_OPTION_VALUE)


@PROPERTIES
@given(params=ANY_PARAMS)
def test_any_format_parameters_are_a_format_or_our_error(params: dict[str, str]) -> None:
    params = through_http(params)
    try:
        wanted = report(params)
    except BlastDeckError as exc:
        assert exc.code is ErrorCode.UNKNOWN_FORMAT and exc.field == "FORMAT_TYPE"
        return
    assert wanted in FORMAT_TYPES.values()


@PROPERTIES
@given(
    name=st.sampled_from([*FORMAT_TYPES, "Text", "Html", "xml2_s", "Json2", "Asn.1"]),
    tabular=st.booleans(),
    spaces=st.sampled_from(["", " ", "\t"]),
    case=st.sampled_from([str.upper, str.lower, str.title, str]),
)
def test_every_format_type_a_client_writes_is_understood(
    name: str, tabular: bool, spaces: str, case
) -> None:  # type: ignore[no-untyped-def]
    params = {"FORMAT_TYPE": spaces + case(name) + spaces}
    if tabular:
        params["ALIGNMENT_VIEW"] = spaces + case("Tabular") + spaces
    expected = FORMAT_TYPES[name.upper()]
    if tabular and name.upper() == "TEXT":
        expected = FORMAT_TYPES["TABULAR"]
    assert report(through_http(params)) is expected


def number_text(values: st.SearchStrategy[float | int]) -> st.SearchStrategy[str]:
    return values.flatmap(
        lambda x: st.sampled_from([str(x), f"{x:g}", f" {x} "] if x == x else [str(x)])
    )


@st.composite
def ncbi_search(draw: st.DrawFn) -> tuple[dict[str, str], str, dict[str, object]]:
    """A search as NCBI parameters (the way Biopython's qblast writes them), with the program
    and REST API options that mean the same search."""
    program = draw(st.sampled_from(PROGRAMS))
    params = {"CMD": "Put", "PROGRAM": program, "DATABASE": "demo", "QUERY": ">q\nACGT\n"}
    options: dict[str, object] = {}
    if draw(st.booleans()):
        params["EXPECT"] = options["evalue"] = draw(number_text(st.floats(1e-300, 1e6)))
    if draw(st.booleans()):
        params["HITLIST_SIZE"] = options["max_target_seqs"] = draw(
            number_text(st.integers(1, 5000))
        )
    if draw(st.booleans()):
        low = 4 if program == "blastn" else 2
        params["WORD_SIZE"] = options["word_size"] = str(draw(st.integers(low, 7)))
    protein_scored = program != "blastn"
    if protein_scored and draw(st.booleans()):
        matrix = draw(st.sampled_from(["BLOSUM45", "BLOSUM62", "PAM30", "PAM250", "BLOSUM80"]))
        params["MATRIX_NAME"] = options["matrix"] = matrix
    if program != "tblastx" and draw(st.booleans()):
        gap_open, gap_extend = draw(st.integers(0, 32)), draw(st.integers(0, 32))
        separator = draw(st.sampled_from([" ", "  ", "\t"]))
        params["GAPCOSTS"] = f"{gap_open}{separator}{gap_extend}"
        options["gapopen"], options["gapextend"] = str(gap_open), str(gap_extend)
    if program == "blastn" and draw(st.booleans()):
        params["PERC_IDENT"] = options["perc_identity"] = draw(number_text(st.floats(0, 100)))
    if program == "blastn" and draw(st.booleans()):
        params["NUCL_REWARD"] = options["reward"] = str(draw(st.integers(1, 5)))
        params["NUCL_PENALTY"] = options["penalty"] = str(draw(st.integers(-5, -1)))
    if protein_scored and draw(st.booleans()):
        params["THRESHOLD"] = options["threshold"] = draw(number_text(st.floats(0.5, 30)))
    if draw(st.booleans()):
        on = draw(st.booleans())
        params["FILTER"] = draw(st.sampled_from(["L", "T", "m L", "L;m;"] if on else ["F", "none"]))
        options["dust" if program == "blastn" else "seg"] = "yes" if on else "no"
    if program == "blastn" and draw(st.booleans()):
        megablast = draw(st.booleans())
        if megablast and draw(st.booleans()):
            params["MEGABLAST"] = draw(st.sampled_from(["on", "yes", "true", "ON", " on "]))
        elif megablast:
            params["SERVICE"] = draw(st.sampled_from(["megablast", "MegaBlast", " megablast "]))
        else:
            params["SERVICE"] = "plain"
        options["task"] = "megablast" if megablast else "blastn"
    return params, program, options


def outcome(program: str, options: dict[str, object]) -> object:
    try:
        return validate_options(Program(program), options)
    except BlastDeckError as exc:
        return (exc.code, exc.message)


@PROPERTIES
@given(search=ncbi_search())
def test_an_ncbi_search_means_what_the_same_rest_search_means(
    search: tuple[dict[str, str], str, dict[str, object]],
) -> None:
    params, program, options = search
    request = put_request(through_http(params))
    assert (request.program, request.database) == (program, "demo")
    assert request.query == ">q\nACGT\n"
    assert outcome(program, request.options or {}) == outcome(program, options)


RIDS = st.uuids().map(str)


@PROPERTIES
@given(rid=RIDS, rtoe=st.integers(1, 10**6))
def test_the_put_page_reads_back_as_its_rid_and_rtoe(rid: str, rtoe: int) -> None:
    page = put_page(rid, rtoe).encode()
    assert NCBIWWW._parse_qblast_ref_page(io.BytesIO(page)) == (rid, rtoe)


@PROPERTIES
@given(
    phase=st.one_of(st.none(), st.sampled_from(list(Phase))),
    hits=st.one_of(st.none(), st.booleans()),
    message=TEXT,
)
def test_the_status_page_reads_back_as_its_status(
    phase: Phase | None, hits: bool | None, message: str
) -> None:
    status = search_status(phase)
    page = status_page(status, hits, message)
    # Biopython's qblast: the text after "Status=", up to the line end; then ThereAreHits.
    found = re.findall(r"Status=(.*)\n", page)
    assert [s.strip() for s in found] == [status]
    if hits is not None:
        assert re.findall(r"ThereAreHits=(.*)\n", page) == ["yes" if hits else "no"]
    assert message == "" or ("<p>" in page and "<script" not in page.lower())


@PROPERTIES
@given(
    code=st.sampled_from(list(ErrorCode)),
    message=st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200),
)
@example(code=ErrorCode.INVALID_FASTA, message="line one\nline two")
@example(code=ErrorCode.INVALID_FASTA, message="</div><script>alert(1)</script>")
def test_an_error_page_reads_back_as_its_message(code: ErrorCode, message: str) -> None:
    """Biopython shows the `error msInf` div's text: the whole message, whatever it holds."""
    page = error_page(BlastDeckError(code, message)).encode()
    try:
        NCBIWWW._parse_qblast_ref_page(io.BytesIO(page))
    except ValueError as exc:
        shown = str(exc).removeprefix("Error message from NCBI: ")
    else:
        raise AssertionError("an error page parsed as a submitted search")
    expected = " ".join(f"Message ID#1 Error: [{code.value}] {message}".split())
    assert " ".join(html.unescape(shown).split()) == expected
    assert "<script" not in page.decode().lower().replace("&lt;script", "")
