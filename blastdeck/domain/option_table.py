"""The allow-list of BLAST+ options a user may set: each option once, with its kind, its range
or choices, the programs that accept it (checked against `-help` of BLAST+ 2.12) and its BLAST+
argument. Anything not in the table is refused (`options.py` checks values against it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from blastdeck.domain.programs import PROGRAM_SHAPES, Program

INT32_MAX = 2_147_483_647  # BLAST+ parses integer options into a C int; larger is refused


def query_range(query_loc: str) -> tuple[int, int]:
    """A validated `query_loc` (`START-STOP`, 1-based, inclusive) as (start, stop)."""
    start, _, stop = query_loc.partition("-")
    return int(start), int(stop)


class OptionKind(StrEnum):
    FLOAT = "float"
    INT = "int"
    CHOICE = "choice"
    FLAG = "flag"  # present or absent: `-ungapped`
    BOOL = "bool"  # an explicit value: `-soft_masking false`
    RANGE = "range"  # a 1-based inclusive stretch of positions: `-query_loc 101-250`


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
    # A program's own default where it differs: what /api/options/{program} shows (a blastp
    # form was told "blastn: 11, megablast: 28", and tblastn that SEG is off when it is on)
    program_defaults: Mapping[Program, str] = field(default_factory=dict)
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

    def default_for(self, program: Program) -> str:
        return self.program_defaults.get(program, self.default)

    def choices_for(self, program: Program) -> tuple[str, ...]:
        return self.program_choices.get(program, self.choices)

    def expectation(self, program: Program) -> str:
        """What a valid value looks like, for error messages and the UI."""
        if self.kind is OptionKind.CHOICE:
            return "one of " + ", ".join(self.choices_for(program))
        if self.kind in (OptionKind.FLAG, OptionKind.BOOL):
            return "true or false"
        if self.kind is OptionKind.RANGE:
            return "positions START-STOP, 1-based, START below STOP (e.g. 101-250)"
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
            "default": self.default_for(program),
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
COMPOSITION_PROGRAMS = frozenset({Program.BLASTP, Program.BLASTX, Program.TBLASTN})
GAPPED_PROTEIN_PROGRAMS = _GAPPED & _PROTEIN_SCORED
YES_NO = ("yes", "no")
_MATRICES = ("BLOSUM45", "BLOSUM50", "BLOSUM62", "BLOSUM80", "BLOSUM90", "PAM30", "PAM70", "PAM250")
# NCBI genetic codes BLAST+ 2.12 accepts (7, 8, 17-20 and 32 are unassigned).
_GENETIC_CODES = (*range(1, 7), *range(9, 17), *range(21, 32), 33)
_TASKS = {program: shape.tasks for program, shape in PROGRAM_SHAPES.items() if shape.tasks}

OPTION_LIST: tuple[OptionSpec, ...] = (
    OptionSpec(
        name="query_loc",
        kind=OptionKind.RANGE,
        programs=_ALL,
        summary="Search only this stretch of the query (every query of the job): START-STOP",
        default="the whole query",
    ),
    OptionSpec(
        name="task",
        kind=OptionKind.CHOICE,
        programs=frozenset(_TASKS),
        program_choices=_TASKS,
        summary="Search mode (task) of the program",
        default="megablast for blastn, otherwise the program's own name",
        program_defaults={
            program: "megablast" if program is Program.BLASTN else program.value
            for program in _TASKS
        },
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
        default="depends on the program and task (blastn: 28 megablast, 11 blastn; proteins: 3)",
        # BLAST+ 2.12's, task by task (a task's -outfmt 11 archive records its WordSize)
        program_defaults={
            Program.BLASTN: (
                "depends on the task: 28 for megablast, 11 for blastn, 11 for dc-megablast, "
                "7 for blastn-short"
            ),
            Program.BLASTP: "3 (6 for blastp-fast, 2 for blastp-short)",
            Program.BLASTX: "3 (6 for blastx-fast)",
            Program.TBLASTN: "3 (6 for tblastn-fast)",
            Program.TBLASTX: "3",
        },
    ),
    OptionSpec(
        name="matrix",
        kind=OptionKind.CHOICE,
        programs=_PROTEIN_SCORED,
        choices=_MATRICES,
        summary="Scoring matrix",
        default="BLOSUM62 (PAM30 for blastp-short)",
        program_defaults={program: "BLOSUM62" for program in _PROTEIN_SCORED - {Program.BLASTP}},
    ),
    OptionSpec(
        name="gapopen",
        kind=OptionKind.INT,
        programs=_GAPPED,
        bounds=Bounds(0, 32),
        summary="Cost to open a gap",
        default="depends on the matrix or the reward/penalty",
        # BLAST+ 2.12's, task by task (its XML's Parameters_gap-open); megablast's 0 and 0 make
        # a gap cost by its length alone, from the reward and penalty
        program_defaults={
            Program.BLASTN: (
                "depends on the task: 0 for megablast, 5 for blastn, 5 for dc-megablast, "
                "5 for blastn-short"
            ),
            Program.BLASTP: "11 (9 for blastp-short)",
            Program.BLASTX: "11",
            Program.TBLASTN: "11",
        },
    ),
    OptionSpec(
        name="gapextend",
        kind=OptionKind.INT,
        programs=_GAPPED,
        bounds=Bounds(0, 32),
        summary="Cost to extend a gap",
        default="depends on the matrix or the reward/penalty",
        program_defaults={
            Program.BLASTN: (
                "depends on the task: 0 for megablast, 2 for blastn, 2 for dc-megablast, "
                "2 for blastn-short"
            ),
            Program.BLASTP: "1",
            Program.BLASTX: "1",
            Program.TBLASTN: "1",
        },
    ),
    OptionSpec(
        name="reward",
        kind=OptionKind.INT,
        programs=_BLASTN,
        bounds=Bounds(1, 10),  # BLAST says >= 0, but a zero reward has no statistics
        summary="Reward for a nucleotide match",
        default=(
            "depends on the task: 1 for megablast, 2 for blastn, 2 for dc-megablast, "
            "1 for blastn-short"
        ),
    ),
    OptionSpec(
        name="penalty",
        kind=OptionKind.INT,
        programs=_BLASTN,
        bounds=Bounds(-10, -1),  # BLAST says <= 0, but a zero penalty has no statistics
        summary="Penalty for a nucleotide mismatch",
        default=(
            "depends on the task: -2 for megablast, -3 for blastn, -3 for dc-megablast, "
            "-3 for blastn-short"
        ),
    ),
    OptionSpec(
        name="threshold",
        kind=OptionKind.FLOAT,
        programs=_PROTEIN_SCORED,
        bounds=Bounds(0, exclusive_minimum=True),  # BLAST: "Non-zero threshold required"
        summary="Minimum score for a word to seed an alignment",
        default="depends on the task",
        # BLAST+ 2.12's "Neighboring words threshold", task by task (its pairwise report)
        program_defaults={
            Program.BLASTP: "11 (21 for blastp-fast, 16 for blastp-short)",
            Program.BLASTX: "12 (21 for blastx-fast)",
            Program.TBLASTN: "13 (21 for tblastn-fast)",
            Program.TBLASTX: "13",
        },
    ),
    OptionSpec(
        name="comp_based_stats",
        kind=OptionKind.INT,
        programs=COMPOSITION_PROGRAMS,
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
        choices=YES_NO,
        summary="Filter low-complexity query regions with DUST",
        default="yes",
    ),
    OptionSpec(
        name="seg",
        kind=OptionKind.CHOICE,
        programs=_PROTEIN_SCORED,
        choices=YES_NO,
        summary="Filter low-complexity query regions with SEG",
        default="no for blastp, yes for blastx, tblastn and tblastx",
        program_defaults={  # BLAST+ 2.12's -help: blastp `no', the others `12 2.2 2.5'
            program: "no" if program is Program.BLASTP else "yes" for program in _PROTEIN_SCORED
        },
    ),
    OptionSpec(
        name="soft_masking",
        kind=OptionKind.BOOL,
        programs=_ALL,
        summary="Mask filtered regions for seeding only, not for extension",
        default="true for blastn, false otherwise",
        program_defaults={
            program: "true" if program is Program.BLASTN else "false" for program in _ALL
        },
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

ALLOWED_OPTIONS: Mapping[str, OptionSpec] = {spec.name: spec for spec in OPTION_LIST}


def allowed_options(program: Program) -> list[OptionSpec]:
    """The options `program` accepts, in the order they become arguments."""
    return [spec for spec in OPTION_LIST if program in spec.programs]


def describe_options(program: Program) -> list[dict[str, object]]:
    """JSON-ready descriptions of the options `program` accepts, for the API and the UI."""
    return [spec.describe(program) for spec in allowed_options(program)]


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
