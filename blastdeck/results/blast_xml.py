"""BLAST XML (`-outfmt 5`) read as a stream, one query at a time, into the HSPs BlastDeck indexes
and the alignments its web page shows.

The file is fed to expat a megabyte at a time and nothing is kept but the query being read, so a
file of any size is read in bounded memory. What a hostile file could do to an XML parser is
refused: any entity declaration (`<!ENTITY>`, the "billion laughs"; BLAST declares none),
elements nested deeper than BLAST's own documents are, and one element's text longer than any
BLAST sequence field can be. Every refusal names the line and the element.

Each HSP's tabular values are derived as BLAST derives them for its hit table (`hsps.Hsp`):
identity, gap openings and mismatches from the alignment; e-value and bit score rounded as
BLAST prints them in tabular output (`tabular_evalue`, `tabular_bitscore`), so an imported
job's hits are the same as those of the job that ran the same search here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO
from xml.parsers import expat

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.results.hsps import (
    Hsp,
    bitscore_text,
    evalue_text,
    query_cover,
    with_query_cover,
)

CHUNK_BYTES = 1 << 20
MAX_DEPTH = 16  # BLAST's XML is 8 elements deep at most
MAX_TEXT_CHARS = 64 * 1024 * 1024  # a qseq/hseq/midline is at most one alignment long
ROOT = "BlastOutput"

_HEADER = {"BlastOutput_program", "BlastOutput_version", "BlastOutput_db"}
_ITERATION = {"Iteration_query-ID", "Iteration_query-def", "Iteration_query-len"}
_STATISTICS = {"Statistics_kappa", "Statistics_lambda"}
_HIT = {"Hit_id", "Hit_def", "Hit_accession", "Hit_len"}
_HSP = {
    "Hsp_num",
    "Hsp_bit-score",
    "Hsp_score",
    "Hsp_evalue",
    "Hsp_query-from",
    "Hsp_query-to",
    "Hsp_hit-from",
    "Hsp_hit-to",
    "Hsp_query-frame",
    "Hsp_hit-frame",
    "Hsp_identity",
    "Hsp_positive",
    "Hsp_gaps",
    "Hsp_align-len",
    "Hsp_qseq",
    "Hsp_hseq",
    "Hsp_midline",
}
_LEAVES = _HEADER | _ITERATION | _STATISTICS | _HIT | _HSP
_HEADER_FIELDS = {"BlastOutput_program": "program", "BlastOutput_version": "version"}
_HEADER_FIELDS["BlastOutput_db"] = "database"
_LOCAL_ID = re.compile(r"Query_\d+")
_GAP_RUN = re.compile(r"-+")
_ORDINAL_ID = "gnl|BL_ORD_ID|"
# Programs whose query is translated: BLAST's qcovhsp divides the alignment's length (in
# residues) by the query's (in bases), as its hit table shows.
_TRANSLATED_QUERY = frozenset({"blastx", "tblastx"})
# BLAST's JSON HSP keys (alignments.py) for the XML elements the web page shows.
_ALIGNMENT_FIELDS = {
    "Hsp_num": "hsp_num",
    "Hsp_bit-score": "bitscore",
    "Hsp_score": "score",
    "Hsp_evalue": "evalue",
    "Hsp_identity": "identity",
    "Hsp_gaps": "gaps",
    "Hsp_align-len": "align_len",
    "Hsp_qseq": "qseq",
    "Hsp_midline": "midline",
    "Hsp_hseq": "hseq",
}


@dataclass
class XmlQuery:
    """One query's report: its place in the file, id, length, HSPs (hit-table values) and
    alignments (the web page's rows, `alignments.alignments_of`)."""

    index: int
    query_id: str
    length: int
    hsps: list[Hsp] = field(default_factory=list)
    scores: list[tuple[int, float]] = field(default_factory=list)  # (raw score, XML's bits)
    alignments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class XmlHeader:
    program: str = ""
    version: str = ""
    database: str = ""


def tabular_evalue(evalue: float) -> float:
    """The e-value as BLAST prints it in tabular output (and so as a hit table holds it)."""
    return float(evalue_text(evalue))


def tabular_bitscore(bitscore: float) -> float:
    """The bit score as BLAST prints it in tabular output: over 99.9 cut to a whole number."""
    return float(bitscore_text(bitscore))


class BlastXmlReader:
    """Reads a BLAST XML document from `stream`; `queries()` yields each query's report as
    soon as its `</Iteration>` is read; `header` is filled from the document's prolog."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.header = XmlHeader()
        self._parser = expat.ParserCreate()
        self._parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self._parser.StartElementHandler = self._start
        self._parser.EndElementHandler = self._end
        self._parser.CharacterDataHandler = self._text
        self._parser.EntityDeclHandler = self._entity
        self._parser.buffer_text = True
        self._stack: list[str] = []
        self._buffer: list[str] | None = None
        self._buffered = 0
        self._iteration: dict[str, str] = {}
        self._hit: dict[str, str] = {}
        self._hsp: dict[str, str] = {}
        self._current: XmlQuery | None = None
        self._done: list[XmlQuery] = []
        self._count = 0

    def queries(self) -> Iterator[XmlQuery]:
        try:
            while chunk := self._stream.read(CHUNK_BYTES):
                self._parser.Parse(chunk, False)
                yield from self._drain()
            self._parser.Parse(b"", True)
        except expat.ExpatError as exc:
            raise self._malformed(expat.ErrorString(exc.code), exc.lineno) from None
        if not self._stack and self._count == 0 and not self.header.program:
            raise self._malformed("the document has no BLAST report")
        yield from self._drain()

    def _drain(self) -> Iterator[XmlQuery]:
        done, self._done = self._done, []
        yield from done

    # -- expat's handlers ----------------------------------------------------------------------

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        if not self._stack and name != ROOT:
            raise BlastDeckError(
                ErrorCode.IMPORT_NOT_BLAST,
                f"This XML is not BLAST's: its root element is <{name[:60]}>, not <{ROOT}> "
                "(export it with -outfmt 5).",
                field="file",
            )
        self._stack.append(name)
        if len(self._stack) > MAX_DEPTH:
            raise self._malformed(f"elements are nested more than {MAX_DEPTH} deep")
        if name in _LEAVES:
            self._buffer, self._buffered = [], 0
        elif name == "Iteration":
            self._iteration = {}
        elif name == "Hit":
            self._hit = {}
        elif name == "Hsp":
            self._hsp = {}

    def _text(self, data: str) -> None:
        if self._buffer is not None:
            self._buffered += len(data)
            if self._buffered > MAX_TEXT_CHARS:
                raise self._malformed(f"an element's text is over {MAX_TEXT_CHARS:,} characters")
            self._buffer.append(data)

    def _entity(self, name: str, *_: object) -> None:
        raise self._malformed(f"it declares the entity {name[:60]!r}; BLAST's XML declares none")

    def _end(self, name: str) -> None:
        self._stack.pop()
        if name in _LEAVES:
            text = "".join(self._buffer or ())
            self._buffer = None
            if name in _HSP:
                self._hsp[name] = text
            elif name in _HIT:
                self._hit[name] = text
            elif name in _ITERATION or name in _STATISTICS:
                self._iteration[name] = text
                if name == "Iteration_query-len":
                    self._open_query()
            elif len(self._stack) == 1:  # BlastOutput_* directly under the root
                setattr(self.header, _HEADER_FIELDS[name], text.strip())
        elif name == "Hsp":
            self._add_hsp()
        elif name == "Iteration":
            if self._current is None:
                self._open_query()
            query = self._current
            assert query is not None
            query.hsps = with_query_cover(self._exact_bitscores(query))
            self._done.append(query)
            self._current = None

    # -- building a query's report -------------------------------------------------------------

    def _open_query(self) -> None:
        local = self._iteration.get("Iteration_query-ID", "").strip()
        title = self._iteration.get("Iteration_query-def", "").strip()
        # BLAST numbers queries Query_N when it kept their deflines whole: the id is then the
        # defline's first word, as BlastDeck names a query.
        if _LOCAL_ID.fullmatch(local) or not local:
            query_id = title.split(maxsplit=1)[0] if title else local
        else:
            query_id = local
        length = self._int(self._iteration, "Iteration_query-len")
        self._current = XmlQuery(self._count, query_id, length)
        self._count += 1

    def _add_hsp(self) -> None:
        query = self._current
        if query is None:
            raise self._malformed("an <Hsp> comes before its query's <Iteration_query-len>")
        h, hit = self._hsp, self._hit
        qseq, hseq = h.get("Hsp_qseq", ""), h.get("Hsp_hseq", "")
        align_len = self._int(h, "Hsp_align-len")
        identity = self._int(h, "Hsp_identity")
        gaps = self._int(h, "Hsp_gaps") if "Hsp_gaps" in h else qseq.count("-") + hseq.count("-")
        qstart, qend = self._range(h, "Hsp_query-from", "Hsp_query-to", "Hsp_query-frame")
        sstart, send = self._range(h, "Hsp_hit-from", "Hsp_hit-to", "Hsp_hit-frame")
        subject = _subject_id(hit)
        hsp = Hsp(
            query_index=query.index,
            query_id=query.query_id,
            subject_id=subject,
            subject_title=hit.get("Hit_def", "").strip(),
            pident=float(f"{100.0 * identity / align_len:.3f}") if align_len else 0.0,
            length=align_len,
            mismatch=align_len - identity - gaps,
            gapopen=len(_GAP_RUN.findall(qseq)) + len(_GAP_RUN.findall(hseq)),
            qstart=qstart,
            qend=qend,
            sstart=sstart,
            send=send,
            evalue=tabular_evalue(self._float(h, "Hsp_evalue")),
            bitscore=tabular_bitscore(self._float(h, "Hsp_bit-score")),
            qlen=query.length,
            slen=self._int(hit, "Hit_len"),
            qcovhsp=query_cover(
                align_len if self.header.program in _TRANSLATED_QUERY else abs(qend - qstart) + 1,
                query.length,
            ),
            qcovs=0,  # with_query_cover, once the query's HSPs are all read
            staxid=0,  # XML has none; job_import.py adds the database's
        )
        query.hsps.append(hsp)
        query.scores.append((self._int(h, "Hsp_score"), self._float(h, "Hsp_bit-score")))
        query.alignments.append(self._alignment(hsp, hit, h))

    def _exact_bitscores(self, query: XmlQuery) -> list[Hsp]:
        """The bit scores as BLAST's table prints them. The XML prints six digits (2410.996 as
        2411), too few to cut to a whole number as the table does, so each is computed again
        from the raw score and the query's statistics (lambda, K) when that agrees with the
        XML's value; else the XML's value stands."""
        try:
            lam = float(self._iteration["Statistics_lambda"])
            kappa = float(self._iteration["Statistics_kappa"])
        except (KeyError, ValueError):
            return query.hsps
        if lam <= 0 or kappa <= 0:
            return query.hsps
        out = []
        for hsp, (score, shown) in zip(query.hsps, query.scores, strict=True):
            exact = (lam * score - math.log(kappa)) / math.log(2)
            if abs(exact - shown) <= max(0.01, abs(shown) * 1e-5):
                hsp = replace(hsp, bitscore=tabular_bitscore(exact))
            out.append(hsp)
        return out

    def _alignment(self, hsp: Hsp, hit: dict[str, str], h: dict[str, str]) -> dict[str, Any]:
        row: dict[str, Any] = {
            "query_id": hsp.query_id,
            "subject_id": hsp.subject_id,
            "subject_title": hsp.subject_title,
            "slen": hsp.slen,
            "qstart": hsp.qstart,
            "qend": hsp.qend,
            "sstart": hsp.sstart,
            "send": hsp.send,
        }
        for element, key in _ALIGNMENT_FIELDS.items():
            if element in h:
                text = h[element]
                if key in ("bitscore", "evalue"):
                    row[key] = self._float(h, element)
                elif key in ("qseq", "midline", "hseq"):
                    row[key] = text
                else:
                    row[key] = self._int(h, element)
        if self.header.program == "blastn":
            for element, key in (
                ("Hsp_query-frame", "query_strand"),
                ("Hsp_hit-frame", "hit_strand"),
            ):
                if element in h:
                    row[key] = "Minus" if self._int(h, element) < 0 else "Plus"
        else:
            if "Hsp_positive" in h:
                row["positive"] = self._int(h, "Hsp_positive")
            for element, key in (
                ("Hsp_query-frame", "query_frame"),
                ("Hsp_hit-frame", "hit_frame"),
            ):
                if element in h and self._int(h, element) != 0:
                    row[key] = self._int(h, element)
        return row

    def _range(self, h: dict[str, str], start: str, end: str, frame: str) -> tuple[int, int]:
        a, b = self._int(h, start), self._int(h, end)
        # BLAST's table gives a minus-strand range from its higher end.
        if frame in h and self._int(h, frame) < 0 and a < b:
            a, b = b, a
        return a, b

    # -- values and errors ---------------------------------------------------------------------

    def _int(self, values: dict[str, str], name: str) -> int:
        try:
            return int(values[name])
        except KeyError:
            raise self._malformed(f"a report lacks <{name}>") from None
        except ValueError:
            raise self._malformed(f"<{name}> holds {values[name][:40]!r}, not a number") from None

    def _float(self, values: dict[str, str], name: str) -> float:
        try:
            return float(values[name])
        except KeyError:
            raise self._malformed(f"a report lacks <{name}>") from None
        except ValueError:
            raise self._malformed(f"<{name}> holds {values[name][:40]!r}, not a number") from None

    def _malformed(self, problem: str, line: int | None = None) -> BlastDeckError:
        line = line if line is not None else self._parser.CurrentLineNumber
        where = f" in <{self._stack[-1]}>" if self._stack else ""
        return BlastDeckError(
            ErrorCode.IMPORT_MALFORMED,
            f"The BLAST XML is not readable at line {line}{where}: {problem}. Nothing was "
            "imported.",
            field="file",
            detail={"line": str(line), "element": self._stack[-1] if self._stack else ""},
        )


def _subject_id(hit: dict[str, str]) -> str:
    """The subject as BLAST's `saccver` names it: the accession with its version (the XML gives
    the accession alone, and the versioned one inside a typed id, `gb|AY770966.1|`); in a
    database built without -parse_seqids (ordinal ids), its defline's first word."""
    hit_id = hit.get("Hit_id", "").strip()
    if hit_id.startswith(_ORDINAL_ID):  # a database without -parse_seqids: BLAST names the
        return (hit.get("Hit_def", "").split(maxsplit=1) or [hit_id])[0]  # defline's first word
    accession = hit.get("Hit_accession", "").strip()
    for part in hit.get("Hit_id", "").split("|"):
        if accession and part.startswith(accession + "."):
            return part
    return accession or hit.get("Hit_id", "").strip()
