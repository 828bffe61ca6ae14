"""EBI's Job Dispatcher REST API for its NCBI BLAST service (`.../ncbiblast`), over BlastDeck jobs.

EBI's clients (its published `ncbiblast.py` and the other languages' ones) call `parameters`,
`parameterdetails/{name}`, `run/` (form fields: email, program, stype, sequence, database,
exp, ...), `status/{jobId}`, `resulttypes/{jobId}` and `result/{jobId}/{type}`. Job ids are
BlastDeck job ids; jobs run through the normal submit path (validation, limits, the option
allow-list). This module only translates EBI's names and values onto BlastDeck's and renders
EBI's XML documents; the router (`api/routers/ebi.py`) does the I/O.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.option_table import ALLOWED_OPTIONS, COMPOSITION_PROGRAMS
from blastdeck.domain.pipeline_model import Phase
from blastdeck.domain.programs import PROGRAM_SHAPES, Molecule, Program, parse_program
from blastdeck.domain.submission import SubmitRequest
from blastdeck.results.formats import ExportFormat


@dataclass(frozen=True)
class EbiParameter:
    name: str
    label: str
    description: str
    type: str  # EBI's type names: STRING, INTEGER, BOOLEAN
    default: str | None = None
    values: tuple[tuple[str, str], ...] = ()  # (value, label); the database's come at run time


def _same(*values: str) -> tuple[tuple[str, str], ...]:
    return tuple((v, v) for v in values)


_TASKS = tuple(dict.fromkeys(t for shape in PROGRAM_SHAPES.values() for t in shape.tasks))
_MATRICES = ALLOWED_OPTIONS["matrix"].choices
_GENETIC_CODES = ALLOWED_OPTIONS["query_gencode"].values or tuple(range(1, 34))
DATABASE = "database"

# In the order EBI lists them (GET /parameters); `email` and `title` are accepted by run/ but,
# as at EBI, not listed.
PARAMETERS: tuple[EbiParameter, ...] = (
    EbiParameter("program", "Program", "The BLAST program.", "STRING", "blastp",
                 _same(*(p.value for p in Program))),
    EbiParameter("task", "Task", "The BLAST task (a variant of the program's search).", "STRING",
                 None, _same(*_TASKS)),
    EbiParameter("matrix", "Matrix", "Protein searches: the substitution matrix (NONE: the "
                 "program's default).", "STRING", "BLOSUM62", _same("NONE", *_MATRICES)),
    EbiParameter("alignments", "Alignments", "At most this many subjects per query (with "
                 "scores: the larger of the two).", "INTEGER", "50"),
    EbiParameter("scores", "Scores", "At most this many subjects per query (with alignments: "
                 "the larger of the two).", "INTEGER", "50"),
    EbiParameter("exp", "Expectation value threshold", "Report hits with an E-value up to "
                 "this (BLAST -evalue).", "STRING", "10"),
    EbiParameter("dropoff", "Dropoff", "Only 0 (BLAST's default X-dropoff) is offered.",
                 "INTEGER", "0", _same("0")),
    EbiParameter("match_scores", "Match/mismatch scores", "blastn: reward,penalty (BLAST "
                 "-reward, -penalty); ignored by the other programs.", "STRING", "1,-3"),
    EbiParameter("gapopen", "Gap open", "Gap opening cost; -1: the program's default.",
                 "INTEGER", "-1"),
    EbiParameter("gapext", "Gap extend", "Gap extension cost; -1: the program's default.",
                 "INTEGER", "-1"),
    EbiParameter("filter", "Filter", "Low-complexity filter: T (on: DUST for blastn, SEG "
                 "otherwise) or F (off).", "STRING", "F", (("F", "no filter"), ("T", "filter"))),
    EbiParameter("seqrange", "Sequence range", "Search only positions START-END of the query "
                 "(BLAST -query_loc).", "STRING", "START-END"),
    EbiParameter("gapalign", "Gap align", "false: ungapped alignments only.", "BOOLEAN", "true",
                 _same("true", "false")),
    EbiParameter("wordsize", "Word size", "Word size for the initial matches.", "INTEGER"),
    EbiParameter("taxids", "Taxonomy filter", "Search only these organisms: taxids or names, "
                 "comma-separated (their descendants included).", "STRING"),
    EbiParameter("negative_taxids", "Excluded taxa", "Leave out these organisms: taxids or "
                 "names, comma-separated.", "STRING"),
    EbiParameter("compstats", "Compositional adjustments", "blastp, blastx, tblastn: F (none), "
                 "D (the program's default), or 0-3 (BLAST -comp_based_stats).", "STRING", "F",
                 _same("F", "D", "0", "1", "2", "3")),
    EbiParameter("align", "Alignment view", "Only 0 (pairwise) is offered.", "INTEGER", "0",
                 (("0", "pairwise"),)),
    EbiParameter("transltable", "Translation table", "blastx, tblastx: the query's genetic code "
                 "(BLAST -query_gencode).", "INTEGER", "1", _same(*map(str, _GENETIC_CODES))),
    EbiParameter("stype", "Sequence type", "protein, or dna/rna/nucleotide: must fit the "
                 "program's query.", "STRING", "protein",
                 _same("protein", "dna", "rna", "nucleotide")),
    EbiParameter("sequence", "Input sequence", "The query: FASTA (one or more records), a bare "
                 "sequence, or ids of sequences in this server's databases.", "STRING"),
    EbiParameter(DATABASE, "Database", "A database this server offers you.", "STRING"),
    EbiParameter("hsps", "HSPs", "At most this many HSPs per query and subject (BLAST "
                 "-max_hsps).", "INTEGER"),
)  # fmt: skip
PARAMETER_NAMES = tuple(p.name for p in PARAMETERS)
_BY_NAME = {p.name: p for p in PARAMETERS}
_ACCEPTED = {*PARAMETER_NAMES, "email", "title"}
_NUCLEOTIDE_STYPES = {"dna", "rna", "nucleotide", "vector"}
_TRUE, _FALSE = {"true", "t", "1", "yes"}, {"false", "f", "0", "no"}
# The BlastDeck option behind an EBI parameter, to name the parameter in errors.
_OPTION_PARAMETER = {
    "task": "task", "matrix": "matrix", "max_target_seqs": "alignments/scores", "evalue": "exp",
    "reward": "match_scores", "penalty": "match_scores", "gapopen": "gapopen",
    "gapextend": "gapext", "dust": "filter", "seg": "filter", "query_loc": "seqrange",
    "ungapped": "gapalign", "word_size": "wordsize", "taxids": "taxids",
    "negative_taxids": "negative_taxids", "comp_based_stats": "compstats",
    "query_gencode": "transltable", "max_hsps": "hsps",
}  # fmt: skip


def run_request(params: Mapping[str, str]) -> SubmitRequest:
    """A BlastDeck job request from run/'s form fields; the job service validates the rest."""
    if unknown := sorted(set(params) - _ACCEPTED):
        raise BlastDeckError(
            ErrorCode.UNSUPPORTED_PARAMETER,
            f"Unknown parameter {unknown[0][:40]!r}; the parameters are "
            f"{', '.join(PARAMETER_NAMES)}, email and title (see parameters/).",
            field=unknown[0][:40],
        )
    get = {k: v.strip() for k, v in params.items()}
    if "@" not in get.get("email", ""):
        raise BlastDeckError(
            ErrorCode.INVALID_REQUEST,
            "email is required, as EBI's service requires it (BlastDeck does not store it).",
            field="email",
        )
    program_name = get.get("program", "")
    if not program_name:
        raise _invalid("program", "is required: one of " + ", ".join(p.value for p in Program))
    program = parse_program(program_name.lower())
    stype = get.get("stype", "").lower()
    _check_stype(program, stype)
    options: dict[str, object] = {}
    _task(program, stype, get.get("task", "").lower(), options)
    if (matrix := get.get("matrix", "")) and matrix.upper() != "NONE":
        options["matrix"] = matrix.upper()
    counts = [_int(get, name, 1) for name in ("alignments", "scores") if get.get(name)]
    if counts:
        options["max_target_seqs"] = max(counts)
    if exp := get.get("exp"):
        options["evalue"] = exp
    if get.get("dropoff") and _int(get, "dropoff", 0) != 0:
        raise _invalid("dropoff", "only 0 (BLAST's default X-dropoff) is offered")
    if (scores := get.get("match_scores")) and program is Program.BLASTN:
        parts = scores.split(",")
        if len(parts) != 2:
            raise _invalid(
                "match_scores", f"must be reward,penalty (e.g. 1,-3), not {scores[:40]!r}"
            )
        options["reward"], options["penalty"] = (p.strip() for p in parts)
    for name, option in (("gapopen", "gapopen"), ("gapext", "gapextend")):
        if get.get(name) and (value := _int(get, name, -1)) != -1:
            options[option] = value
    if filter_ := get.get("filter"):
        switch = _switch(filter_, "filter")
        options["dust" if program is Program.BLASTN else "seg"] = "yes" if switch else "no"
    if (seqrange := get.get("seqrange")) and seqrange.upper() != "START-END":
        options["query_loc"] = seqrange
    gapped = _switch(get["gapalign"], "gapalign") if get.get("gapalign") else True
    if not gapped and program is not Program.TBLASTX:  # tblastx is always ungapped
        options["ungapped"] = True
    _copy(get, options, "wordsize", "word_size")
    _copy(get, options, "hsps", "max_hsps")
    _copy(get, options, "taxids", "taxids")
    _copy(get, options, "negative_taxids", "negative_taxids")
    _compstats(program, get.get("compstats", "").upper(), options)
    if get.get("align") and _int(get, "align", 0) != 0:
        raise _invalid("align", "only 0 (pairwise) is offered")
    _transltable(program, get, options)
    return SubmitRequest(
        program=program.value,
        database=get.get(DATABASE, ""),
        query=params.get("sequence", ""),
        title=get.get("title") or None,
        options=options,
    )


def _check_stype(program: Program, stype: str) -> None:
    if not stype:
        return
    query = PROGRAM_SHAPES[program].query
    if stype == "protein":
        fits = query is Molecule.PROTEIN
    elif stype in _NUCLEOTIDE_STYPES:
        fits = query is Molecule.NUCLEOTIDE
    else:
        raise _invalid("stype", f"must be protein, dna, rna or nucleotide, not {stype[:20]!r}")
    if not fits:
        raise _invalid("stype", f"{stype!r} does not fit {program.value}, whose query is {query}")


def _task(program: Program, stype: str, task: str, options: dict[str, object]) -> None:
    """A task of the program; EBI's client sends task=blastn (dna) or blastp (protein) by
    default whatever the program, so that default is ignored where it is no task of it."""
    tasks = PROGRAM_SHAPES[program].tasks
    if not task:
        return
    if task in tasks:
        options["task"] = task
        return
    client_default = "blastp" if stype == "protein" else "blastn"
    if task != client_default:
        offered = ", ".join(tasks) or "none"
        raise _invalid("task", f"{task[:20]!r} is not a task of {program.value} ({offered})")


def _compstats(program: Program, value: str, options: dict[str, object]) -> None:
    if value in ("", "D", "T"):
        return
    if value not in ("F", "0", "1", "2", "3"):
        raise _invalid("compstats", f"must be F, D or 0-3, not {value[:20]!r}")
    if program in COMPOSITION_PROGRAMS:
        options["comp_based_stats"] = "0" if value == "F" else value
    elif value not in ("F", "0"):
        raise _invalid("compstats", f"applies to blastp, blastx and tblastn, not {program.value}")


def _transltable(program: Program, get: Mapping[str, str], options: dict[str, object]) -> None:
    if not get.get("transltable"):
        return
    code = _int(get, "transltable", 1)
    if program in (Program.BLASTX, Program.TBLASTX):
        options["query_gencode"] = code
    elif code != 1:
        raise _invalid("transltable", f"applies to blastx and tblastx, not {program.value}")


def _copy(get: Mapping[str, str], options: dict[str, object], name: str, option: str) -> None:
    if value := get.get(name):
        options[option] = value


def _int(get: Mapping[str, str], name: str, minimum: int) -> int:
    value = get[name]
    if not re.fullmatch(r"[+-]?\d{1,10}", value) or int(value) < minimum:
        raise _invalid(name, f"must be an integer >= {minimum}, not {value[:20]!r}")
    return int(value)


def _switch(value: str, name: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise _invalid(name, f"must be true or false (T or F), not {value[:20]!r}")


def _invalid(name: str, why: str) -> BlastDeckError:
    return BlastDeckError(ErrorCode.INVALID_OPTION_VALUE, f"{name} {why}.", field=name)


def error_message(exc: BlastDeckError) -> str:
    """The message with its stable code, naming the EBI parameter when it was an option's."""
    message = " ".join(exc.message.split())
    option = (exc.field or "").removeprefix("options.")
    if exc.field and exc.field.startswith("options.") and option in _OPTION_PARAMETER:
        message = f"Parameter {_OPTION_PARAMETER[option]}: {message}"
    return f"[{exc.code.value}] {message}"


def job_status(phase: Phase | None) -> str:
    """EBI's statuses: QUEUED, RUNNING, FINISHED, FAILURE (the search failed), ERROR (it was
    cancelled) and NOT_FOUND (no such job, or another user's)."""
    if phase is None:
        return "NOT_FOUND"
    if phase is Phase.COMPLETED:
        return "FINISHED"
    if phase is Phase.FAILED:
        return "FAILURE"
    if phase is Phase.CANCELLED:
        return "ERROR"
    return "QUEUED" if phase is Phase.QUEUED else "RUNNING"


@dataclass(frozen=True)
class ResultType:
    identifier: str
    label: str
    description: str
    media_type: str
    file_suffix: str
    export: ExportFormat | None = None  # the BlastDeck download it is, if one


RESULT_TYPES: tuple[ResultType, ...] = (
    ResultType("out", "Tool Output", "BLAST's pairwise report (-outfmt 0).", "text/plain",
               "txt", ExportFormat.TEXT),
    ResultType("sequence", "Input Sequence", "The query as submitted (FASTA).", "text/plain",
               "txt"),
    ResultType("ids", "Identifiers", "The subjects hit, as DATABASE:ID, one a line.",
               "text/plain", "txt"),
    ResultType("accs", "Accessions", "The subjects hit, as accessions, one a line.",
               "text/plain", "txt"),
    ResultType("xml", "XML", "EBI's search XML (EBIApplicationResult), from BLAST's JSON "
               "report.", "application/xml", "xml"),
    ResultType("json", "JSON", "EBI's search JSON (query, hits, HSPs), from BLAST's JSON "
               "report.", "application/json", "json"),
    ResultType("tsv", "Tab-separated values", "BLAST's tabular report (-outfmt 6, std "
               "columns).", "text/tab-separated-values", "tsv", ExportFormat.TSV),
)  # fmt: skip
_RESULT_TYPES = {t.identifier: t for t in RESULT_TYPES}


def result_type(identifier: str) -> ResultType:
    try:
        return _RESULT_TYPES[identifier]
    except KeyError:
        raise BlastDeckError(
            ErrorCode.UNKNOWN_FORMAT,
            f"Unknown result type {identifier[:40]!r}; use one of "
            f"{', '.join(_RESULT_TYPES)} (see resulttypes/).",
            field="type",
        ) from None


def parameter(name: str) -> EbiParameter:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise BlastDeckError(
            ErrorCode.UNSUPPORTED_PARAMETER,
            f"Unknown parameter {name[:40]!r}; the parameters are {', '.join(PARAMETER_NAMES)}.",
            field="parameterId",
        ) from None


def accession(subject_id: str) -> str:
    """The accession of a subject id, without its `.version`, as BLAST reads FASTA ids:
    `sp|P01308|INS_HUMAN` -> P01308, `gb|EF574478|` -> EF574478, `gnl|db|id` -> id."""
    parts = subject_id.split("|")
    if len(parts) >= 2:
        field = parts[2] if parts[0].lower() == "gnl" and len(parts) > 2 else parts[1]
        subject_id = field or parts[-1]
    return re.sub(r"\.\d+$", "", subject_id)


def id_lines(database: str, subject_ids: Iterable[str]) -> str:
    return "".join(f"{database}:{s}\n" for s in dict.fromkeys(subject_ids))


def acc_lines(subject_ids: Iterable[str]) -> str:
    return "".join(f"{a}\n" for a in dict.fromkeys(accession(s) for s in subject_ids))


# --- EBI's XML documents -------------------------------------------------------------------------


def _document(root: ET.Element) -> str:
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


# Characters XML 1.0 cannot hold (ElementTree would write them and break the document).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _child(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = xml_text(text)
    return element


def parameters_xml() -> str:
    root = ET.Element("parameters")
    for name in PARAMETER_NAMES:
        _child(root, "id", name)
    return _document(root)


def parameter_details_xml(param: EbiParameter, databases: Sequence[tuple[str, str]] = ()) -> str:
    """One parameter's details; `databases` ((name, title) pairs) are the database's values."""
    root = ET.Element("parameter")
    _child(root, "name", param.label)
    _child(root, "description", param.description)
    _child(root, "type", param.type)
    values = tuple(databases) if param.name == DATABASE else param.values
    if values:
        listed = ET.SubElement(root, "values")
        for value, label in values:
            item = ET.SubElement(listed, "value")
            _child(item, "label", label)
            _child(item, "value", value)
            _child(item, "defaultValue", "true" if value == param.default else "false")
    return _document(root)


def result_types_xml() -> str:
    root = ET.Element("types")
    for kind in RESULT_TYPES:
        item = ET.SubElement(root, "type")
        _child(item, "identifier", kind.identifier)
        _child(item, "label", kind.label)
        _child(item, "description", kind.description)
        _child(item, "mediaType", kind.media_type)
        _child(item, "fileSuffix", kind.file_suffix)
    return _document(root)


def error_xml(exc: BlastDeckError) -> str:
    """EBI's error body: `<error><description>...</description></error>`."""
    root = ET.Element("error")
    _child(root, "description", error_message(exc))
    return _document(root)
