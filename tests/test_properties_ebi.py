"""Property tests (hypothesis) for the translation of EBI's REST API (blastdeck.ebi_api).

Whatever form fields run/ receives, translating them answers a job request or a BlastDeckError
that names the field; a request's options are ones the job service checks with its own errors;
and every XML document written (errors, parameter details) parses, with EBI's client's parser
too, back to what was written."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl, urlencode

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from xmltramp2 import xmltramp

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.options import validate_options
from blastdeck.domain.pipeline_model import Phase
from blastdeck.domain.programs import Program
from blastdeck.ebi_api import (
    PARAMETERS,
    error_xml,
    job_status,
    parameter_details_xml,
    run_request,
    xml_text,
)
from blastdeck.job_service import SubmitRequest
from blastdeck.job_taxa import split_taxon_options

PROPERTIES = settings(
    max_examples=300,
    deadline=None,
    derandomize=False,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
NAMES = (*(p.name for p in PARAMETERS), "email", "title")
TEXT = st.text(st.characters(codec="utf-8"), max_size=30)
VALUES = st.one_of(
    TEXT,
    st.sampled_from(
        ["", " ", "blastn", "blastp", "blastx", "tblastn", "tblastx", "megablast", "protein",
         "dna", "nucleotide", "T", "F", "true", "false", "D", "0", "1", "2", "-1", "50", "1e-5",
         "1,-3", "1,-3,2", "START-END", "10-50", "NONE", "BLOSUM62", "a@b.c", "9606"]
    ),
)  # fmt: skip
ANY_PARAMS = st.dictionaries(st.one_of(st.sampled_from(NAMES), TEXT), VALUES, max_size=14)
REQUEST_ERRORS = {
    ErrorCode.UNSUPPORTED_PARAMETER,
    ErrorCode.INVALID_OPTION_VALUE,
    ErrorCode.INVALID_REQUEST,
    ErrorCode.UNKNOWN_PROGRAM,
}


def through_http(params: dict[str, str]) -> dict[str, str]:
    """What the router hands the translator: a form, URL-encoded and decoded."""
    return dict(parse_qsl(urlencode(params), True))


@PROPERTIES
@given(params=ANY_PARAMS)
@example(params={"email": "a@b", "program": "blastx", "stype": "dna", "task": "blastn"})
@example(params={"email": "a@b", "program": "tblastx", "gapalign": "false", "compstats": "2"})
@example(params={"email": "a@b", "program": "blastn", "alignments": "99999999999"})
def test_any_form_is_a_request_or_our_error(params: dict[str, str]) -> None:
    params = through_http(params)
    try:
        request = run_request(params)
    except BlastDeckError as exc:
        assert exc.code in REQUEST_ERRORS, exc.code
        if exc.code is not ErrorCode.UNKNOWN_PROGRAM:
            assert exc.field is not None and exc.field[:40] in {k[:40] for k in params} | {
                "email",
                "program",
            }
        assert exc.message and len(exc.message) < 600
        ET.fromstring(error_xml(exc))  # always a well-formed body
        return
    assert isinstance(request, SubmitRequest)
    assert request.query == params.get("sequence", "")
    assert "@" in params["email"]
    blast_options, _ = split_taxon_options(request.options)
    try:  # what the job service does next: its own errors, nothing else
        validate_options(Program(request.program), blast_options)
    except BlastDeckError as exc:
        assert exc.code in (ErrorCode.OPTION_NOT_ALLOWED, ErrorCode.INVALID_OPTION_VALUE)


@PROPERTIES
@given(message=st.text(st.characters(codec="utf-8"), min_size=1, max_size=200))
def test_an_error_body_reads_back_through_ebis_client_parser(message: str) -> None:
    error = BlastDeckError(ErrorCode.INVALID_OPTION_VALUE, message)
    body = error_xml(error)
    described = str(xmltramp.parse(body)[0][0])
    assert described == xml_text(f"[invalid_option_value] {' '.join(message.split())}")


@PROPERTIES
@given(
    databases=st.lists(
        st.tuples(
            st.from_regex(r"@?[A-Za-z0-9_.~-]{1,20}(/[A-Za-z0-9_.-]{1,20})?", fullmatch=True), TEXT
        ),
        max_size=5,
    )
)
def test_database_details_list_every_database(databases: list[tuple[str, str]]) -> None:
    param = next(p for p in PARAMETERS if p.name == "database")
    root = ET.fromstring(parameter_details_xml(param, databases))
    values = [v.findtext("value") for v in root.iter("value") if v.find("label") is not None]
    assert values == [name for name, _ in databases]
    labels = [v.findtext("label") for v in root.iter("value") if v.find("label") is not None]
    assert len(labels) == len(databases)  # titles: any text, still well-formed XML


def test_every_phase_has_an_ebi_status() -> None:
    statuses = {phase: job_status(phase) for phase in Phase}
    assert set(statuses.values()) <= {"QUEUED", "RUNNING", "FINISHED", "FAILURE", "ERROR"}
    assert statuses[Phase.COMPLETED] == "FINISHED" and job_status(None) == "NOT_FOUND"
    assert statuses[Phase.QUEUED] == "QUEUED" and statuses[Phase.RUNNING] == "RUNNING"
