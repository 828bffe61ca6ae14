"""The BLAST+ options a user may set, checked against the allow-list (`option_table.py`) and
turned into arguments.

Option names are matched exactly, with no normalisation at all, so "-out", "out", "Evalue" and
"evalue; rm" are all simply unknown names. `validate_options` also refuses combinations BLAST+
2.12 would reject only once the job runs (`option_rules.py`).

`blast_arguments` is the only place user options become BLAST arguments; the system owns -query,
-db, -out, -outfmt and -num_threads, and none of them is in the table.
"""

from __future__ import annotations

import math
import re
import reprlib
from collections.abc import Callable, Mapping

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.option_rules import COMBINATION_CHECKS, option_error
from blastdeck.domain.option_table import (
    ALLOWED_OPTIONS,
    INT32_MAX,
    OPTION_LIST,
    YES_NO,
    OptionKind,
    OptionSpec,
    allowed_options,
)
from blastdeck.domain.programs import Program
from blastdeck.domain.taxon_filter import TAXON_OPTIONS

_MAX_VALUE_SHOWN = 40
_INT_TEXT_RE = re.compile(r"[+-]?\d{1,10}")
# A plain decimal number; refuses what float() would also take: "nan", "inf", "1_0", "0x1p3".
_FLOAT_TEXT_RE = re.compile(r"[+-]?(?:\d{1,20}(?:\.\d{0,20})?|\.\d{1,20})(?:[eE][+-]?\d{1,4})?")
_RANGE_TEXT_RE = re.compile(r"(\d{1,10})\s*-\s*(\d{1,10})")
_TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
_FALSE_WORDS = frozenset({"false", "no", "off", "0"})


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
        for spec in OPTION_LIST
        if options.get(spec.name) is not None
    }
    for check in COMBINATION_CHECKS:
        check(program, values)
    return values


def blast_arguments(program: Program, options: Mapping[str, object]) -> list[str]:
    """The BLAST+ argument list for `options`, e.g. ["-evalue", "1e-05", "-ungapped"].

    Validates again (validation is idempotent), so nothing unchecked can ever reach BLAST.
    """
    values = validate_options(program, options)
    arguments: list[str] = []
    for spec in OPTION_LIST:
        if spec.name in values:
            arguments.extend(_format(spec, values[spec.name]))
    return arguments


_DOWNLOAD_IT = (
    "a job keeps its results in every format: download the one you want "
    "(GET /api/jobs/ID/download?format=xml, `blastdeck results ID --format xml`)"
)
_BY_TAXON = (
    "give the taxa in the options taxids or negative_taxids (taxids or names; "
    "BlastDeck writes BLAST's list file of them and their descendants)"
)
# BLAST+ options a user may reach for that a job takes elsewhere: said where, in the refusal.
SET_ELSEWHERE: dict[str, str] = {
    "outfmt": _DOWNLOAD_IT,
    "out": _DOWNLOAD_IT,
    "html": _DOWNLOAD_IT,
    "db": "the database is the job's own field (database, or databases for several)",
    "query": "the query is the job's own field",
    "subject": "a job searches a database: add the FASTA as one first "
    "(POST /api/databases, `blastdeck db add`)",
    "num_threads": "the cluster's slots set BLAST's threads",
    "mt_mode": "the cluster's slots set BLAST's threads",
    "taxidlist": _BY_TAXON,
    "negative_taxidlist": _BY_TAXON,
    "remote": "BlastDeck searches its own databases",
}


def _check_allowed(program: Program, name: object) -> None:
    spec = ALLOWED_OPTIONS.get(name) if isinstance(name, str) else None
    if spec is not None and program in spec.programs:
        return
    shown = f"Option {_show(name)}"
    allowed = ", ".join([*(spec.name for spec in allowed_options(program)), *TAXON_OPTIONS])
    reason = "is not one you can set" if spec is None else f"does not apply to {program.value}"
    elsewhere = SET_ELSEWHERE.get(name) if isinstance(name, str) else None
    if elsewhere:
        reason = f"{reason}: {elsewhere}"
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
    if isinstance(raw, bool) and choices == YES_NO:
        return "yes" if raw else "no"
    if not isinstance(raw, str):
        return None
    wanted = raw.strip().casefold()
    return next((choice for choice in choices if choice.casefold() == wanted), None)


def _parse_bool(spec: OptionSpec, program: Program, raw: object) -> bool | None:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        return bool_word(raw)
    return None


def bool_word(text: str) -> bool | None:
    """A yes/no word as options and settings take it (true/yes/on/1, false/no/off/0, any case
    and spacing); None for any other text."""
    word = text.strip().casefold()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    return None


def _parse_range(spec: OptionSpec, program: Program, raw: object) -> str | None:
    if not isinstance(raw, str) or not (match := _RANGE_TEXT_RE.fullmatch(raw.strip())):
        return None
    start, stop = int(match.group(1)), int(match.group(2))
    return f"{start}-{stop}" if 1 <= start < stop <= INT32_MAX else None


_PARSERS: dict[OptionKind, Callable[[OptionSpec, Program, object], object]] = {
    OptionKind.INT: _parse_int,
    OptionKind.FLOAT: _parse_float,
    OptionKind.CHOICE: _parse_choice,
    OptionKind.BOOL: _parse_bool,
    OptionKind.FLAG: _parse_bool,
    OptionKind.RANGE: _parse_range,
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


# --- small helpers -----------------------------------------------------------------------------


def _invalid(name: str, problem: str) -> BlastDeckError:
    return option_error(name, f"Option {name!r} {problem}")


def _show(value: object) -> str:
    # reprlib, not repr: a value nested thousands deep has no repr (RecursionError), and a
    # huge one need not be printed whole to show its first 40 characters.
    text = _SHORT_REPR.repr(value)
    return text if len(text) <= _MAX_VALUE_SHOWN else text[: _MAX_VALUE_SHOWN - 3] + "..."


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxlevel = 3
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = _SHORT_REPR.maxlong = 4 * _MAX_VALUE_SHOWN
