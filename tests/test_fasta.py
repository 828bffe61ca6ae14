"""Query parsing, residue checks, FASTA output and batching (blastdeck.domain.fasta)."""

from __future__ import annotations

import random

import pytest

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.fasta import (
    NUCLEOTIDE_ALPHABET,
    PROTEIN_ALPHABET,
    QueryLimits,
    QueryRecord,
    detect_molecule,
    parse_query,
    split_batches,
    to_fasta,
)
from blastdeck.domain.programs import Molecule

NT = Molecule.NUCLEOTIDE
AA = Molecule.PROTEIN
PROTEIN = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVVHSLAKWKRQTLGQH"
DNA = "ATGAAAACCGCGTATATTGCGAAACAGCGCCAGATTAGCTTTGTGAAAAGCCATTTTAGCCGCCAGCTGGAAGAACGC"


def refuse(text: str | bytes, molecule: Molecule = NT, **limits: int) -> BlastDeckError:
    with pytest.raises(BlastDeckError) as caught:
        parse_query(text, molecule, QueryLimits(**limits))
    assert caught.value.field == "query"
    return caught.value


# --- accepted input ----------------------------------------------------------------------------


def test_single_record() -> None:
    [record] = parse_query(f">seq1 my gene\n{DNA}\n", NT)
    assert record == QueryRecord("seq1 my gene", DNA)
    assert record.id == "seq1"


def test_multi_record_with_crlf_blank_lines_and_wrapping() -> None:
    text = ">a first\r\nACGT\r\nacgn\r\n\r\n>b\r\n\r\nUUUU\r\nRYKM\r\n"
    records = parse_query(text, NT)
    assert [(r.id, r.defline, r.sequence) for r in records] == [
        ("a", "a first", "ACGTACGN"),
        ("b", "b", "UUUURYKM"),
    ]


def test_old_mac_line_endings() -> None:
    records = parse_query(">a\rACGT\r>b\rGGCC\r", NT)
    assert [(r.id, r.sequence) for r in records] == [("a", "ACGT"), ("b", "GGCC")]


def test_sequence_is_uppercased_and_all_whitespace_removed() -> None:
    [record] = parse_query(">x\n  acg t\tacg\u00a0t  \n", NT)
    assert record.sequence == "ACGTACGT"


def test_leading_bom_blank_lines_and_comment_lines_are_ignored() -> None:
    text = "\ufeff\n\n;old-style comment\n>x desc\n;another comment\nACGT\n"
    [record] = parse_query(text, NT)
    assert (record.defline, record.sequence) == ("x desc", "ACGT")


def test_bytes_input_with_bom() -> None:
    [record] = parse_query(b"\xef\xbb\xbf>x\r\nACGT\r\n", NT)
    assert record.sequence == "ACGT"


def test_bare_sequence_is_one_query() -> None:
    [record] = parse_query("acgtacgt\nACGTNN\n", NT)
    assert (record.defline, record.id, record.sequence) == ("Query_1", "Query_1", "ACGTACGTACGTNN")


def test_bare_protein_with_stop() -> None:
    [record] = parse_query(PROTEIN.lower() + "*", AA)
    assert record.sequence == PROTEIN + "*"


def test_empty_header_gets_a_query_id() -> None:
    records = parse_query(">\nACGT\n>  \nACGT\n", NT)
    assert [r.id for r in records] == ["Query_1", "Query_2"]


def test_header_whitespace_is_trimmed_and_unicode_kept() -> None:
    [record] = parse_query(">  gène\tµ  \nACGT", NT)
    assert record.defline == "gène\tµ"


def test_all_iupac_nucleotide_codes_accepted() -> None:
    [record] = parse_query(">x\nACGTURYSWKMBDHVN", NT)
    assert record.sequence == "ACGTURYSWKMBDHVN"


def test_all_protein_codes_accepted() -> None:
    [record] = parse_query(">x\nACDEFGHIKLMNPQRSTVWYBZXUOJ*", AA)
    assert record.sequence == "ACDEFGHIKLMNPQRSTVWYBZXUOJ*"


def test_short_peptide_made_of_nucleotide_letters_is_a_legal_protein() -> None:
    [record] = parse_query(">p\nGATTACA", AA)
    assert record.sequence == "GATTACA"


def test_sequences_at_the_limits_are_accepted() -> None:
    limits = QueryLimits(max_nucleotide_letters=100, max_defline_chars=10, max_sequences=3)
    text = "".join(f">{'x' * 10}\n{'A' * 100}\n" for _ in range(3))
    assert len(parse_query(text, NT, limits)) == 3


# --- refused input -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\n\r\n", "\ufeff", b"", b" \n"])
def test_empty_query(text: str | bytes) -> None:
    assert refuse(text).code is ErrorCode.EMPTY_QUERY


def test_only_comments_is_empty() -> None:
    assert refuse(";just a comment\n").code is ErrorCode.EMPTY_QUERY


def test_header_without_sequence_names_the_record() -> None:
    error = refuse(">a\nACGT\n>b second\n\n>c\nACGT\n")
    assert error.code is ErrorCode.EMPTY_QUERY
    assert "Sequence 2" in error.message and "'b'" in error.message


def test_header_only() -> None:
    assert refuse(">lonely").code is ErrorCode.EMPTY_QUERY


@pytest.mark.parametrize(
    "text",
    [
        "hello, world!",
        '{"query": "ACGT", "program": "blastn"}',
        "[1, 2, 3]",
        "ACGT ACGT 1234",
        "LOCUS  X\n1 acgtacgt\n",
        "<html><body>ACGT</body></html>",
    ],
)
def test_not_fasta(text: str) -> None:
    error = refuse(text)
    assert error.code is ErrorCode.INVALID_FASTA
    assert "'>'" in error.message  # explains the format


def test_not_fasta_names_line_and_character() -> None:
    error = refuse("ACGT\nACGT,\n")
    assert "line 2" in error.message and "','" in error.message


def test_text_before_first_header() -> None:
    error = refuse("ACGT\n>seq2\nACGT\n")
    assert error.code is ErrorCode.INVALID_FASTA
    assert "before its first '>' header" in error.message


def test_protein_query_to_nucleotide_program() -> None:
    error = refuse(f">prot1\n{PROTEIN}\n")
    assert error.code is ErrorCode.QUERY_MOLECULE_MISMATCH
    assert "protein" in error.message and "'prot1'" in error.message


def test_bare_protein_to_nucleotide_program_is_mismatch_not_invalid() -> None:
    assert refuse(PROTEIN).code is ErrorCode.QUERY_MOLECULE_MISMATCH


def test_protein_with_a_digit_to_nucleotide_program_is_still_mismatch() -> None:
    assert refuse(f">p\n{PROTEIN}7\n").code is ErrorCode.QUERY_MOLECULE_MISMATCH


def test_nucleotide_query_to_protein_program() -> None:
    error = refuse(f">dna1\n{DNA}\n", AA)
    assert error.code is ErrorCode.QUERY_MOLECULE_MISMATCH
    assert "nucleotide" in error.message and "'dna1'" in error.message


def test_mismatch_names_the_offending_record_among_many() -> None:
    error = refuse(f">ok\n{DNA}\n>ok2\n{DNA}\n>bad\n{PROTEIN}\n")
    assert "Sequence 3" in error.message and "'bad'" in error.message


def test_stray_protein_letter_in_dna_is_invalid_residue_with_position() -> None:
    error = refuse(">x\nACGTACGTACGTEACGTACGTACGTACGT\n")
    assert error.code is ErrorCode.INVALID_RESIDUES
    assert "'E'" in error.message and "residue 13" in error.message


@pytest.mark.parametrize("molecule", [NT, AA])
def test_alignment_gaps_refused_with_clear_message(molecule: Molecule) -> None:
    seq = DNA if molecule is NT else PROTEIN
    error = refuse(f">x\n{seq[:10]}-{seq[10:]}\n", molecule)
    assert error.code is ErrorCode.INVALID_RESIDUES
    assert "'-'" in error.message and "residue 11" in error.message and "gap" in error.message


@pytest.mark.parametrize(
    ("sequence", "molecule", "bad"),
    [
        ("ACGT1ACGT", NT, "'1'"),
        ("ACGT.ACGT", NT, "'.'"),
        ("ACGT*ACGT", NT, "'*'"),
        ("ACGTXACGT", NT, "'X'"),
        ("MKTA1YIAK", AA, "'1'"),
        ("MKTA#YIAK", AA, "'#'"),
        ("MKTAéYIAK", AA, "'é'"),
    ],
)
def test_invalid_residues_name_character_and_first_position(
    sequence: str, molecule: Molecule, bad: str
) -> None:
    error = refuse(f">x\n{sequence}\n", molecule)
    assert error.code is ErrorCode.INVALID_RESIDUES
    assert bad in error.message and "residue 5" in error.message and "'x'" in error.message


def test_invalid_residue_position_counts_residues_not_text() -> None:
    error = refuse(">x\nAC GT\nAC!GT\n")
    assert "residue 7" in error.message


def test_nucleotide_sequence_over_limit() -> None:
    error = refuse(f">big\n{'A' * 1001}\n", max_nucleotide_letters=1000)
    assert error.code is ErrorCode.SEQUENCE_TOO_LONG
    assert "1,000" in error.message and "'big'" in error.message


def test_protein_sequence_over_limit_uses_protein_limit() -> None:
    text = f">big\n{PROTEIN * 2}\n"
    error = refuse(text, AA, max_protein_letters=len(PROTEIN))
    assert error.code is ErrorCode.SEQUENCE_TOO_LONG
    assert parse_query(text, AA, QueryLimits(max_nucleotide_letters=10))  # other limit unused


def test_default_nucleotide_limit_is_one_million() -> None:
    assert refuse(">x\n" + "A" * 1_000_001).code is ErrorCode.SEQUENCE_TOO_LONG


def test_100kb_header_rejected() -> None:
    error = refuse(">" + "h" * 100_000 + "\nACGT\n")
    assert error.code is ErrorCode.HEADER_TOO_LONG
    assert "10,000" in error.message


def test_too_many_sequences() -> None:
    error = refuse(">a\nAC\n>b\nAC\n>c\nAC\n", max_sequences=2)
    assert error.code is ErrorCode.TOO_MANY_SEQUENCES
    assert "2" in error.message


@pytest.mark.parametrize(
    "data",
    [
        b">x\nAC\x00GT\n",
        ">x\nAC\x00GT\n",
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00",  # gzip
        b">x\n\xff\xfeACGT",
        "\ufeff>x\nAC\x07GT",
        ">x\x1b[31m\nACGT",
        ">x\nAC\x0cGT",
        ">x\nAC\x85GT",
        "\xff\xfe>\x00x\x00",  # UTF-16 decoded wrongly
    ],
)
def test_binary_data(data: str | bytes) -> None:
    assert refuse(data).code is ErrorCode.BINARY_DATA


def test_nul_byte_is_named() -> None:
    error = refuse(b">x\nACGT\nAC\x00GT\n")
    assert "NUL" in error.message and "line 3" in error.message


def test_invalid_utf8_is_named() -> None:
    error = refuse(b">x\n\xc3\x28ACGT")
    assert error.code is ErrorCode.BINARY_DATA and "UTF-8" in error.message


def test_binary_check_comes_before_fasta_shape() -> None:
    assert refuse("hello\x00, world").code is ErrorCode.BINARY_DATA


# --- molecule detection ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sequence", "molecule"),
    [
        (DNA, NT),
        (DNA.lower(), NT),
        ("ACGUACGUNN", NT),
        (PROTEIN, AA),
        (PROTEIN.lower(), AA),
        ("ACGT ACGT\nACGT", NT),
        ("", NT),
    ],
)
def test_detect_molecule(sequence: str, molecule: Molecule) -> None:
    assert detect_molecule(sequence) is molecule


# --- FASTA output ------------------------------------------------------------------------------


def test_to_fasta_wraps_and_round_trips() -> None:
    records = [QueryRecord("a first", "A" * 25), QueryRecord("b", "C" * 10)]
    text = to_fasta(records, width=10)
    assert text == ">a first\n" + "AAAAAAAAAA\n" * 2 + "AAAAA\n>b\nCCCCCCCCCC\n"
    assert parse_query(text, NT) == records


def test_to_fasta_default_width_and_empty() -> None:
    assert to_fasta([QueryRecord("x", "A" * 81)]) == ">x\n" + "A" * 80 + "\nA\n"
    assert to_fasta([]) == ""
    with pytest.raises(ValueError):
        to_fasta([], width=0)


def test_to_fasta_refuses_a_defline_that_would_forge_records() -> None:
    with pytest.raises(ValueError):
        to_fasta([QueryRecord("a\n>b", "ACGT")])


# --- batching ----------------------------------------------------------------------------------


def _records(lengths: list[int]) -> list[QueryRecord]:
    return [QueryRecord(f"r{i}", "A" * n) for i, n in enumerate(lengths)]


def _letters(batch: list[QueryRecord]) -> int:
    return sum(len(r.sequence) for r in batch)


def _check_batches(records: list[QueryRecord], slots: int) -> list[list[QueryRecord]]:
    batches = split_batches(records, slots)
    assert all(batches), "no batch is empty"
    assert [r for batch in batches for r in batch] == records, "contiguous, in query order"
    total = sum(len(r.sequence) for r in records)
    longest = max((len(r.sequence) for r in records), default=0)
    floor = max(1, -(-total // 24))
    assigned = 0
    for batch in batches:
        # Each batch is its guided share of what was left, to within one record.
        want = max(floor, -(-(total - assigned) // (2 * slots)))
        assert abs(_letters(batch) - want) <= longest or len(batch) == 1
        assigned += _letters(batch)
    return batches


@pytest.mark.parametrize("seed", range(40))
def test_split_batches_properties_random(seed: int) -> None:
    rng = random.Random(seed)
    count = rng.randint(1, 60)
    style = seed % 4
    if style == 0:
        lengths = [rng.randint(1, 1000) for _ in range(count)]
    elif style == 1:
        lengths = [100] * count
    elif style == 2:  # a few giants among many small ones
        lengths = [rng.choice([5, 5, 5, 10_000]) for _ in range(count)]
    else:
        lengths = [rng.randint(1, 3) for _ in range(count)]
    records = _records(lengths)
    for slots in (1, 2, 3, 8):
        _check_batches(records, slots)


def test_split_batches_largest_first_then_shrinking() -> None:
    batches = _check_batches(_records([1400] * 50), 2)
    sizes = [len(b) for b in batches]
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[0] == 12  # a quarter of the work for the first of two slots
    assert sizes[-1] == 2  # the floor: 1/24 of all letters
    assert len(batches) <= 12  # few process start-ups


def test_split_batches_giant_first_record() -> None:
    batches = _check_batches(_records([1000] + [1] * 9), 2)
    assert len(batches[0]) == 1


def test_split_batches_few_records() -> None:
    records = _records([3, 1, 2])
    assert split_batches(records, 2) == [[r] for r in records]
    assert split_batches(records[:1], 4) == [records[:1]]
    assert split_batches([], 4) == []
    with pytest.raises(ValueError):
        split_batches(records, 0)


# --- performance sanity (no timing assertion) --------------------------------------------------


def test_one_million_nucleotides_parse() -> None:
    rng = random.Random(7)
    sequence = "".join(rng.choices("ACGT", k=1_000_000))
    wrapped = "\n".join(sequence[i : i + 60] for i in range(0, len(sequence), 60))
    for body in (sequence, wrapped):
        [record] = parse_query(f">chr\n{body}\n", NT)
        assert len(record.sequence) == 1_000_000


def test_ten_thousand_records_parse() -> None:
    text = "".join(f">r{i} desc\n{DNA}\n" for i in range(10_000))
    records = parse_query(text, NT)
    assert len(records) == 10_000 and records[-1].id == "r9999"


@pytest.mark.parametrize(
    ("molecule", "sequence", "alphabet"),
    [
        (Molecule.NUCLEOTIDE, "ACGTACGTAC{}GTACGTACGT", NUCLEOTIDE_ALPHABET),
        (Molecule.PROTEIN, "MKVLAAGIVG{}LLSPAAQAWE", PROTEIN_ALPHABET),
    ],
)
def test_every_ascii_character_in_a_sequence_is_judged_as_the_alphabets_say(
    molecule: Molecule, sequence: str, alphabet: frozenset[str]
) -> None:
    """The checks run as byte deletions on ASCII text (fast) and fall back to the regular
    expressions only to name what is wrong: each of the 128 characters is accepted exactly
    when it is whitespace or (upper-cased) a letter of the alphabet, and refused as binary
    data exactly when it is a control character other than a line end or a tab."""
    controls = {chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]}
    for code in range(128):
        char = chr(code)
        text = f">q\n{sequence.format(char)}\n"
        try:
            records = parse_query(text, molecule)
        except BlastDeckError as exc:
            assert char not in alphabet and char.upper() not in alphabet, (code, exc.message)
            expected = ErrorCode.BINARY_DATA if char in controls else ErrorCode.INVALID_RESIDUES
            assert exc.code is expected, (code, exc.code, exc.message)
            if expected is ErrorCode.INVALID_RESIDUES:
                assert "first at residue 11" in exc.message, (code, exc.message)
        else:
            assert char.isspace() or char.upper() in alphabet, code
            kept = "" if char.isspace() else char.upper()
            assert records[0].sequence == sequence.format(kept), code
