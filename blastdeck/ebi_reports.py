"""EBI's sequence similarity search reports (the `json` and `xml` results of its NCBI BLAST
service), made from BLAST's own JSON report (`-outfmt 15`) of a job.

EBI's document describes one query: the search (`program`, `version`, `command`, `query_*`,
`db_*`, `dbs`, scoring parameters, `start`/`end`) and its `hits`, each with `hit_hsps`. Its
`hsp_identity`, `hsp_positive` and `hsp_gaps` are percentages of the alignment length. An EBI
job holds one query; a BlastDeck job of several queries answers a list of such documents, one a
query, in input order.

EBI's XML (`EBIApplicationResult`, namespace http://www.ebi.ac.uk/schema) says the same: a
`Header` (program, command line, the query sequences, the database, gap costs, times) and a
`SequenceSimilaritySearchResult` with `hits` of `hit` (number, database, id, ac, length,
description), each with `alignments` (score, bits, expectation, identity and positives in
percent, querySeq/pattern/matchSeq with their coordinates). A job of several queries has one
`SequenceSimilaritySearchResult` per query, in input order.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blastdeck.domain.options import blast_arguments
from blastdeck.domain.programs import PROGRAM_SHAPES, Molecule, Program
from blastdeck.ebi_api import xml_text
from blastdeck.store.models import Job


@dataclass(frozen=True)
class SearchInfo:
    """What BLAST's report does not say about the search."""

    database: str
    query_stype: str  # "nucleotide" or "protein"
    database_stype: str
    command: str
    start: str  # ISO 8601
    end: str


def search_info(job: Job) -> SearchInfo:
    program = Program(job.program)
    shape = PROGRAM_SHAPES[program]
    arguments = ["-db", job.database, *blast_arguments(program, job.options or {})]
    return SearchInfo(
        database=job.database,
        query_stype=_stype(shape.query),
        database_stype=_stype(shape.database),
        command=" ".join([program.value, *arguments]),
        start=job.created_at.isoformat(),
        end=job.updated_at.isoformat(),
    )


def _stype(molecule: Molecule) -> str:
    return "protein" if molecule is Molecule.PROTEIN else "nucleotide"


def ebi_json_bytes(blast_json: Path, info: SearchInfo) -> bytes:
    """EBI's JSON of a job from its BLAST JSON download."""
    with blast_json.open("rb") as handle:
        documents = ebi_documents(json.load(handle), info)
    return json.dumps(ebi_json_value(documents), indent=2).encode() + b"\n"


def ebi_documents(blast_json: Mapping[str, Any], info: SearchInfo) -> list[dict[str, Any]]:
    """One EBI document per report of BLAST's JSON (`{"BlastOutput2": [{"report": ...}]}`)."""
    return [_document(item["report"], info) for item in blast_json.get("BlastOutput2", [])]


def ebi_json_value(documents: Sequence[dict[str, Any]]) -> object:
    """A one-query job's document, as EBI answers; several queries: the list of them."""
    return documents[0] if len(documents) == 1 else list(documents)


def _document(report: Mapping[str, Any], info: SearchInfo) -> dict[str, Any]:
    search = report["results"]["search"]
    params = report.get("params", {})
    stat = search.get("stat", {})
    document: dict[str, Any] = {
        "program": report.get("program", ""),
        "version": report.get("version", ""),
        "command": info.command,
        "query_id": search.get("query_id", ""),
        "query_def": search.get("query_title") or search.get("query_id", ""),
        "query_len": search.get("query_len", 0),
        "query_stype": info.query_stype,
        "db_count": 1,
        "db_num": stat.get("db_num", 0),
        "db_len": stat.get("db_len", 0),
        "dbs": [{"name": info.database, "stype": info.database_stype}],
        "search": "ncbiblast",
        "start": info.start,
        "end": info.end,
        "expect_upper": params.get("expect"),
        "gap_open": params.get("gap_open"),
        "gap_extend": params.get("gap_extend"),
        "filter": params.get("filter", ""),
        "hits": [_hit(hit, info.database) for hit in search.get("hits", [])],
    }
    if "matrix" in params:
        document["matrix"] = params["matrix"]
    return document


def _hit(hit: Mapping[str, Any], database: str) -> dict[str, Any]:
    description = (hit.get("description") or [{}])[0]
    subject_id = description.get("id", "")
    return {
        "hit_num": hit["num"],
        "hit_def": f"{database}:{subject_id}",
        "hit_db": database,
        "hit_id": subject_id,
        "hit_acc": description.get("accession", subject_id),
        "hit_desc": description.get("title", ""),
        "hit_url": "",
        "hit_len": hit.get("len", 0),
        "hit_hsps": [_hsp(hsp) for hsp in hit.get("hsps", [])],
    }


def _hsp(hsp: Mapping[str, Any]) -> dict[str, Any]:
    length = hsp.get("align_len") or 1
    identity = hsp.get("identity", 0)
    out: dict[str, Any] = {
        "hsp_num": hsp["num"],
        "hsp_score": hsp.get("score", 0),
        "hsp_bit_score": hsp.get("bit_score", 0.0),
        "hsp_expect": hsp.get("evalue", 0.0),
        "hsp_align_len": hsp.get("align_len", 0),
        "hsp_identity": _percent(identity, length),
        "hsp_positive": _percent(hsp.get("positive", identity), length),
        "hsp_gaps": _percent(hsp.get("gaps", 0), length),
        "hsp_query_from": hsp["query_from"],
        "hsp_query_to": hsp["query_to"],
        "hsp_hit_from": hsp["hit_from"],
        "hsp_hit_to": hsp["hit_to"],
        "hsp_qseq": hsp.get("qseq", ""),
        "hsp_mseq": hsp.get("midline", ""),
        "hsp_hseq": hsp.get("hseq", ""),
    }
    if "query_strand" in hsp:
        out["hsp_strand"] = f"{hsp['query_strand']}/{hsp.get('hit_strand', '')}"
    if "query_frame" in hsp:
        out["hsp_query_frame"] = str(hsp["query_frame"])
    if "hit_frame" in hsp:
        out["hsp_hit_frame"] = str(hsp["hit_frame"])
    return out


def _percent(count: int, length: int) -> float:
    return round(100.0 * count / length, 1)


EBI_NAMESPACE = "http://www.ebi.ac.uk/schema"
BLAST_CITATION = "PMID:20003500"  # BLAST+: architecture and applications


def ebi_xml_bytes(blast_json: Path, info: SearchInfo) -> bytes:
    """EBI's XML of a job from its BLAST JSON download."""
    with blast_json.open("rb") as handle:
        documents = ebi_documents(json.load(handle), info)
    root = ET.Element("EBIApplicationResult", {"xmlns": EBI_NAMESPACE})
    _xml_header(ET.SubElement(root, "Header"), documents, info)
    for document in documents:
        _xml_hits(ET.SubElement(root, "SequenceSimilaritySearchResult"), document)
    for element in root.iter():  # deflines are the database's: nothing may break the XML
        element.text = xml_text(element.text) if element.text else element.text
        element.attrib = {k: xml_text(v) for k, v in element.attrib.items()}
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _xml_header(header: ET.Element, documents: Sequence[dict[str, Any]], info: SearchInfo) -> None:
    first = documents[0] if documents else {}
    ET.SubElement(
        header,
        "program",
        {
            "name": f"NCBI-{first.get('program', '')}",
            "version": str(first.get("version", "")),
            "citation": BLAST_CITATION,
        },
    )
    ET.SubElement(header, "commandLine", {"command": info.command})
    parameters = ET.SubElement(header, "parameters")
    sequences = ET.SubElement(parameters, "sequences", {"total": str(len(documents))})
    for number, document in enumerate(documents, 1):
        ET.SubElement(
            sequences,
            "sequence",
            {
                "number": str(number),
                "name": str(document["query_def"]),
                "type": document["query_stype"][0],
                "length": str(document["query_len"]),
            },
        )
    databases = ET.SubElement(
        parameters,
        "databases",
        {
            "total": "1",
            "sequences": str(first.get("db_num", 0)),
            "letters": str(first.get("db_len", 0)),
        },
    )
    ET.SubElement(
        databases,
        "database",
        {"number": "1", "name": info.database, "type": info.database_stype[0]},
    )
    for key, tag in (
        ("expect_upper", "expectationUpper"),
        ("gap_open", "gapOpen"),
        ("gap_extend", "gapExtension"),
    ):
        if first.get(key) is not None:
            ET.SubElement(parameters, tag).text = str(first[key])
    ET.SubElement(header, "timeInfo", {"start": info.start, "end": info.end})


def _xml_hits(result: ET.Element, document: dict[str, Any]) -> None:
    hits = ET.SubElement(result, "hits", {"total": str(len(document["hits"]))})
    for hit in document["hits"]:
        element = ET.SubElement(
            hits,
            "hit",
            {
                "number": str(hit["hit_num"]),
                "database": hit["hit_db"],
                "id": hit["hit_id"],
                "ac": hit["hit_acc"],
                "length": str(hit["hit_len"]),
                "description": hit["hit_desc"],
            },
        )
        alignments = ET.SubElement(element, "alignments", {"total": str(len(hit["hit_hsps"]))})
        for hsp in hit["hit_hsps"]:
            _xml_alignment(
                ET.SubElement(alignments, "alignment", {"number": str(hsp["hsp_num"])}), hsp
            )


def _xml_alignment(alignment: ET.Element, hsp: dict[str, Any]) -> None:
    for key, tag in (
        ("hsp_score", "score"),
        ("hsp_bit_score", "bits"),
        ("hsp_expect", "expectation"),
        ("hsp_identity", "identity"),
        ("hsp_positive", "positives"),
        ("hsp_gaps", "gaps"),
        ("hsp_strand", "strand"),
        ("hsp_query_frame", "queryFrame"),
        ("hsp_hit_frame", "matchFrame"),
    ):
        if key in hsp:
            ET.SubElement(alignment, tag).text = str(hsp[key])
    query = {"start": str(hsp["hsp_query_from"]), "end": str(hsp["hsp_query_to"])}
    ET.SubElement(alignment, "querySeq", query).text = hsp["hsp_qseq"]
    ET.SubElement(alignment, "pattern").text = hsp["hsp_mseq"]
    match = {"start": str(hsp["hsp_hit_from"]), "end": str(hsp["hsp_hit_to"])}
    ET.SubElement(alignment, "matchSeq", match).text = hsp["hsp_hseq"]
