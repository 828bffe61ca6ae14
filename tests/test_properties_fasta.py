"""Property tests (hypothesis) for the query parser, FASTA output and batching
(blastdeck.domain.fasta): whatever text or bytes come in, the parser answers records or a
BlastDeckError; accepted records survive to_fasta and a re-parse unchanged (the job service
stores to_fasta(records) and the engine parses that text again); batches cover every record
once, in order."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.fasta import (
    NUCLEOTIDE_ALPHABET,
    PROTEIN_ALPHABET,
    QueryLimits,
    QueryRecord,
    parse_query,
    split_batches,
    to_fasta,
)
from blastdeck.domain.programs import Molecule

# New cases every run; a failure prints the blob that replays it (@reproduce_failure).
PROPERTIES = settings(
    max_examples=200,
    deadline=None,
    derandomize=False,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
UNLIMITED = QueryLimits(10**12, 10**12, 10**9, 10**9)  # what the engine re-parses with


def text(chars: st.SearchStrategy[str], max_size: int) -> st.SearchStrategy[str]:
    """Text drawn one character at a time, so each alternative in `chars` keeps its weight
    (st.text would merge them into one range of code points, where a few specials drown)."""
    return st.lists(chars, max_size=max_size).map("".join)


# Every code point, lone surrogates included (a JSON "\ud800" escape decodes to one).
ANY_CHAR = st.characters(codec=None, exclude_categories=())
# Characters with a story: line boundaries to str.splitlines that are no control characters,
# lone surrogates, byte-order mark, zero-width and bidi controls, letters and digits that are
# not ASCII; and the C0/C1 controls (str.splitlines takes some of those for line ends too).
SPECIAL = st.sampled_from(
    "\u2028\u2029\ud800\udfff\ufeff\u200b\u202e\u2066\u00e9\u0130\u00df\ufb00\u0663\uff21>; "
)
CONTROL = st.sampled_from("\n\r\x0b\x0c\x1c\x1d\x1e\x85\x00\x1b\x7f\x9f")
ODD_CHAR = st.one_of(SPECIAL, SPECIAL, ANY_CHAR, CONTROL)
PRINTABLE = st.characters(codec=None, exclude_categories=("Cc", "Cs", "Zl", "Zp"))
LINE_ENDS = st.sampled_from(["\n", "\r\n", "\r"])
# Line ends only some readers take for one, and characters no FASTA file should hold.
ODD_LINE_ENDS = st.sampled_from(["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", ""])
WHITESPACE = st.sampled_from([""] * 8 + [" ", "\t", "\u00a0", "\u3000"])
NUCLEOTIDE_LINE = st.text(alphabet="ACGTUNRYKMSWBDHVacgtun", max_size=90)
PROTEIN_LINE = st.text(alphabet="ACDEFGHIKLMNPQRSTVWYBZXUOJ*acdefghiklmnpqrstvwy", max_size=90)
JUNK_LINE = text(st.one_of(st.sampled_from("ACGT*EFILPQ-.0123456789 \t>;"), ODD_CHAR), 40)


UNICODE_ODD = st.one_of(SPECIAL, PRINTABLE)  # no control characters


@st.composite
def fasta_like(draw: st.DrawFn) -> str:
    """Text shaped like FASTA, with the habits of real files; in one text of three odd Unicode
    in the headers, and in one of three the accidents too (controls, odd line ends, junk)."""
    level = draw(st.integers(0, 2))
    line_ends = st.one_of(LINE_ENDS, ODD_LINE_ENDS) if level == 2 else LINE_ENDS
    header_chars = [PRINTABLE, UNICODE_ODD, st.one_of(ODD_CHAR, PRINTABLE)][level]
    lines = st.one_of(NUCLEOTIDE_LINE, PROTEIN_LINE, *([JUNK_LINE] if level == 2 else []))
    parts = [draw(st.sampled_from([""] * 4 + ["\ufeff", " \n", ";comment\n", "\n\n"]))]
    if draw(st.integers(0, 4)) == 0:  # a bare sequence, without a header
        for _ in range(draw(st.integers(1, 4))):
            parts.append(draw(WHITESPACE) + draw(lines) + draw(line_ends))
        return "".join(parts)
    for _ in range(draw(st.integers(1, 6))):
        parts.append(draw(st.sampled_from([">"] * 8 + [" >", ">>", ";", ""])))
        parts.append(draw(text(header_chars, 40)) + draw(WHITESPACE))
        parts.append(draw(line_ends))
        for _ in range(draw(st.integers(1, 4))):
            parts.append(draw(WHITESPACE) + draw(lines) + draw(WHITESPACE) + draw(line_ends))
    return "".join(parts)


ANY_TEXT = st.one_of(fasta_like(), fasta_like(), text(ODD_CHAR, 300))
ANY_BYTES = st.one_of(
    st.binary(max_size=300),
    fasta_like().map(lambda t: t.encode("utf-8", "surrogatepass")),
    fasta_like().map(lambda t: t.encode("utf-16", "surrogatepass")),
)
LIMITS = st.one_of(
    st.just(QueryLimits()),
    st.builds(
        QueryLimits,
        max_nucleotide_letters=st.integers(1, 300),
        max_protein_letters=st.integers(1, 300),
        max_defline_chars=st.integers(1, 60),
        max_sequences=st.integers(1, 6),
    ),
)
MOLECULES = st.sampled_from(list(Molecule))


def parse_or_error(
    text: str | bytes, molecule: Molecule, limits: QueryLimits
) -> list[QueryRecord] | None:
    """The records, or None after checking the refusal is one of ours and well formed."""
    try:
        return parse_query(text, molecule, limits)
    except BlastDeckError as exc:
        assert exc.code in ErrorCode and exc.field == "query"
        assert exc.message and exc.message == exc.message.strip()
        exc.message.encode("utf-8")  # the message itself travels as UTF-8 JSON
        return None


def check_accepted(records: list[QueryRecord], molecule: Molecule, limits: QueryLimits) -> None:
    """What every accepted query promises the rest of BlastDeck."""
    alphabet = NUCLEOTIDE_ALPHABET if molecule is Molecule.NUCLEOTIDE else PROTEIN_ALPHABET
    assert 1 <= len(records) <= limits.max_sequences
    for record in records:
        assert record.sequence and set(record.sequence) <= alphabet
        assert len(record.sequence) <= limits.max_letters(molecule)
        assert record.defline and record.defline == record.defline.strip()
        assert len(record.defline.splitlines()) == 1, "a defline is one line"
        assert record.id and record.id in record.defline
        record.defline.encode("utf-8")  # stored, and written to the query file, as UTF-8


@PROPERTIES
@given(text=ANY_TEXT, molecule=MOLECULES, limits=LIMITS, width=st.integers(1, 100))
def test_text_is_records_that_round_trip_or_our_error(
    text: str, molecule: Molecule, limits: QueryLimits, width: int
) -> None:
    records = parse_or_error(text, molecule, limits)
    if records is None:
        return
    check_accepted(records, molecule, limits)
    fasta = to_fasta(records, width)
    assert parse_query(fasta, molecule, limits) == records  # the same limits still hold
    assert parse_query(fasta, molecule, UNLIMITED) == records  # what the engine reads back
    assert parse_query(fasta.encode("utf-8"), molecule, limits) == records


@PROPERTIES
@given(header=text(st.one_of(UNICODE_ODD, ODD_CHAR), 30), molecule=MOLECULES)
def test_a_header_is_kept_as_written_or_refused(header: str, molecule: Molecule) -> None:
    """Whatever a header holds, the record keeps exactly it (trimmed) or the query is refused;
    only a line break in it makes it two lines, as it would in any editor."""
    sequence = "ACGTTGCA" if molecule is Molecule.NUCLEOTIDE else "MKTAYIAKQR"
    records = parse_or_error(f">{header}\n{sequence}\n", molecule, UNLIMITED)
    if records is None or len(header.splitlines()) > 1:
        return
    check_accepted(records, molecule, UNLIMITED)
    assert [r.defline for r in records] == [header.strip() or "Query_1"]


@PROPERTIES
@given(data=ANY_BYTES, molecule=MOLECULES, limits=LIMITS)
def test_bytes_are_records_or_our_error(
    data: bytes, molecule: Molecule, limits: QueryLimits
) -> None:
    records = parse_or_error(data, molecule, limits)
    if records is None:
        return
    check_accepted(records, molecule, limits)
    # Bytes mean their UTF-8 text: the same records as the decoded text.
    assert parse_query(data.decode("utf-8"), molecule, limits) == records


@PROPERTIES
@given(
    deflines=st.sampled_from([UNICODE_ODD, ODD_CHAR]).flatmap(
        lambda chars: st.lists(text(chars, 20), min_size=1, max_size=5)
    ),
    sequences=st.lists(st.text(alphabet="ACGTN", min_size=1, max_size=50), min_size=5, max_size=5),
    width=st.integers(1, 30),
)
def test_to_fasta_never_writes_what_parses_differently(
    deflines: list[str], sequences: list[str], width: int
) -> None:
    """to_fasta refuses (ValueError) a record it cannot write faithfully; anything it writes
    reads back as one record per record, with the header it was given."""
    records = [QueryRecord(d, s) for d, s in zip(deflines, sequences, strict=False)]
    try:
        fasta = to_fasta(records, width)
    except ValueError:
        return
    try:
        parsed = parse_query(fasta, Molecule.NUCLEOTIDE, UNLIMITED)
    except BlastDeckError as exc:
        # Only a header with a control character may make the text unreadable (as binary);
        # nothing to_fasta writes may read as other records.
        assert exc.code is ErrorCode.BINARY_DATA, exc.message
        return
    assert len(parsed) == len(records)
    for record, back in zip(records, parsed, strict=True):
        assert back.sequence == record.sequence
        assert back.defline == (record.defline.strip() or back.defline)


@PROPERTIES
@given(
    lengths=st.lists(st.integers(0, 5000), max_size=80),
    slots=st.integers(1, 64),
    smallest_share=st.one_of(st.just(1 / 24), st.floats(1e-6, 1.0)),
)
def test_batches_cover_every_record_once_in_order(
    lengths: list[int], slots: int, smallest_share: float
) -> None:
    records = [QueryRecord(f"r{i}", "A" * n) for i, n in enumerate(lengths)]
    batches = split_batches(records, slots, smallest_share)
    assert all(batches), "no empty batch"
    flat = [record for batch in batches for record in batch]
    assert flat == records and len({id(r) for r in flat}) == len(records)
    total = sum(lengths)
    floor = max(1, math.ceil(total * smallest_share))
    # Never more batches than the size floor allows (plus the rounding to record boundaries).
    assert len(batches) <= max(1, min(len(records), 2 * (total // floor + 1)))
