"""The BLAST option allow-list (blastdeck.domain.options)."""

from __future__ import annotations

import json
import math

import pytest

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.option_table import (
    ALLOWED_OPTIONS,
    OptionKind,
    allowed_options,
    describe_options,
)
from blastdeck.domain.options import blast_arguments, validate_options
from blastdeck.domain.programs import PROGRAM_SHAPES, Program

BLASTN, BLASTP, BLASTX, TBLASTN, TBLASTX = (
    Program.BLASTN,
    Program.BLASTP,
    Program.BLASTX,
    Program.TBLASTN,
    Program.TBLASTX,
)
SYSTEM_OWNED = {"-query", "-db", "-out", "-outfmt", "-num_threads", "-remote", "-subject"}


def refuse(program: Program, options: object) -> BlastDeckError:
    with pytest.raises(BlastDeckError) as caught:
        validate_options(program, options)  # type: ignore[arg-type]
    return caught.value


def not_allowed(program: Program, options: object) -> BlastDeckError:
    error = refuse(program, options)
    assert error.code is ErrorCode.OPTION_NOT_ALLOWED
    return error


def invalid(program: Program, options: object, field: str) -> BlastDeckError:
    error = refuse(program, options)
    assert error.code is ErrorCode.INVALID_OPTION_VALUE
    assert error.field == field
    return error


# --- the table ---------------------------------------------------------------------------------


def test_table_never_lets_the_system_owned_arguments_through() -> None:
    arguments = {spec.blast_argument for spec in ALLOWED_OPTIONS.values()}
    assert not arguments & SYSTEM_OWNED
    assert all(spec.blast_argument == f"-{name}" for name, spec in ALLOWED_OPTIONS.items())


def test_table_covers_the_required_options() -> None:
    required = {
        "evalue", "max_target_seqs", "word_size", "task", "matrix", "gapopen", "gapextend",
        "reward", "penalty", "perc_identity", "qcov_hsp_perc", "max_hsps", "dust", "seg",
        "soft_masking", "strand", "query_gencode", "db_gencode", "comp_based_stats", "ungapped",
        "culling_limit", "window_size", "threshold", "xdrop_gap_final",
    }  # fmt: skip
    assert required <= set(ALLOWED_OPTIONS)


@pytest.mark.parametrize(
    ("name", "programs"),
    [
        ("task", {BLASTN, BLASTP, BLASTX, TBLASTN}),
        ("matrix", {BLASTP, BLASTX, TBLASTN, TBLASTX}),
        ("gapopen", {BLASTN, BLASTP, BLASTX, TBLASTN}),
        ("gapextend", {BLASTN, BLASTP, BLASTX, TBLASTN}),
        ("reward", {BLASTN}),
        ("penalty", {BLASTN}),
        ("perc_identity", {BLASTN}),
        ("dust", {BLASTN}),
        ("seg", {BLASTP, BLASTX, TBLASTN, TBLASTX}),
        ("strand", {BLASTN, BLASTX, TBLASTX}),
        ("query_gencode", {BLASTX, TBLASTX}),
        ("db_gencode", {TBLASTN, TBLASTX}),
        ("comp_based_stats", {BLASTP, BLASTX, TBLASTN}),
        ("ungapped", {BLASTN, BLASTP, BLASTX, TBLASTN}),
        ("threshold", {BLASTP, BLASTX, TBLASTN, TBLASTX}),
        ("xdrop_gap_final", {BLASTN, BLASTP, BLASTX, TBLASTN}),
        ("evalue", set(Program)),
        ("max_target_seqs", set(Program)),
        ("soft_masking", set(Program)),
    ],
)
def test_programs_per_option(name: str, programs: set[Program]) -> None:
    assert set(ALLOWED_OPTIONS[name].programs) == programs
    for program in Program:
        listed = {spec.name for spec in allowed_options(program)}
        assert (name in listed) == (program in programs)


def test_task_choices_come_from_program_shapes() -> None:
    for program, shape in PROGRAM_SHAPES.items():
        if shape.tasks:
            assert ALLOWED_OPTIONS["task"].choices_for(program) == shape.tasks


def test_describe_options_is_json_ready() -> None:
    for program in Program:
        described = describe_options(program)
        json.dumps(described)
        by_name = {d["name"]: d for d in described}
        assert set(by_name) == {spec.name for spec in allowed_options(program)}
    blastn = {d["name"]: d for d in describe_options(BLASTN)}
    assert blastn["max_target_seqs"]["minimum"] == 1
    assert blastn["max_target_seqs"]["maximum"] == 5000
    assert blastn["task"]["choices"] == list(PROGRAM_SHAPES[BLASTN].tasks)
    assert blastn["evalue"]["exclusive_minimum"] is True
    assert blastn["word_size"]["accepts"] == "an integer >= 4"
    blastx = {d["name"]: d for d in describe_options(BLASTX)}
    assert blastx["query_gencode"]["accepts"] == "one of 1-6, 9-16, 21-31, 33"


# --- accepted values ---------------------------------------------------------------------------


def test_empty_and_none() -> None:
    assert validate_options(BLASTN, None) == {}
    assert validate_options(BLASTN, {}) == {}
    assert blast_arguments(BLASTN, {}) == []


def test_typical_options_normalised() -> None:
    values = validate_options(
        BLASTN, {"evalue": 1e-5, "max_target_seqs": 50, "word_size": 11, "task": "megablast"}
    )
    assert values == {"task": "megablast", "evalue": 1e-5, "max_target_seqs": 50, "word_size": 11}
    assert isinstance(values["evalue"], float) and isinstance(values["max_target_seqs"], int)


def test_strings_from_forms_are_converted() -> None:
    values = validate_options(
        BLASTN,
        {
            "evalue": "1e-5",
            "max_target_seqs": " 50 ",
            "perc_identity": "90",
            "soft_masking": "false",
            "ungapped": "true",
            "dust": "NO",
            "strand": "Plus",
            "task": "BLASTN",
        },
    )
    assert values == {
        "task": "blastn",
        "evalue": 1e-5,
        "max_target_seqs": 50,
        "perc_identity": 90.0,
        "strand": "plus",
        "dust": "no",
        "soft_masking": False,
        "ungapped": True,
    }


def test_integral_float_accepted_for_int() -> None:
    assert validate_options(BLASTN, {"max_target_seqs": 50.0}) == {"max_target_seqs": 50}


def test_bools_accepted_for_yes_no_options() -> None:
    assert validate_options(BLASTP, {"seg": True}) == {"seg": "yes"}
    assert validate_options(BLASTN, {"dust": False}) == {"dust": "no"}


def test_matrix_is_case_insensitive_and_canonical() -> None:
    assert validate_options(BLASTP, {"matrix": "pam30"}) == {"matrix": "PAM30"}


def test_none_value_means_unset() -> None:
    assert validate_options(BLASTN, {"evalue": None, "max_target_seqs": 5}) == {
        "max_target_seqs": 5
    }


@pytest.mark.parametrize(
    ("program", "name", "value"),
    [
        (BLASTN, "word_size", 4),
        (BLASTN, "word_size", 64),
        (BLASTP, "word_size", 2),
        (BLASTP, "word_size", 7),
        (BLASTX, "word_size", 7),
        (TBLASTN, "word_size", 7),
        (TBLASTX, "word_size", 5),
        (BLASTN, "max_target_seqs", 1),
        (BLASTN, "max_target_seqs", 5000),
        (BLASTN, "perc_identity", 0),
        (BLASTN, "perc_identity", 100),
        (BLASTP, "qcov_hsp_perc", 100.0),
        (BLASTN, "max_hsps", 1),
        (BLASTN, "culling_limit", 0),
        (BLASTP, "window_size", 0),
        (BLASTP, "threshold", 0.5),
        (BLASTP, "xdrop_gap_final", 0),
        (BLASTP, "comp_based_stats", 0),
        (BLASTP, "comp_based_stats", 3),
        (BLASTX, "query_gencode", 1),
        (BLASTX, "query_gencode", 33),
        (TBLASTN, "db_gencode", 11),
        (TBLASTX, "db_gencode", 21),
        (BLASTN, "evalue", 5e-324),
        (BLASTN, "evalue", 1e308),
    ],
)
def test_values_at_the_edges_accepted(program: Program, name: str, value: object) -> None:
    assert validate_options(program, {name: value}) == {name: value}


def test_validation_is_idempotent() -> None:
    options = {
        "task": "blastp-short",
        "evalue": "0.001",
        "matrix": "pam70",
        "gapopen": "10",
        "gapextend": 1,
        "seg": True,
        "soft_masking": "yes",
        "threshold": 11,
    }
    once = validate_options(BLASTP, options)
    assert validate_options(BLASTP, once) == once


# --- hostile and unknown keys ------------------------------------------------------------------

HOSTILE_KEYS = [
    "out",
    "-out",
    "db",
    "-db",
    "num_threads",
    "remote",
    "query",
    "outfmt",
    "import_search_strategy",
    "export_search_strategy",
    "; rm -rf /",
    "evalue; rm",
    "-evalue",
    "--evalue",
    "evalue ",
    " evalue",
    "EVALUE",
    "Evalue",
    "evalue\n-out",
    "subject",
    "use_index",
    "",
]


@pytest.mark.parametrize("key", HOSTILE_KEYS)
@pytest.mark.parametrize("program", list(Program))
def test_hostile_keys_refused(program: Program, key: str) -> None:
    error = not_allowed(program, {key: "1"})
    assert error.field is not None and error.field.startswith("options")
    assert f"Options allowed for {program.value}: " in error.message
    assert "evalue" in error.message


def test_unknown_key_message_lists_allowed_options() -> None:
    error = not_allowed(TBLASTX, {"out": "/etc/passwd"})
    assert error.field == "options.out"
    assert "'out'" in error.message
    for spec in allowed_options(TBLASTX):
        assert spec.name in error.message
    assert "gapopen" not in error.message and "task" not in error.message


def test_non_string_key_refused() -> None:
    assert not_allowed(BLASTN, {1: 2}).field == "options"


def test_huge_key_is_truncated_in_message_and_field() -> None:
    error = not_allowed(BLASTN, {"x" * 100_000: 1})
    assert len(error.message) < 2000 and error.field is not None and len(error.field) < 100


def test_unknown_key_refused_even_next_to_valid_ones() -> None:
    not_allowed(BLASTN, {"evalue": 1e-5, "out": "x"})


@pytest.mark.parametrize(
    ("program", "name", "value"),
    [
        (TBLASTX, "task", "tblastx"),
        (TBLASTX, "gapopen", 11),
        (TBLASTX, "gapextend", 1),
        (TBLASTX, "ungapped", True),
        (TBLASTX, "comp_based_stats", 0),
        (TBLASTX, "xdrop_gap_final", 10),
        (BLASTN, "matrix", "BLOSUM62"),
        (BLASTN, "seg", "no"),
        (BLASTN, "threshold", 11),
        (BLASTN, "query_gencode", 1),
        (BLASTP, "reward", 1),
        (BLASTP, "penalty", -1),
        (BLASTP, "perc_identity", 90),
        (BLASTP, "dust", "no"),
        (BLASTP, "strand", "plus"),
        (BLASTP, "query_gencode", 1),
        (BLASTP, "db_gencode", 1),
        (TBLASTN, "strand", "plus"),
        (TBLASTN, "query_gencode", 2),
        (BLASTX, "db_gencode", 2),
        (BLASTX, "perc_identity", 90),
    ],
)
def test_option_for_another_program_refused(program: Program, name: str, value: object) -> None:
    error = not_allowed(program, {name: value})
    assert f"does not apply to {program.value}" in error.message
    assert error.field == f"options.{name}"


# --- bad values --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "1e-5; rm -rf /",
        "1e-5 -out x",
        "$(reboot)",
        "nan",
        "NaN",
        "inf",
        "-inf",
        "infinity",
        "1_000",
        "0x10",
        "",
        " ",
        math.nan,
        math.inf,
        -math.inf,
        0,
        0.0,
        "0",
        -1,
        "-1e-5",
        "1e-400",  # underflows to zero
        "1e400",  # overflows to infinity
        10**400,
        True,
        False,
        [1e-5],
        {"value": 1e-5},
        b"1e-5",
    ],
)
def test_bad_evalues(value: object) -> None:
    error = invalid(BLASTN, {"evalue": value}, "options.evalue")
    assert "'evalue'" in error.message and "greater than 0" in error.message


@pytest.mark.parametrize(
    ("program", "name", "value", "accepted"),
    [
        (BLASTN, "max_target_seqs", 0, "from 1 to 5000"),
        (BLASTN, "max_target_seqs", 5001, "from 1 to 5000"),
        (BLASTN, "max_target_seqs", 50.5, "from 1 to 5000"),
        (BLASTN, "max_target_seqs", "50.0", "from 1 to 5000"),
        (BLASTN, "max_target_seqs", "1e3", "from 1 to 5000"),
        (BLASTN, "max_target_seqs", True, "from 1 to 5000"),
        (BLASTN, "max_target_seqs", "50; rm", "from 1 to 5000"),
        (BLASTN, "max_target_seqs", math.nan, "from 1 to 5000"),
        (BLASTN, "word_size", 3, ">= 4"),
        (BLASTN, "word_size", 2**31, ">= 4"),
        (BLASTN, "word_size", "99999999999", ">= 4"),
        (BLASTP, "word_size", 1, "from 2 to 7"),
        (BLASTP, "word_size", 8, "from 2 to 7"),
        (BLASTX, "word_size", 8, "from 2 to 7"),
        (TBLASTN, "word_size", 8, "from 2 to 7"),
        (TBLASTX, "word_size", 6, "from 2 to 5"),
        (BLASTN, "perc_identity", 100.5, "from 0 to 100"),
        (BLASTN, "perc_identity", -1, "from 0 to 100"),
        (BLASTP, "qcov_hsp_perc", 101, "from 0 to 100"),
        (BLASTN, "max_hsps", 0, ">= 1"),
        (BLASTN, "culling_limit", -1, ">= 0"),
        (BLASTN, "window_size", -1, ">= 0"),
        (BLASTP, "threshold", 0, "greater than 0"),
        (BLASTP, "threshold", -1, "greater than 0"),
        (BLASTP, "xdrop_gap_final", -0.5, ">= 0"),
        (BLASTP, "gapopen", 33, "from 0 to 32"),
        (BLASTP, "gapextend", -1, "from 0 to 32"),
        (BLASTN, "reward", 0, "from 1 to 10"),
        (BLASTN, "reward", 11, "from 1 to 10"),
        (BLASTN, "penalty", 0, "from -10 to -1"),
        (BLASTN, "penalty", 3, "from -10 to -1"),
        (BLASTN, "penalty", -11, "from -10 to -1"),
        (BLASTP, "comp_based_stats", 4, "from 0 to 3"),
        (BLASTP, "comp_based_stats", "T", "from 0 to 3"),
        (BLASTX, "query_gencode", 0, "1-6, 9-16, 21-31, 33"),
        (BLASTX, "query_gencode", 7, "1-6, 9-16, 21-31, 33"),
        (TBLASTN, "db_gencode", 32, "1-6, 9-16, 21-31, 33"),
        (TBLASTX, "db_gencode", 34, "1-6, 9-16, 21-31, 33"),
        (BLASTN, "task", "rmblastn", "megablast, dc-megablast, blastn, blastn-short"),
        (BLASTN, "task", "blastp", "megablast, dc-megablast, blastn, blastn-short"),
        (BLASTP, "task", "megablast", "blastp, blastp-fast, blastp-short"),
        (BLASTN, "task", "megablast; rm -rf /", "megablast"),
        (BLASTN, "task", 1, "megablast"),
        (BLASTP, "matrix", "BLOSUM100", "BLOSUM45"),
        (BLASTP, "matrix", "/etc/passwd", "PAM250"),
        (BLASTN, "strand", "both strands", "both, plus, minus"),
        (BLASTN, "dust", "20 64 1", "yes, no"),
        (BLASTP, "seg", "12 2.2 2.5", "yes, no"),
        (BLASTN, "soft_masking", "maybe", "true or false"),
        (BLASTN, "soft_masking", 1, "true or false"),
        (BLASTN, "ungapped", "-out x", "true or false"),
    ],
)
def test_bad_values(program: Program, name: str, value: object, accepted: str) -> None:
    error = invalid(program, {name: value}, f"options.{name}")
    assert f"'{name}'" in error.message and accepted in error.message


def test_non_mapping_options() -> None:
    for options in (["evalue", 1], "evalue=1", 5):
        error = invalid(BLASTN, options, "options")
        assert "object" in error.message


def test_bad_value_echo_is_truncated() -> None:
    error = invalid(BLASTN, {"evalue": "9" * 10_000 + "x"}, "options.evalue")
    assert len(error.message) < 300


# --- combinations BLAST refuses at run time ----------------------------------------------------


def test_dc_megablast_word_size() -> None:
    assert validate_options(BLASTN, {"task": "dc-megablast", "word_size": 12})
    invalid(BLASTN, {"task": "dc-megablast", "word_size": 16}, "options.word_size")
    assert validate_options(BLASTN, {"task": "blastn", "word_size": 16})


def test_ungapped_protein_search_needs_composition_stats_off() -> None:
    error = invalid(BLASTP, {"ungapped": True}, "options.ungapped")
    assert "comp_based_stats 0" in error.message
    invalid(BLASTX, {"ungapped": True, "comp_based_stats": 2}, "options.ungapped")
    assert validate_options(TBLASTN, {"ungapped": True, "comp_based_stats": 0})
    assert validate_options(BLASTP, {"ungapped": False})
    assert validate_options(BLASTN, {"ungapped": True})


@pytest.mark.parametrize(
    "options",
    [
        {"gapopen": 11, "gapextend": 1},
        {"gapopen": 13},
        {"gapextend": 2},
        {"matrix": "PAM30"},
        {"matrix": "PAM30", "gapopen": 10},
        {"matrix": "BLOSUM45", "gapopen": 16},
        {"matrix": "PAM250", "gapopen": 21, "gapextend": 1},
        {"task": "blastp-short", "gapopen": 10},
        {"ungapped": True, "comp_based_stats": 0, "gapopen": 5, "gapextend": 5},
    ],
)
def test_supported_protein_gap_costs(options: dict[str, object]) -> None:
    assert validate_options(BLASTP, options)


@pytest.mark.parametrize(
    ("program", "options", "field"),
    [
        (BLASTP, {"gapopen": 5, "gapextend": 5}, "options.gapopen"),
        (BLASTP, {"gapextend": 3}, "options.gapextend"),
        (BLASTX, {"matrix": "PAM30", "gapopen": 11, "gapextend": 1}, "options.gapopen"),
        (TBLASTN, {"matrix": "BLOSUM45", "gapopen": 11}, "options.gapopen"),
        (BLASTP, {"task": "blastp-short", "gapopen": 11, "gapextend": 2}, "options.gapopen"),
    ],
)
def test_unsupported_protein_gap_costs(
    program: Program, options: dict[str, object], field: str
) -> None:
    error = invalid(program, options, field)
    assert "Supported gapopen/gapextend pairs" in error.message


@pytest.mark.parametrize(
    "options",
    [
        {"reward": 1, "penalty": -2},
        {"reward": 2, "penalty": -4},  # a multiple of 1/-2
        {"reward": 1, "penalty": -5},
        {"task": "blastn", "reward": 1, "penalty": -1},
        {"task": "blastn", "reward": 3, "penalty": -4},
        {"task": "blastn", "reward": 2, "penalty": -2, "gapopen": 8, "gapextend": 4},
        {"task": "blastn", "reward": 1, "penalty": -1, "gapopen": 4, "gapextend": 3},
        {"task": "blastn", "reward": 5, "penalty": -4, "gapopen": 30, "gapextend": 12},
        {"task": "blastn", "gapopen": 2, "gapextend": 2},
        {"task": "megablast", "gapopen": 5, "gapextend": 2},
        {"ungapped": True, "reward": 2, "penalty": -1},
        {"ungapped": True, "reward": 5, "penalty": -2},
    ],
)
def test_supported_blastn_scoring(options: dict[str, object]) -> None:
    assert validate_options(BLASTN, options)


@pytest.mark.parametrize(
    ("options", "field", "text"),
    [
        ({"reward": 3, "penalty": -1}, "options.reward", "not a scoring pair"),
        ({"reward": 1, "penalty": -6}, "options.reward", "not a scoring pair"),
        ({"penalty": -1}, "options.penalty", "Gap costs"),  # 1/-1 has no megablast 0/0
        ({"task": "blastn", "reward": 1, "penalty": -5}, "options.reward", "Gap costs"),
        ({"task": "blastn", "gapopen": 1, "gapextend": 1}, "options.gapopen", "Gap costs"),
        ({"task": "blastn", "gapopen": 0, "gapextend": 0}, "options.gapopen", "megablast"),
        ({"gapopen": 3}, "options.gapopen", "Gap costs"),  # megablast extend stays 0
        ({"ungapped": True, "reward": 3, "penalty": -1}, "options.reward", "3 times"),
        (
            {"ungapped": True, "task": "blastn", "gapopen": 0, "gapextend": 0},
            "options.gapopen",
            "megablast",
        ),
    ],
)
def test_unsupported_blastn_scoring(options: dict[str, object], field: str, text: str) -> None:
    assert text in invalid(BLASTN, options, field).message


# --- arguments ---------------------------------------------------------------------------------


def test_blast_arguments_typical() -> None:
    arguments = blast_arguments(
        BLASTN, {"max_target_seqs": "50", "evalue": "1e-5", "task": "megablast"}
    )
    assert arguments == ["-task", "megablast", "-evalue", "1e-05", "-max_target_seqs", "50"]


def test_blast_arguments_order_is_deterministic() -> None:
    options = {"soft_masking": False, "ungapped": True, "evalue": 10, "strand": "minus"}
    reordered = dict(reversed(list(options.items())))
    assert blast_arguments(BLASTN, options) == blast_arguments(BLASTN, reordered)


def test_blast_arguments_flags_and_bools() -> None:
    assert blast_arguments(BLASTN, {"ungapped": True, "soft_masking": False}) == [
        "-soft_masking",
        "false",
        "-ungapped",
    ]
    assert blast_arguments(BLASTN, {"ungapped": False}) == []


@pytest.mark.parametrize(
    ("value", "text"),
    [(1e-5, "1e-05"), (0.001, "0.001"), (10, "10.0"), (5e-324, "5e-324"), (1 / 3, repr(1 / 3))],
)
def test_floats_formatted_exactly(value: float, text: str) -> None:
    assert blast_arguments(BLASTN, {"evalue": value}) == ["-evalue", text]
    assert float(text) == value


def test_negative_penalty_argument() -> None:
    assert blast_arguments(BLASTN, {"task": "blastn", "reward": 1, "penalty": -3}) == [
        "-task",
        "blastn",
        "-reward",
        "1",
        "-penalty",
        "-3",
    ]


def test_blast_arguments_validates_again() -> None:
    with pytest.raises(BlastDeckError) as caught:
        blast_arguments(BLASTN, {"out": "/tmp/x"})
    assert caught.value.code is ErrorCode.OPTION_NOT_ALLOWED


def test_every_argument_is_from_the_table_or_a_formatted_value() -> None:
    options = {
        "task": "blastp",
        "evalue": 0.5,
        "max_target_seqs": 10,
        "max_hsps": 2,
        "qcov_hsp_perc": 50,
        "word_size": 3,
        "matrix": "BLOSUM62",
        "gapopen": 11,
        "gapextend": 1,
        "threshold": 11,
        "comp_based_stats": 0,
        "seg": "yes",
        "soft_masking": True,
        "ungapped": True,
        "culling_limit": 1,
        "window_size": 40,
        "xdrop_gap_final": 25,
    }
    arguments = blast_arguments(BLASTP, options)
    flags = [a for a in arguments if a.startswith("-") and not a[1:2].isdigit()]
    assert flags == [ALLOWED_OPTIONS[name].blast_argument for name in options]
    assert all(" " not in a and ";" not in a for a in arguments)


def test_kinds_are_known() -> None:
    assert {spec.kind for spec in ALLOWED_OPTIONS.values()} == set(OptionKind)


@pytest.mark.parametrize(
    ("raw", "argument"), [("101-250", "101-250"), (" 1 - 2 ", "1-2"), ("5-2147483647", None)]
)
def test_query_loc_is_a_stretch_of_positions(raw: str, argument: str | None) -> None:
    args = blast_arguments(BLASTN, {"query_loc": raw})
    assert args == ["-query_loc", argument or raw.strip()]


@pytest.mark.parametrize(
    "raw", ["250-101", "0-5", "7-7", "a-b", "5", 5, "1-2-3", "-1-5", "1-9999999999"]
)
def test_bad_query_loc_refused(raw: object) -> None:
    with pytest.raises(BlastDeckError) as info:
        validate_options(BLASTP, {"query_loc": raw})
    assert info.value.code is ErrorCode.INVALID_OPTION_VALUE
    assert info.value.field == "options.query_loc" and "START-STOP" in info.value.message


@pytest.mark.parametrize(
    ("key", "said"),
    [
        ("outfmt", "download?format=xml"),
        ("out", "--format xml"),
        ("num_threads", "the cluster's slots"),
        ("taxidlist", "options taxids or negative_taxids"),
        ("db", "the job's own field"),
        ("subject", "blastdeck db add"),
    ],
)
def test_an_option_a_job_takes_elsewhere_says_where(key: str, said: str) -> None:
    error = not_allowed(BLASTN, {key: "x"})
    assert error.code is ErrorCode.OPTION_NOT_ALLOWED and said in error.message
    assert "taxids, negative_taxids." in error.message  # the taxon options are listed too
