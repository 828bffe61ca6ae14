"""Combinations of BLAST+ options that BLAST+ 2.12 would reject only once the job runs (or,
worse, run and silently find nothing), refused up front using BLAST's own tables: protein gap
costs per matrix, blastn reward/penalty pairs and their gap costs, dc-megablast word sizes, and
ungapped searches with composition-based statistics.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.option_table import (
    COMPOSITION_PROGRAMS,
    GAPPED_PROTEIN_PROGRAMS,
    query_range,
)
from blastdeck.domain.programs import PROGRAM_SHAPES, Program

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
        raise option_error("word_size", "With task dc-megablast, word_size must be 11 or 12.")


def _check_ungapped_composition(program: Program, values: Mapping[str, object]) -> None:
    # BLAST's default composition-based statistics need gapped alignments.
    if (
        program in COMPOSITION_PROGRAMS
        and values.get("ungapped")
        and values.get("comp_based_stats") != 0
    ):
        raise option_error(
            "ungapped",
            f"An ungapped {program.value} search needs comp_based_stats 0: composition-based "
            "statistics (on by default) work only with gapped alignments.",
        )


def _check_protein_gap_costs(program: Program, values: Mapping[str, object]) -> None:
    given = _given_gap_option(values)
    if program not in GAPPED_PROTEIN_PROGRAMS or given is None or values.get("ungapped"):
        return  # an ungapped search never uses gap costs, and BLAST does not check them
    default_matrix = "PAM30" if values.get("task") == "blastp-short" else "BLOSUM62"
    matrix = str(values.get("matrix", default_matrix))
    default_open, default_extend = _PROTEIN_DEFAULT_GAP_COSTS[matrix]
    costs = (values.get("gapopen", default_open), values.get("gapextend", default_extend))
    if costs not in _PROTEIN_GAP_COSTS[matrix]:
        supported = ", ".join(f"{o}/{e}" for o, e in _PROTEIN_GAP_COSTS[matrix])
        raise option_error(
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
        raise option_error(
            _given_gap_option(values) or "task",
            "Gap costs gapopen 0 with gapextend 0 (linear gap costs) need task megablast.",
        )
    if values.get("ungapped"):
        _check_ungapped_nucleotide_scoring(values, reward, penalty)
        return
    divisor = math.gcd(reward, penalty)
    scoring = _NUCLEOTIDE_SCORING.get((reward // divisor, penalty // divisor))
    if scoring is None:
        raise option_error(
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
        raise option_error(
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
    raise option_error(
        _given_gap_option(values) or _scoring_option(values),
        f"Gap costs gapopen {costs[0]} with gapextend {costs[1]} are not supported with reward "
        f"{pair[0]} and penalty {pair[1]} (task {task}). Supported gapopen/gapextend: {linear}"
        f"{supported}, or any values of at least {least_open}/{least_extend}.",
    )


def _scoring_option(values: Mapping[str, object]) -> str:
    return "reward" if "reward" in values else "penalty"


def _given_gap_option(values: Mapping[str, object]) -> str | None:
    return next((name for name in ("gapopen", "gapextend") if name in values), None)


COMBINATION_CHECKS: tuple[Callable[[Program, Mapping[str, object]], None], ...] = (
    _check_dc_megablast_word_size,
    _check_ungapped_composition,
    _check_protein_gap_costs,
    _check_nucleotide_scoring,
)


# Queries named in a query_loc refusal; the rest are counted.
_SHORT_QUERIES_NAMED = 5


def check_query_loc_reaches_queries(
    options: Mapping[str, object], queries: Sequence[tuple[str, int]]
) -> None:
    """Refuse a `query_loc` that starts past the end of a query ((id, length) pairs).

    BLAST+ 2.12 leaves such a query out of its report without a word (its batch's other
    queries are searched), and fails ("Empty CBlastQueryVector") when every query of a run is
    that short: a mistake either way, so it is said before the job runs. A STOP past a query's
    end is BLAST's to cut, as it does, to the query's last letter."""
    if not isinstance(query_loc := options.get("query_loc"), str):
        return
    start, _ = query_range(query_loc)
    short = [(name, length) for name, length in queries if length < start]
    if not short:
        return
    shown = short[:_SHORT_QUERIES_NAMED]
    named = ", ".join(f"{name or '(unnamed)'} ({length:,} letters)" for name, length in shown)
    more = len(short) - _SHORT_QUERIES_NAMED
    raise option_error(
        "query_loc",
        f"query_loc {query_loc} starts at position {start:,}, after the end of "
        f"{len(short):,} of the {len(queries):,} queries: {named}"
        f"{f' and {more:,} more' if more > 0 else ''}. BLAST would leave such a query out of "
        "its report; give a START within every query, or search those queries in another job.",
    )


def option_error(name: str, message: str) -> BlastDeckError:
    """A refused option value; `name` is the option the person should change."""
    return BlastDeckError(ErrorCode.INVALID_OPTION_VALUE, message, field=f"options.{name}")
