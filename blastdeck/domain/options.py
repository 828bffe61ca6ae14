"""The BLAST+ options a user may set, checked against an allow-list and turned into arguments.

Each allowed option is defined once, in `ALLOWED_OPTIONS`: its kind, its range or choices, the
programs that accept it (checked against `-help` of BLAST+ 2.12) and its BLAST+ argument. Anything
not in the table is refused: option names are matched exactly, with no normalisation at all, so
"-out", "out", "Evalue" and "evalue; rm" are all simply unknown names.

`validate_options` also refuses combinations BLAST+ 2.12 would reject only once the job runs (or,
worse, run and silently find nothing), using BLAST's own tables: protein gap costs per matrix,
blastn reward/penalty pairs and their gap costs, dc-megablast word sizes, and ungapped searches
with composition-based statistics.

`blast_arguments` is the only place user options become BLAST arguments; the system owns -query,
-db, -out, -outfmt and -num_threads, and none of them is in the table.
"""

from __future__ import annotations

import math
import re
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.programs import PROGRAM_SHAPES, Program

INT32_MAX = 2_147_483_647  # BLAST+ parses integer options into a C int; larger is refused

_MAX_VALUE_SHOWN = 40
_INT_TEXT_RE = re.compile(r"[+-]?\d{1,10}")
# A plain decimal number; refuses what float() would also take: "nan", "inf", "1_0", "0x1p3".
_FLOAT_TEXT_RE = re.compile(r"[+-]?(?:\d{1,20}(?:\.\d{0,20})?|\.\d{1,20})(?:[eE][+-]?\d{1,4})?")
_TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
_FALSE_WORDS = frozenset({"false", "no", "off", "0"})


class OptionKind(StrEnum):
    FLOAT = "float"
    INT = "int"
    CHOICE = "choice"
    FLAG = "flag"  # present or absent: `-ungapped`
    BOOL = "bool"  # an explicit value: `-soft_masking false`


@dataclass(frozen=True)
class Bounds:
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False

    def contains(self, value: float) -> bool:
        if self.minimum is not None and (
            value < self.minimum or (self.exclusive_minimum and value == self.minimum)
        ):
            return False
        return self.maximum is None or value <= self.maximum

    def describe(self, noun: str) -> str:
        low, high = _plain(self.minimum), _plain(self.maximum)
        if self.minimum is not None and self.maximum is not None:
            return f"{noun} from {low} to {high}"
        if self.minimum is not None:
            return f"{noun} greater than {low}" if self.exclusive_minimum else f"{noun} >= {low}"
        if self.maximum is not None:
            return f"{noun} <= {high}"
        return noun


@dataclass(frozen=True, kw_only=True)
class OptionSpec:
    name: str  # also BLAST's argument name, without the leading '-'
    kind: OptionKind
    programs: frozenset[Program]
    summary: str  # one line for people
    default: str  # BLAST's default, as people read it
    bounds: Bounds = Bounds()
    program_bounds: Mapping[Program, Bounds] = field(default_factory=dict)
    choices: tuple[str, ...] = ()
    program_choices: Mapping[Program, tuple[str, ...]] = field(default_factory=dict)
    values: tuple[int, ...] = ()  # when only some integers in `bounds` are allowed

    @property
    def blast_argument(self) -> str:
        return f"-{self.name}"  # every allowed option keeps BLAST's own name

    def bounds_for(self, program: Program) -> Bounds:
        return self.program_bounds.get(program, self.bounds)

    def choices_for(self, program: Program) -> tuple[str, ...]:
        return self.program_choices.get(program, self.choices)

    def expectation(self, program: Program) -> str:
        """What a valid value looks like, for error messages and the UI."""
        if self.kind is OptionKind.CHOICE:
            return "one of " + ", ".join(self.choices_for(program))
        if self.kind in (OptionKind.FLAG, OptionKind.BOOL):
            return "true or false"
        if self.values:
            return "one of " + _int_ranges(self.values)
        noun = "an integer" if self.kind is OptionKind.INT else "a number"
        return self.bounds_for(program).describe(noun)

    def describe(self, program: Program) -> dict[str, object]:
        """A JSON-ready description of this option for `program`."""
        bounds = self.bounds_for(program)
        numeric = self.kind in (OptionKind.INT, OptionKind.FLOAT)
        return {
            "name": self.name,
            "kind": self.kind.value,
            "summary": self.summary,
            "default": self.default,
            "accepts": self.expectation(program),
            "minimum": bounds.minimum if numeric else None,
            "maximum": bounds.maximum if numeric else None,
            "exclusive_minimum": bounds.exclusive_minimum if numeric else False,
            "choices": list(self.choices_for(program)) or list(self.values) or None,
            "blast_argument": self.blast_argument,
        }


# --- the table ---------------------------------------------------------------------------------

_ALL = frozenset(Program)
_BLASTN = frozenset({Program.BLASTN})
_GAPPED = _ALL - {Program.TBLASTX}  # tblastx is always ungapped
_PROTEIN_SCORED = _ALL - {Program.BLASTN}  # programs that align proteins (or translations)
_NUCLEOTIDE_QUERY = frozenset({Program.BLASTN, Program.BLASTX, Program.TBLASTX})
_COMPOSITION = frozenset({Program.BLASTP, Program.BLASTX, Program.TBLASTN})
_GAPPED_PROTEIN = _GAPPED & _PROTEIN_SCORED
_YES_NO = ("yes", "no")
_MATRICES = ("BLOSUM45", "BLOSUM50", "BLOSUM62", "BLOSUM80", "BLOSUM90", "PAM30", "PAM70", "PAM250")
# NCBI genetic codes BLAST+ 2.12 accepts (7, 8, 17-20 and 32 are unassigned).
_GENETIC_CODES = (*range(1, 7), *range(9, 17), *range(21, 32), 33)
_TASKS = {program: shape.tasks for program, shape in PROGRAM_SHAPES.items() if shape.tasks}

_OPTION_LIST: tuple[OptionSpec, ...] = (
    OptionSpec(
        name="task",
        kind=OptionKind.CHOICE,
        programs=frozenset(_TASKS),
        program_choices=_TASKS,
        summary="Search mode (task) of the program",
        default="megablast for blastn, otherwise the program's own name",
    ),
    OptionSpec(
        name="evalue",
        kind=OptionKind.FLOAT,
        programs=_ALL,
        bounds=Bounds(0, exclusive_minimum=True),
        summary="Expectation value (E) threshold for saving hits",
        default="10",
    ),
    OptionSpec(
        name="max_target_seqs",
        kind=OptionKind.INT,
        programs=_ALL,
        bounds=Bounds(1, 5000),
        summary="Maximum number of aligned sequences to keep",
        default="500",
    ),
    OptionSpec(
        name="max_hsps",
        kind=OptionKind.INT,
        programs=_ALL,
        bounds=Bounds(1),
        summary="Maximum number of HSPs per subject sequence",
        default="no limit",
    ),
    OptionSpec(
        name="perc_identity",
        kind=OptionKind.FLOAT,
        programs=_BLASTN,
        bounds=Bounds(0, 100),
        summary="Minimum percent identity",
        default="0",
    ),
    OptionSpec(
        name="qcov_hsp_perc",
        kind=OptionKind.FLOAT,
        programs=_ALL,
        bounds=Bounds(0, 100),
        summary="Minimum percent query coverage per HSP",
        default="0",
    ),
    OptionSpec(
        name="word_size",
        kind=OptionKind.INT,
        programs=_ALL,
        bounds=Bounds(2, 7),  # blastp, blastx, tblastn: "Word-size must be less than 8"
        program_bounds={
            Program.BLASTN: Bounds(4),
            Program.TBLASTX: Bounds(2, 5),  # "must be less than 6 for protein comparison"
        },
        summary="Length of the initial word matches",
        default="depends on the task (blastn: 11, megablast: 28, blastp: 3)",
    ),
    OptionSpec(
        name="matrix",
        kind=OptionKind.CHOICE,
        programs=_PROTEIN_SCORED,
        choices=_MATRICES,
        summary="Scoring matrix",
        default="BLOSUM62 (PAM30 for blastp-short)",
    ),
    OptionSpec(
        name="gapopen",
        kind=OptionKind.INT,
        programs=_GAPPED,
        bounds=Bounds(0, 32),
        summary="Cost to open a gap",
        default="depends on the matrix or the reward/penalty",
    ),
    OptionSpec(
        name="gapextend",
        kind=OptionKind.INT,
        programs=_GAPPED,
        bounds=Bounds(0, 32),
        summary="Cost to extend a gap",
        default="depends on the matrix or the reward/penalty",
    ),
    OptionSpec(
        name="reward",
        kind=OptionKind.INT,
        programs=_BLASTN,
        bounds=Bounds(1, 10),  # BLAST says >= 0, but a zero reward has no statistics
        summary="Reward for a nucleotide match",
        default="depends on the task (megablast: 1, blastn: 2)",
    ),
    OptionSpec(
        name="penalty",
        kind=OptionKind.INT,
        programs=_BLASTN,
        bounds=Bounds(-10, -1),  # BLAST says <= 0, but a zero penalty has no statistics
        summary="Penalty for a nucleotide mismatch",
        default="depends on the task (megablast: -2, blastn: -3)",
    ),
    OptionSpec(
        name="threshold",
        kind=OptionKind.FLOAT,
        programs=_PROTEIN_SCORED,
        bounds=Bounds(0, exclusive_minimum=True),  # BLAST: "Non-zero threshold required"
        summary="Minimum score for a word to seed an alignment",
        default="depends on the task",
    ),
    OptionSpec(
        name="comp_based_stats",
        kind=OptionKind.INT,
        programs=_COMPOSITION,
        bounds=Bounds(0, 3),
        summary="Composition-based statistics: 0 off, 1, 2 or 3 for BLAST's methods",
        default="2",
    ),
    OptionSpec(
        name="strand",
        kind=OptionKind.CHOICE,
        programs=_NUCLEOTIDE_QUERY,
        choices=("both", "plus", "minus"),
        summary="Query strand(s) to search",
        default="both",
    ),
    OptionSpec(
        name="query_gencode",
        kind=OptionKind.INT,
        programs=frozenset({Program.BLASTX, Program.TBLASTX}),
        bounds=Bounds(1, 33),
        values=_GENETIC_CODES,
        summary="Genetic code to translate the query",
        default="1",
    ),
    OptionSpec(
        name="db_gencode",
        kind=OptionKind.INT,
        programs=frozenset({Program.TBLASTN, Program.TBLASTX}),
        bounds=Bounds(1, 33),
        values=_GENETIC_CODES,
        summary="Genetic code to translate the database",
        default="1",
    ),
    OptionSpec(
        name="dust",
        kind=OptionKind.CHOICE,
        programs=_BLASTN,
        choices=_YES_NO,
        summary="Filter low-complexity query regions with DUST",
        default="yes",
    ),
    OptionSpec(
        name="seg",
        kind=OptionKind.CHOICE,
        programs=_PROTEIN_SCORED,
        choices=_YES_NO,
        summary="Filter low-complexity query regions with SEG",
        default="no (yes for blastx and tblastx)",
    ),
    OptionSpec(
        name="soft_masking",
        kind=OptionKind.BOOL,
        programs=_ALL,
        summary="Mask filtered regions for seeding only, not for extension",
        default="true for blastn, false otherwise",
    ),
    OptionSpec(
        name="ungapped",
        kind=OptionKind.FLAG,
        programs=_GAPPED,
        summary="Perform ungapped alignment only",
        default="false",
    ),
    OptionSpec(
        name="culling_limit",
        kind=OptionKind.INT,
        programs=_ALL,
        bounds=Bounds(0),
        summary="Drop a hit enveloped by at least this many higher-scoring hits",
        default="no culling",
    ),
    OptionSpec(
        name="window_size",
        kind=OptionKind.INT,
        programs=_ALL,
        bounds=Bounds(0),
        summary="Multiple-hits window size; 0 for the one-hit algorithm",
        default="depends on the task",
    ),
    OptionSpec(
        name="xdrop_gap_final",
        kind=OptionKind.FLOAT,
        programs=_GAPPED,
        bounds=Bounds(0),
        summary="X-dropoff, in bits, for the final gapped alignment",
        default="depends on the program",
    ),
)

ALLOWED_OPTIONS: Mapping[str, OptionSpec] = {spec.name: spec for spec in _OPTION_LIST}


def allowed_options(program: Program) -> list[OptionSpec]:
    """The options `program` accepts, in the order they become arguments."""
    return [spec for spec in _OPTION_LIST if program in spec.programs]


def describe_options(program: Program) -> list[dict[str, object]]:
    """JSON-ready descriptions of the options `program` accepts, for the API and the UI."""
    return [spec.describe(program) for spec in allowed_options(program)]


# --- validation --------------------------------------------------------------------------------


def validate_options(program: Program, options: Mapping[str, object] | None) -> dict[str, object]:
    """Normalised, typed values for the allowed options in `options`; refuse anything else.

    A value of None means "not set" and is dropped. The result is in table order.
    """
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise BlastDeckError(
            ErrorCode.INVALID_OPTION_VALUE,
            "BLAST options must be an object of option names and values, "
            'such as {"evalue": 1e-5, "max_target_seqs": 50}.',
            field="options",
        )
    for name in options:
        _check_allowed(program, name)
    values = {
        spec.name: _coerce(spec, program, options[spec.name])
        for spec in _OPTION_LIST
        if options.get(spec.name) is not None
    }
    for check in _COMBINATION_CHECKS:
        check(program, values)
    return values


def blast_arguments(program: Program, options: Mapping[str, object]) -> list[str]:
    """The BLAST+ argument list for `options`, e.g. ["-evalue", "1e-05", "-ungapped"].

    Validates again (validation is idempotent), so nothing unchecked can ever reach BLAST.
    """
    values = validate_options(program, options)
    arguments: list[str] = []
    for spec in _OPTION_LIST:
        if spec.name in values:
            arguments.extend(_format(spec, values[spec.name]))
    return arguments


def _check_allowed(program: Program, name: object) -> None:
    spec = ALLOWED_OPTIONS.get(name) if isinstance(name, str) else None
    if spec is not None and program in spec.programs:
        return
    shown = f"Option {_show(name)}"
    allowed = ", ".join(spec.name for spec in allowed_options(program))
    reason = "is not one you can set" if spec is None else f"does not apply to {program.value}"
    raise BlastDeckError(
        ErrorCode.OPTION_NOT_ALLOWED,
        f"{shown} {reason}. Options allowed for {program.value}: {allowed}.",
        field=f"options.{name[:_MAX_VALUE_SHOWN]}" if isinstance(name, str) else "options",
    )


def _coerce(spec: OptionSpec, program: Program, raw: object) -> object:
    value = _PARSERS[spec.kind](spec, program, raw)
    if value is None or not _in_range(spec, program, value):
        raise _invalid(spec.name, f"must be {spec.expectation(program)}; got {_show(raw)}.")
    return value


def _in_range(spec: OptionSpec, program: Program, value: object) -> bool:
    if spec.values:
        return value in spec.values
    if isinstance(value, int | float) and not isinstance(value, bool):
        return spec.bounds_for(program).contains(value)
    return True


def _parse_int(spec: OptionSpec, program: Program, raw: object) -> int | None:
    if isinstance(raw, bool):  # True is an int to Python, not to a person
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # 50.0 from a JSON client is 50
    elif isinstance(raw, str) and _INT_TEXT_RE.fullmatch(raw.strip()):
        raw = int(raw.strip())
    if isinstance(raw, int) and -INT32_MAX <= raw <= INT32_MAX:
        return raw
    return None


def _parse_float(spec: OptionSpec, program: Program, raw: object) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        number = _to_float(raw)
    elif isinstance(raw, str) and _FLOAT_TEXT_RE.fullmatch(raw.strip()):
        number = _to_float(raw.strip())
    else:
        return None
    if number is None or not math.isfinite(number):
        return None
    return number + 0.0  # -0.0 is 0.0: no argument BLAST reads a minus sign in for nothing


def _to_float(raw: int | float | str) -> float | None:
    try:
        return float(raw)
    except OverflowError:  # an int too large for a float
        return None


def _parse_choice(spec: OptionSpec, program: Program, raw: object) -> str | None:
    choices = spec.choices_for(program)
    if isinstance(raw, bool) and choices == _YES_NO:
        return "yes" if raw else "no"
    if not isinstance(raw, str):
        return None
    wanted = raw.strip().casefold()
    return next((choice for choice in choices if choice.casefold() == wanted), None)


def _parse_bool(spec: OptionSpec, program: Program, raw: object) -> bool | None:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        word = raw.strip().casefold()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    return None


_PARSERS: dict[OptionKind, Callable[[OptionSpec, Program, object], object]] = {
    OptionKind.INT: _parse_int,
    OptionKind.FLOAT: _parse_float,
    OptionKind.CHOICE: _parse_choice,
    OptionKind.BOOL: _parse_bool,
    OptionKind.FLAG: _parse_bool,
}


def _format(spec: OptionSpec, value: object) -> list[str]:
    if spec.kind is OptionKind.FLAG:
        return [spec.blast_argument] if value else []
    if spec.kind is OptionKind.BOOL:
        return [spec.blast_argument, "true" if value else "false"]
    if spec.kind is OptionKind.FLOAT:
        assert isinstance(value, float)
        return [spec.blast_argument, repr(value)]  # shortest text that reads back exactly
    return [spec.blast_argument, str(value)]


# --- combinations BLAST would refuse at run time -----------------------------------------------

# Gap costs (open, extend) BLAST+ 2.12 has statistics for, per matrix (its error output), and
# each matrix's default costs.
# fmt: off
_PROTEIN_GAP_COSTS: dict[str, tuple[tuple[int, int], ...]] = {
    "BLOSUM45": (
        (13, 3), (12, 3), (11, 3), (10, 3), (16, 2), (15, 2), (14, 2), (13, 2), (12, 2),
        (19, 1), (18, 1), (17, 1), (16, 1),
    ),
    "BLOSUM50": (
        (13, 3), (12, 3), (11, 3), (10, 3), (9, 3), (16, 2), (15, 2), (14, 2), (13, 2), (12, 2),
        (19, 1), (18, 1), (17, 1), (16, 1), (15, 1),
    ),
    "BLOSUM62": (
        (11, 2), (10, 2), (9, 2), (8, 2), (7, 2), (6, 2), (13, 1), (12, 1), (11, 1), (10, 1),
        (9, 1),
    ),
    "BLOSUM80": ((25, 2), (13, 2), (9, 2), (8, 2), (7, 2), (6, 2), (11, 1), (10, 1), (9, 1)),
    "BLOSUM90": ((9, 2), (8, 2), (7, 2), (6, 2), (11, 1), (10, 1), (9, 1)),
    "PAM30": ((7, 2), (6, 2), (5, 2), (10, 1), (9, 1), (8, 1), (15, 3), (14, 2), (14, 1), (13, 3)),
    "PAM70": ((8, 2), (7, 2), (6, 2), (11, 1), (10, 1), (9, 1), (11, 2), (12, 3)),
    "PAM250": (
        (15, 3), (14, 3), (13, 3), (12, 3), (11, 3), (17, 2), (16, 2), (15, 2), (14, 2), (13, 2),
        (21, 1), (20, 1), (19, 1), (18, 1), (17, 1),
    ),
}
_PROTEIN_DEFAULT_GAP_COSTS: dict[str, tuple[int, int]] = {
    "BLOSUM45": (14, 2), "BLOSUM50": (13, 2), "BLOSUM62": (11, 1), "BLOSUM80": (10, 1),
    "BLOSUM90": (10, 1), "PAM30": (9, 1), "PAM70": (10, 1), "PAM250": (14, 2),
}
# fmt: on


@dataclass(frozen=True)
class _NucleotideScoring:
    """BLAST's statistics for one reward/penalty pair (in lowest terms)."""

    gap_costs: tuple[tuple[int, int], ...]  # tabulated (open, extend)
    at_least: tuple[int, int]  # costs >= these in both are treated as ungapped, so allowed
    linear: bool  # megablast's 0/0 (linear gap costs) is supported


# fmt: off
_NUCLEOTIDE_SCORING: dict[tuple[int, int], _NucleotideScoring] = {
    (1, -1): _NucleotideScoring(
        ((3, 2), (2, 2), (1, 2), (0, 2), (4, 1), (3, 1), (2, 1)), (4, 2), linear=False
    ),
    (1, -2): _NucleotideScoring(
        ((2, 2), (1, 2), (0, 2), (3, 1), (2, 1), (1, 1)), (2, 2), linear=True
    ),
    (1, -3): _NucleotideScoring(((2, 2), (1, 2), (0, 2), (2, 1), (1, 1)), (2, 2), linear=True),
    (1, -4): _NucleotideScoring(((1, 2), (0, 2), (2, 1), (1, 1)), (2, 2), linear=True),
    (1, -5): _NucleotideScoring(((3, 3),), (3, 3), linear=True),
    (2, -3): _NucleotideScoring(
        ((4, 4), (2, 4), (0, 4), (3, 3), (6, 2), (5, 2), (4, 2), (2, 2)), (6, 4), linear=True
    ),
    (2, -5): _NucleotideScoring(((2, 4), (0, 4), (4, 2), (2, 2)), (4, 4), linear=True),
    (2, -7): _NucleotideScoring(((2, 4), (0, 4), (4, 2), (2, 2)), (4, 4), linear=True),
    (3, -2): _NucleotideScoring(((5, 5),), (5, 5), linear=False),
    (3, -4): _NucleotideScoring(
        ((6, 3), (5, 3), (4, 3), (6, 2), (5, 2), (4, 2)), (6, 3), linear=False
    ),
    (4, -5): _NucleotideScoring(((6, 5), (5, 5), (4, 5), (3, 5)), (12, 8), linear=True),
    (5, -4): _NucleotideScoring(((10, 6), (8, 6)), (25, 10), linear=False),
}
# fmt: on
# blastn's defaults per task: (reward, penalty, gapopen, gapextend).
_BLASTN_DEFAULTS: dict[str, tuple[int, int, int, int]] = {
    "megablast": (1, -2, 0, 0),
    "dc-megablast": (2, -3, 5, 2),
    "blastn": (2, -3, 5, 2),
    "blastn-short": (1, -3, 5, 2),
}


def _check_dc_megablast_word_size(program: Program, values: Mapping[str, object]) -> None:
    if values.get("task") == "dc-megablast" and values.get("word_size") not in (None, 11, 12):
        raise _option_error("word_size", "With task dc-megablast, word_size must be 11 or 12.")


def _check_ungapped_composition(program: Program, values: Mapping[str, object]) -> None:
    # BLAST's default composition-based statistics need gapped alignments.
    if program in _COMPOSITION and values.get("ungapped") and values.get("comp_based_stats") != 0:
        raise _option_error(
            "ungapped",
            f"An ungapped {program.value} search needs comp_based_stats 0: composition-based "
            "statistics (on by default) work only with gapped alignments.",
        )


def _check_protein_gap_costs(program: Program, values: Mapping[str, object]) -> None:
    given = _given_gap_option(values)
    if program not in _GAPPED_PROTEIN or given is None or values.get("ungapped"):
        return  # an ungapped search never uses gap costs, and BLAST does not check them
    default_matrix = "PAM30" if values.get("task") == "blastp-short" else "BLOSUM62"
    matrix = str(values.get("matrix", default_matrix))
    default_open, default_extend = _PROTEIN_DEFAULT_GAP_COSTS[matrix]
    costs = (values.get("gapopen", default_open), values.get("gapextend", default_extend))
    if costs not in _PROTEIN_GAP_COSTS[matrix]:
        supported = ", ".join(f"{o}/{e}" for o, e in _PROTEIN_GAP_COSTS[matrix])
        raise _option_error(
            given,
            f"Gap costs gapopen {costs[0]} with gapextend {costs[1]} are not supported with matrix "
            f"{matrix}. Supported gapopen/gapextend pairs: {supported}.",
        )


def _check_nucleotide_scoring(program: Program, values: Mapping[str, object]) -> None:
    names = ("reward", "penalty", "gapopen", "gapextend")
    if program is not Program.BLASTN or not any(name in values for name in names):
        return  # each task's own scoring is supported
    task = str(values.get("task", PROGRAM_SHAPES[Program.BLASTN].default_task))
    reward, penalty, gap_open, gap_extend = (
        int(values.get(name, default))
        for name, default in zip(names, _BLASTN_DEFAULTS[task], strict=True)
    )
    if (gap_open, gap_extend) == (0, 0) and task != "megablast":
        raise _option_error(
            _given_gap_option(values) or "task",
            "Gap costs gapopen 0 with gapextend 0 (linear gap costs) need task megablast.",
        )
    if values.get("ungapped"):
        _check_ungapped_nucleotide_scoring(values, reward, penalty)
        return
    divisor = math.gcd(reward, penalty)
    scoring = _NUCLEOTIDE_SCORING.get((reward // divisor, penalty // divisor))
    if scoring is None:
        raise _option_error(
            _scoring_option(values),
            f"Reward {reward} with penalty {penalty} is not a scoring pair BLAST has statistics "
            f"for (task {task}). Supported reward/penalty pairs, or multiples of them: "
            + ", ".join(f"{r}/{p}" for r, p in _NUCLEOTIDE_SCORING)
            + ".",
        )
    _check_nucleotide_gap_costs(values, task, (reward, penalty), (gap_open, gap_extend))


def _check_ungapped_nucleotide_scoring(
    values: Mapping[str, object], reward: int, penalty: int
) -> None:
    # Ungapped statistics are computed, not tabulated; they exist only if a random alignment
    # scores below zero on average. Otherwise BLAST warns and silently finds nothing.
    if reward >= 3 * -penalty:
        raise _option_error(
            _scoring_option(values),
            f"Reward {reward} with penalty {penalty} gives random alignments a positive average "
            "score, so BLAST cannot compute statistics; the reward must be less than 3 times "
            "the size of the penalty.",
        )


def _check_nucleotide_gap_costs(
    values: Mapping[str, object], task: str, pair: tuple[int, int], costs: tuple[int, int]
) -> None:
    # A multiple of a tabulated reward/penalty pair has its gap costs scaled the same way.
    divisor = math.gcd(*pair)
    scoring = _NUCLEOTIDE_SCORING[(pair[0] // divisor, pair[1] // divisor)]
    tabulated = [(o * divisor, e * divisor) for o, e in scoring.gap_costs]
    least_open, least_extend = (c * divisor for c in scoring.at_least)
    if costs == (0, 0):
        if scoring.linear:  # megablast, checked by the caller
            return
    elif costs in tabulated or (costs[0] >= least_open and costs[1] >= least_extend):
        return
    linear = "0/0 (megablast only), " if scoring.linear else ""
    supported = ", ".join(f"{o}/{e}" for o, e in tabulated)
    raise _option_error(
        _given_gap_option(values) or _scoring_option(values),
        f"Gap costs gapopen {costs[0]} with gapextend {costs[1]} are not supported with reward "
        f"{pair[0]} and penalty {pair[1]} (task {task}). Supported gapopen/gapextend: {linear}"
        f"{supported}, or any values of at least {least_open}/{least_extend}.",
    )


def _scoring_option(values: Mapping[str, object]) -> str:
    return "reward" if "reward" in values else "penalty"


def _given_gap_option(values: Mapping[str, object]) -> str | None:
    return next((name for name in ("gapopen", "gapextend") if name in values), None)


_COMBINATION_CHECKS: tuple[Callable[[Program, Mapping[str, object]], None], ...] = (
    _check_dc_megablast_word_size,
    _check_ungapped_composition,
    _check_protein_gap_costs,
    _check_nucleotide_scoring,
)


# --- small helpers -----------------------------------------------------------------------------


def _invalid(name: str, problem: str) -> BlastDeckError:
    return _option_error(name, f"Option {name!r} {problem}")


def _option_error(name: str, message: str) -> BlastDeckError:
    """A refused option value; `name` is the option the person should change."""
    return BlastDeckError(ErrorCode.INVALID_OPTION_VALUE, message, field=f"options.{name}")


def _show(value: object) -> str:
    # reprlib, not repr: a value nested thousands deep has no repr (RecursionError), and a
    # huge one need not be printed whole to show its first 40 characters.
    text = _SHORT_REPR.repr(value)
    return text if len(text) <= _MAX_VALUE_SHOWN else text[: _MAX_VALUE_SHOWN - 3] + "..."


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxlevel = 3
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = _SHORT_REPR.maxlong = 4 * _MAX_VALUE_SHOWN


def _plain(number: float | None) -> str:
    if number is None:
        return ""
    return str(int(number)) if float(number).is_integer() else repr(number)


def _int_ranges(values: tuple[int, ...]) -> str:
    """(1, 2, 3, 5) -> "1-3, 5"."""
    runs: list[list[int]] = []
    for value in sorted(values):
        if runs and value == runs[-1][1] + 1:
            runs[-1][1] = value
        else:
            runs.append([value, value])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
