"""NCBI's BLAST Common URL API (`Blast.cgi`): parameters in, QBlastInfo pages out.

Existing clients (Biopython's `NCBIWWW.qblast(url_base=...)`, BioPerl's RemoteBlast, scripts)
speak it: `CMD=Put` submits and answers an RID, `CMD=Get&FORMAT_OBJECT=SearchInfo` answers a
status, `CMD=Get&FORMAT_TYPE=...` answers the report (wrapped as NCBI wraps it, zipped per query
for XML2 and JSON2: `FORMAT_TYPES`), `CMD=Delete` cancels. RIDs are BlastDeck job ids;
the jobs run through the normal pipeline. This module only translates; the router does the I/O.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, replace

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.pipeline_model import Phase
from blastdeck.job_service import SubmitRequest
from blastdeck.results.formats import ExportFormat
from blastdeck.results.per_query import PerQueryZip


@dataclass(frozen=True)
class Report:
    """What `CMD=Get` answers for one FORMAT_TYPE: a job export, wrapped as NCBI wraps it."""

    export: ExportFormat | PerQueryZip
    head: str = ""  # sent before the export's bytes
    tail: str = ""  # and after them

    @property
    def media_type(self) -> str:
        return self.export.media_type


# NCBI's Text and Tabular reports open with a QBlastInfo comment and hold BLAST's text in a
# <PRE>; its HTML report is a whole page (Biopython's `Bio.Blast.qblast` checks these first
# bytes). The HTML carries the same READY status, so clients that read `Status=` stop there.
_READY = "<p><!--\nQBlastInfoBegin\n\tStatus=READY\nQBlastInfoEnd\n--><p>\n"
_PRE = Report(ExportFormat.TEXT, head=f"{_READY}<PRE>\n", tail="</PRE>\n")
_HTML_HEAD = (
    '<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n'
    "<!--QBlastInfoBegin\n\tStatus=READY\nQBlastInfoEnd\n-->\n"
)

# FORMAT_TYPE (upper-cased) -> its report; "Text" with ALIGNMENT_VIEW=Tabular is Tabular.
FORMAT_TYPES: dict[str, Report] = {
    "HTML": Report(ExportFormat.HTML, head=_HTML_HEAD),
    "TEXT": _PRE,
    "TABULAR": replace(_PRE, export=ExportFormat.TABULAR),
    "XML": Report(ExportFormat.XML),
    "XML2": Report(PerQueryZip.XML2),  # one file per query, zipped
    "XML2_S": Report(ExportFormat.XML2),  # one file
    "JSON2": Report(PerQueryZip.JSON2),
    "JSON2_S": Report(ExportFormat.JSON),
    "ASN.1": Report(ExportFormat.ASN1),
    "CSV": Report(ExportFormat.CSV),
}
SUPPORTED_FORMAT_TYPES = (
    "HTML, Text, Tabular (or Text with ALIGNMENT_VIEW=Tabular), XML, XML2, XML2_S, JSON2, "
    "JSON2_S, ASN.1, CSV"
)
_ON = {"on", "yes", "true", "t", "1"}
_NO_ENTREZ = {"", "(none)"}


def put_request(params: Mapping[str, str]) -> SubmitRequest:
    """A BlastDeck job request from `CMD=Put` parameters; the job service validates the rest."""
    entrez = params.get("ENTREZ_QUERY", "").strip()
    program = params.get("PROGRAM", "").strip().lower()
    options: dict[str, object] = {}
    _copy(params, options, "EXPECT", "evalue")
    _copy(params, options, "HITLIST_SIZE", "max_target_seqs")
    _copy(params, options, "WORD_SIZE", "word_size")
    _copy(params, options, "MATRIX_NAME", "matrix")
    _copy(params, options, "PERC_IDENT", "perc_identity")
    _copy(params, options, "NUCL_REWARD", "reward")
    _copy(params, options, "NUCL_PENALTY", "penalty")
    _copy(params, options, "THRESHOLD", "threshold")
    if gapcosts := params.get("GAPCOSTS", "").strip():
        parts = gapcosts.split()
        if len(parts) != 2:
            raise BlastDeckError(
                ErrorCode.INVALID_OPTION_VALUE,
                f"GAPCOSTS must be 'open extend' (e.g. '11 1'), not {gapcosts[:40]!r}.",
                field="GAPCOSTS",
            )
        options["gapopen"], options["gapextend"] = parts
    if filter_ := params.get("FILTER", "").strip():
        options.update(_filter(program, filter_))
    if task := _task(program, params):
        options["task"] = task
    # NCBI takes several databases in DATABASE, separated by spaces: searched as one.
    names = params.get("DATABASE", "").split()
    return SubmitRequest(
        program=program,
        database=names[0] if len(names) == 1 else (None if names else ""),
        databases=names if len(names) > 1 else None,
        query=params.get("QUERY", ""),
        title=params.get("JOB_TITLE") or None,
        options=options,
        # Its organism part, in entrez_query.py's grammar (anything else is refused there with
        # a message saying what is supported); the job service resolves it.
        entrez_query=None if entrez in _NO_ENTREZ else entrez,
    )


def _copy(params: Mapping[str, str], options: dict[str, object], name: str, option: str) -> None:
    value = params.get(name, "").strip()
    if value:
        options[option] = value


def _filter(program: str, value: str) -> dict[str, object]:
    """FILTER: L/T (low-complexity filter on), F/none (off); DUST for blastn, SEG otherwise."""
    words = value.replace(";", " ").split()
    on = any(w.upper() in ("L", "T") for w in words)
    off = any(w.upper() in ("F", "NONE") for w in words) or value.lower() == "none"
    if on == off:
        raise _unsupported(
            "FILTER", f"use L (filter low complexity) or F (no filter), not {value[:40]!r}"
        )
    switch = "yes" if on else "no"
    return {"dust": switch} if program == "blastn" else {"seg": switch}


def _task(program: str, params: Mapping[str, str]) -> str | None:
    """MEGABLAST=on and SERVICE pick the blastn task; other services are not offered."""
    service = params.get("SERVICE", "").strip().lower()
    if service and service not in ("plain", "megablast"):
        raise _unsupported("SERVICE", f"only plain and megablast are offered, not {service[:20]!r}")
    megablast = params.get("MEGABLAST", "").strip().lower() in _ON or service == "megablast"
    if program == "blastn":
        return "megablast" if megablast else ("blastn" if service == "plain" else None)
    return None


def _unsupported(name: str, why: str) -> BlastDeckError:
    return BlastDeckError(
        ErrorCode.UNSUPPORTED_PARAMETER, f"{name} is not supported: {why}.", field=name
    )


def report(params: Mapping[str, str]) -> Report:
    """The report a `CMD=Get` asks for (FORMAT_TYPE, default HTML as at NCBI)."""
    format_type = params.get("FORMAT_TYPE", "").strip() or "HTML"
    view = params.get("ALIGNMENT_VIEW", "").strip().lower()
    if format_type.upper() == "TEXT" and view == "tabular":
        format_type = "Tabular"
    try:
        return FORMAT_TYPES[format_type.upper()]
    except KeyError:
        raise BlastDeckError(
            ErrorCode.UNKNOWN_FORMAT,
            f"FORMAT_TYPE {format_type[:20]!r} is not supported; use one of "
            f"{SUPPORTED_FORMAT_TYPES}.",
            field="FORMAT_TYPE",
        ) from None


def search_status(phase: Phase | None) -> str:
    """QBlastInfo Status: WAITING while the job runs, READY, FAILED, or UNKNOWN (no such RID,
    or deleted)."""
    if phase is None or phase is Phase.CANCELLED:
        return "UNKNOWN"
    if phase is Phase.COMPLETED:
        return "READY"
    if phase is Phase.FAILED:
        return "FAILED"
    return "WAITING"


def qblast_info(**fields: object) -> str:
    """A QBlastInfo block, as NCBI embeds it in an HTML comment."""
    lines = "".join(f"\t{key}={value}\n" for key, value in fields.items())
    return f"<!--QBlastInfoBegin\n{lines}QBlastInfoEnd\n-->\n"


def put_page(rid: str, rtoe: int) -> str:
    """The 'please wait' page after CMD=Put: RID and RTOE (estimated seconds to completion)."""
    info = f"<!--QBlastInfoBegin\n    RID = {rid}\n    RTOE = {rtoe}\nQBlastInfoEnd\n-->\n"
    return _page("BLAST search submitted", info + f"<p>Request ID: <b>{rid}</b></p>")


def status_page(status: str, there_are_hits: bool | None = None, message: str = "") -> str:
    body = qblast_info(Status=status)
    if there_are_hits is not None:
        body += qblast_info(ThereAreHits="yes" if there_are_hits else "no")
    if message:
        body += f"<p>{html.escape(message)}</p>"
    return _page(f"BLAST search status: {status}", body)


def error_page(error: BlastDeckError) -> str:
    """The error layout NCBI's clients parse (Biopython reads the `error msInf` div); the
    stable error_code is in the text, after NCBI's 'Message ID#' prefix."""
    # One line: clients read the div's first line only (Biopython does).
    message = " ".join(error.message.split())
    text = html.escape(f"Message ID#1 Error: [{error.code.value}] {message}", quote=False)
    return _page("BLAST error", f'<div class="error msInf">{text}</div>\n')


def _page(title: str, body: str) -> str:
    return (
        f"<!DOCTYPE html>\n<html><head><title>{html.escape(title)}</title></head>\n"
        f"<body>\n{body}</body></html>\n"
    )
