"""BLAST query text: parse FASTA (or one bare sequence), check residues, split into batches.

`parse_query` is the single gate between what a person pasted or uploaded and the query file
BLAST reads. Every refusal is a `BlastDeckError` with `field="query"` and a message that names
the record (1-based number and id) and, for residues, the characters and where they first occur.

The order of checks is chosen for the most helpful message: undecodable or binary input first,
then the FASTA shape (headers, record count), then per record: emptiness, wrong molecule
(a protein pasted into a nucleotide program is told so, not "invalid residues"), characters that
are no residue at all, and finally length. Everything is linear in the input size.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.programs import Molecule

NUCLEOTIDE_ALPHABET = frozenset("ACGTURYSWKMBDHVN")  # IUPAC, RNA's U included
PROTEIN_ALPHABET = frozenset("ACDEFGHIKLMNPQRSTVWYBZXUOJ*")  # every letter, plus '*' (stop)

# Letters a protein has and a nucleotide sequence never does: their presence is the evidence
# for "this is a protein". J, O, X and Z are too rare (or, for X, too commonly misused as an
# unknown base) to count as evidence.
_PROTEIN_ONLY_LETTERS = "EFILPQ"
_NUCLEOTIDE_CORE = "ACGTUN"  # what a nucleotide sequence is (almost) entirely made of
_NUCLEOTIDE_CORE_PERCENT = 90
_MIN_LETTERS_TO_CALL_NUCLEOTIDE = 10  # short peptides such as "GATTACA" are legal proteins

_FIELD = "query"
_MAX_CHARS_LISTED = 10
_MAX_ID_SHOWN = 60

# Control characters other than \t \n \r (C0, DEL and C1): a sure sign of a binary file.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# A lone UTF-16 surrogate: text that is no Unicode (a JSON "\ud800" escape decodes to one),
# which no file or database can store as UTF-8.
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
# Everything str.splitlines takes for a line end, as the parser does.
_LINE_BREAK_RE = re.compile(r"[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_NOT_BARE_RE = re.compile(r"[^A-Za-z*\s]")
_NOT_NUCLEOTIDE_RE = re.compile(r"[^ACGTURYSWKMBDHVN]")
_NOT_PROTEIN_RE = re.compile(r"[^A-Z*]")
_NOT_LETTER_RE = re.compile(r"[^A-Z]+")
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")
# The same checks for ASCII text as bytes.translate deletions, which are several times faster
# than a character-class search on a job's worth of query text: the regular expressions above
# run only on text that fails them, to say where.
_ASCII_CONTROL = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_NUCLEOTIDE_BYTES = "".join(sorted(NUCLEOTIDE_ALPHABET)).encode("ascii")
_PROTEIN_BYTES = "".join(sorted(PROTEIN_ALPHABET)).encode("ascii")

_FASTA_HELP = (
    "A query must be FASTA: one or more records, each a header line starting with '>' "
    "(for example '>seq1 my gene') followed by lines of sequence letters. "
    "A single bare sequence of letters without a header is also accepted."
)


@dataclass(frozen=True)
class QueryRecord:
    defline: str  # header text without the leading '>'
    sequence: str  # upper-case, whitespace removed

    @property
    def id(self) -> str:
        words = self.defline.split(maxsplit=1)
        return words[0] if words else ""


@dataclass(frozen=True)
class QueryLimits:
    max_nucleotide_letters: int = 1_000_000  # per sequence
    max_protein_letters: int = 100_000  # per sequence
    max_defline_chars: int = 10_000
    max_sequences: int = 10_000

    def max_letters(self, molecule: Molecule) -> int:
        if molecule is Molecule.NUCLEOTIDE:
            return self.max_nucleotide_letters
        return self.max_protein_letters


@dataclass
class _RawRecord:
    number: int  # 1-based
    defline: str
    lines: list[str]


def parse_query(
    text: str | bytes, molecule: Molecule, limits: QueryLimits = QueryLimits()
) -> list[QueryRecord]:
    """Parse query text for a program whose query is `molecule`; refuse anything BLAST can't use."""
    text = _decode(text)
    _reject_control_characters(text)
    _reject_surrogates(text)
    if not text.strip():
        raise _error(ErrorCode.EMPTY_QUERY, "The query is empty; paste or upload FASTA sequences.")
    raw_records = _split_records(text.splitlines(), limits)  # \n, \r\n and old Mac \r
    return [_finish_record(raw, molecule, limits) for raw in raw_records]


def detect_molecule(sequence: str) -> Molecule:
    """Guess the molecule of a sequence: nucleotide when >= 90% of its letters are ACGTUN.

    A hint for the UI; a string without letters is called nucleotide.
    """
    letters, core = _composition(sequence.upper())
    if core * 100 >= letters * _NUCLEOTIDE_CORE_PERCENT:
        return Molecule.NUCLEOTIDE
    return Molecule.PROTEIN


def to_fasta(records: Sequence[QueryRecord], width: int = 80) -> str:
    """FASTA text for `records`, sequence lines wrapped at `width` letters."""
    if width < 1:
        raise ValueError("width must be at least 1")
    parts: list[str] = []
    for record in records:
        if _LINE_BREAK_RE.search(record.defline):  # \u2028 too: the parser splits there
            raise ValueError(f"defline of {record.id!r} spans lines; it would forge records")
        parts.append(f">{record.defline}\n")
        seq = record.sequence
        parts.extend(f"{seq[i : i + width]}\n" for i in range(0, len(seq), width))
    return "".join(parts)


def split_batches(
    records: Sequence[QueryRecord], slots: int, smallest_share: float = 1 / 24
) -> list[list[QueryRecord]]:
    """Split records into contiguous batches, largest first, for `slots` parallel workers.

    Guided self-scheduling: each batch takes 1/(2 * slots) of the letters not yet assigned, but
    never less than `smallest_share` of all letters (and at least one record); it ends at the
    record boundary nearest that size. Run in order, the big batches start first and the last
    ones to finish are small, so no slot idles long at the end, with few process start-ups.
    Batches are in query order, so concatenating their outputs keeps the query order.
    """
    if slots < 1:
        raise ValueError("slots must be at least 1")
    prefix = _prefix_sums([len(r.sequence) for r in records])
    n, total = len(records), prefix[-1]
    floor = max(1, math.ceil(total * smallest_share))
    batches: list[list[QueryRecord]] = []
    start = 0
    while start < n:
        want = max(floor, math.ceil((total - prefix[start]) / (2 * slots)))
        target = prefix[start] + want
        past = min(bisect_left(prefix, target, start + 1, n + 1), n)
        end = min({max(past - 1, start + 1), past}, key=lambda i: (abs(prefix[i] - target), i))
        batches.append(list(records[start:end]))
        start = end
    return batches


# --- decoding and whole-text checks ------------------------------------------------------------


def _decode(text: str | bytes) -> str:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _error(
                ErrorCode.BINARY_DATA,
                f"The query is not UTF-8 text (undecodable byte at offset {exc.start}). Upload a "
                "plain-text FASTA file, not a compressed, binary or UTF-16 file.",
            ) from None
    return text.removeprefix("\ufeff")  # a byte-order mark is an editor's habit, not content


def _reject_control_characters(text: str) -> None:
    if text.isascii():
        ascii_text = text.encode("ascii")
        if len(ascii_text.translate(None, _ASCII_CONTROL)) == len(ascii_text):
            return
    found = _CONTROL_RE.search(text)
    if found is None:
        return
    char = found.group()
    what = "a NUL byte" if char == "\x00" else f"the control character {_char_name(char)}"
    line = text.count("\n", 0, found.start()) + 1
    raise _error(
        ErrorCode.BINARY_DATA,
        f"The query contains {what} on line {line}; it looks like a binary or compressed file. "
        "Upload plain-text FASTA.",
    )


def _reject_surrogates(text: str) -> None:
    if text.isascii():
        return
    found = _SURROGATE_RE.search(text)
    if found is None:
        return
    line = len((text[: found.start()] + ".").splitlines())  # as the parser counts lines
    raise _error(
        ErrorCode.BINARY_DATA,
        f"The query is not valid Unicode text: line {line} holds a lone surrogate "
        f"({_char_name(found.group())}), a fragment of a UTF-16 character. Upload plain-text "
        "FASTA in UTF-8.",
    )


# --- splitting text into records ---------------------------------------------------------------


def _split_records(lines: list[str], limits: QueryLimits) -> list[_RawRecord]:
    first = _first_content_line(lines)
    if lines[first].lstrip().startswith(">"):
        return _fasta_records(lines, first, limits)
    return [_bare_record(lines, first)]


def _first_content_line(lines: list[str]) -> int:
    # The caller has checked the text is not blank, so some line has content.
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped and not stripped.startswith(";"):
            return index
    raise _error(ErrorCode.EMPTY_QUERY, "The query holds only comment lines and no sequence.")


def _fasta_records(lines: list[str], first: int, limits: QueryLimits) -> list[_RawRecord]:
    records: list[_RawRecord] = []
    for line_no in range(first, len(lines)):
        line = lines[line_no].lstrip()  # no copy unless there is leading whitespace
        if line.startswith(">"):
            records.append(_header(line, line_no + 1, len(records) + 1, limits))
        elif not line.startswith(";"):  # ';' lines are old-style FASTA comments
            records[-1].lines.append(line)  # `first` is a header, so a record exists
    return records


def _header(line: str, line_no: int, number: int, limits: QueryLimits) -> _RawRecord:
    if number > limits.max_sequences:
        raise _error(
            ErrorCode.TOO_MANY_SEQUENCES,
            f"The query has more than {limits.max_sequences:,} sequences (the limit); "
            "split it into several searches.",
        )
    defline = line[1:].strip()
    # The name BlastDeck gives a record without a header never counts against the limit, so
    # the stored query (headers filled in) passes the limits its original passed.
    if len(defline) > limits.max_defline_chars and defline != _default_id(number):
        raise _error(
            ErrorCode.HEADER_TOO_LONG,
            f"The header of sequence {number} (line {line_no}) is {len(defline):,} characters "
            f"long; the limit is {limits.max_defline_chars:,}.",
        )
    # An empty header still needs an id for BLAST to report hits against.
    return _RawRecord(number, defline or _default_id(number), [])


def _default_id(number: int) -> str:
    return f"Query_{number}"  # NCBI's name for a query without one


def _bare_record(lines: list[str], first: int) -> _RawRecord:
    """Text without a header: accepted as one sequence only if it is nothing but letters."""
    body = [line for line in lines[first:] if not line.lstrip().startswith(";")]
    for offset, line in enumerate(body):
        line_no = first + offset + 1
        if line.lstrip().startswith(">"):
            raise _error(
                ErrorCode.INVALID_FASTA,
                f"The query has text (line {first + 1}) before its first '>' header "
                f"(line {line_no}). {_FASTA_HELP}",
            )
        bad = _NOT_BARE_RE.search(line)
        if bad is not None:
            raise _error(
                ErrorCode.INVALID_FASTA,
                f"The query is not FASTA: line {line_no} contains {_char_name(bad.group())} "
                f"(column {bad.start() + 1}). {_FASTA_HELP}",
            )
    return _RawRecord(1, _default_id(1), body)


# --- checking one record -----------------------------------------------------------------------


def _finish_record(raw: _RawRecord, molecule: Molecule, limits: QueryLimits) -> QueryRecord:
    name = _record_name(raw.number, raw.defline)
    sequence = "".join("".join(raw.lines).split())  # drops every kind of whitespace, \r included
    if not sequence:
        raise _error(ErrorCode.EMPTY_QUERY, f"{name} has a header but no sequence.")
    sequence = _check_ascii(name, sequence).upper()
    if molecule is Molecule.NUCLEOTIDE:
        _check_nucleotide(name, sequence)
    else:
        _check_protein(name, sequence)
    _check_length(name, sequence, molecule, limits)
    return QueryRecord(raw.defline, sequence)


def _check_ascii(name: str, sequence: str) -> str:
    # Checked before upper-casing: some non-ASCII letters change length when upper-cased,
    # which would shift every reported position.
    if not sequence.isascii():
        bad = _NON_ASCII_RE.search(sequence)
        assert bad is not None
        chars = sorted(set(_NON_ASCII_RE.findall(sequence)))
        raise _invalid_residues(name, chars, bad.start(), "Only ASCII letters are residues.")
    return sequence


def _check_nucleotide(name: str, sequence: str) -> None:
    if not _residues_outside(sequence, _NUCLEOTIDE_BYTES):
        return
    first_bad = _NOT_NUCLEOTIDE_RE.search(sequence)
    if first_bad is None:
        return
    protein_letters = [c for c in _PROTEIN_ONLY_LETTERS if c in sequence]
    if protein_letters and detect_molecule(sequence) is Molecule.PROTEIN:
        raise _error(
            ErrorCode.QUERY_MOLECULE_MISMATCH,
            f"{name} looks like a protein sequence (it contains {', '.join(protein_letters)}, "
            "which are not nucleotide codes), but this program needs a nucleotide query. "
            "Use a program with a protein query (blastp or tblastn), or check the sequence.",
        )
    chars = sorted(set(sequence) - NUCLEOTIDE_ALPHABET)
    raise _invalid_residues(name, chars, first_bad.start(), _nucleotide_hint(chars))


def _check_protein(name: str, sequence: str) -> None:
    letters, core = _composition(sequence)
    if (
        letters >= _MIN_LETTERS_TO_CALL_NUCLEOTIDE
        and core * 100 >= letters * _NUCLEOTIDE_CORE_PERCENT
    ):
        percent = core * 100 // letters
        raise _error(
            ErrorCode.QUERY_MOLECULE_MISMATCH,
            f"{name} looks like a nucleotide sequence ({percent}% of its letters are A, C, G, T, "
            "U or N), but this program needs a protein query. Use a program with a nucleotide "
            "query (blastn, blastx or tblastx), or check the sequence.",
        )
    if not _residues_outside(sequence, _PROTEIN_BYTES):
        return
    first_bad = _NOT_PROTEIN_RE.search(sequence)
    if first_bad is not None:
        chars = sorted(set(sequence) - PROTEIN_ALPHABET)
        raise _invalid_residues(name, chars, first_bad.start(), _common_hint(chars))


def _residues_outside(sequence: str, alphabet: bytes) -> bytes:
    """The letters of an ASCII `sequence` (checked before) that are not in `alphabet`."""
    return sequence.encode("ascii").translate(None, alphabet)


def _check_length(name: str, sequence: str, molecule: Molecule, limits: QueryLimits) -> None:
    limit = limits.max_letters(molecule)
    if len(sequence) > limit:
        kind = "nucleotide" if molecule is Molecule.NUCLEOTIDE else "protein"
        raise _error(
            ErrorCode.SEQUENCE_TOO_LONG,
            f"{name} has {len(sequence):,} letters; a {kind} query sequence may have at most "
            f"{limit:,}. Split it into shorter pieces.",
        )


def _composition(upper: str) -> tuple[int, int]:
    """(number of letters, number of those that are A, C, G, T, U or N) in an upper-case text."""
    letters = len(_NOT_LETTER_RE.sub("", upper))
    core = sum(upper.count(c) for c in _NUCLEOTIDE_CORE)
    return letters, core


# --- messages ----------------------------------------------------------------------------------


def _invalid_residues(name: str, chars: list[str], index: int, hint: str) -> BlastDeckError:
    shown = ", ".join(_char_name(c) for c in chars[:_MAX_CHARS_LISTED])
    if len(chars) > _MAX_CHARS_LISTED:
        shown += f" and {len(chars) - _MAX_CHARS_LISTED} more"
    what = "an invalid character" if len(chars) == 1 else "invalid characters"
    message = f"{name} contains {what} {shown} (first at residue {index + 1})."
    return _error(ErrorCode.INVALID_RESIDUES, f"{message} {hint}".strip())


def _nucleotide_hint(chars: list[str]) -> str:
    hints = [_common_hint(chars)]
    if any(c.isalpha() or c == "*" for c in chars):
        hints.append(
            "Nucleotide codes are the IUPAC letters ACGTURYSWKMBDHVN; use N for an unknown base."
        )
    return " ".join(h for h in hints if h)


def _common_hint(chars: list[str]) -> str:
    hints = []
    if "-" in chars or "." in chars:
        hints.append("Alignment gaps are not allowed in a query; remove the '-' or '.' characters.")
    if any(c.isdigit() for c in chars):
        hints.append("Digits are not residues; remove position numbers (as in GenBank format).")
    return " ".join(hints)


def _record_name(number: int, defline: str) -> str:
    record_id = QueryRecord(defline, "").id
    if len(record_id) > _MAX_ID_SHOWN:
        record_id = record_id[:_MAX_ID_SHOWN] + "..."
    return f"Sequence {number} ({record_id!r})"


def _char_name(char: str) -> str:
    if char.isprintable() and not char.isspace():
        return repr(char)
    return f"U+{ord(char):04X}"


def _error(code: ErrorCode, message: str) -> BlastDeckError:
    return BlastDeckError(code, message, field=_FIELD)


# --- batching ----------------------------------------------------------------------------------


def _prefix_sums(weights: list[int]) -> list[int]:
    prefix = [0]
    for weight in weights:
        prefix.append(prefix[-1] + weight)
    return prefix
