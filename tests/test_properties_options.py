"""Property tests (hypothesis) for the BLAST option allow-list (blastdeck.domain.options).

Validated options are stored as JSON and validated again by the engine before they become
BLAST arguments, so: validation is idempotent and survives JSON; the argument list parses back
into options that validate to the same values and the same arguments; any JSON value at all is
options or a BlastDeckError; and nothing from a user becomes an argument that BLAST could read
as an option, other than the allowed options themselves."""

from __future__ import annotations

import json
import math
import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.option_table import (
    ALLOWED_OPTIONS,
    INT32_MAX,
    OptionKind,
    OptionSpec,
    allowed_options,
)
from blastdeck.domain.options import blast_arguments, validate_options
from blastdeck.domain.programs import Program

PROPERTIES = settings(
    max_examples=200,
    deadline=None,
    derandomize=False,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
PROGRAMS = st.sampled_from(list(Program))
NUMBER_TEXT = re.compile(r"-?\d+(\.\d+)?(e[+-]?\d+)?")  # how BlastDeck writes numbers
TRUE_WORDS, FALSE_WORDS = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def padded(text: str) -> st.SearchStrategy[str]:
    return st.tuples(st.sampled_from(["", " ", "\t"]), st.sampled_from(["", " ", "\n"])).map(
        lambda pad: pad[0] + text + pad[1]
    )


def int_values(spec: OptionSpec, program: Program) -> st.SearchStrategy[object]:
    if spec.values:
        numbers = st.sampled_from(spec.values)
    else:
        bounds = spec.bounds_for(program)
        low = int(bounds.minimum) if bounds.minimum is not None else -INT32_MAX
        high = int(bounds.maximum) if bounds.maximum is not None else INT32_MAX
        numbers = st.integers(low, high)
    return numbers.flatmap(
        lambda n: st.sampled_from([n, float(n), str(n), f"+{n}" if n >= 0 else str(n)]).flatmap(
            lambda v: padded(v) if isinstance(v, str) else st.just(v)
        )
    )


def float_values(spec: OptionSpec, program: Program) -> st.SearchStrategy[object]:
    bounds = spec.bounds_for(program)
    numbers = st.floats(
        min_value=bounds.minimum,
        max_value=bounds.maximum,
        exclude_min=bounds.exclusive_minimum,
        allow_nan=False,
        allow_infinity=False,
    )
    return numbers.flatmap(
        lambda x: st.sampled_from(
            [x, repr(x), f"{x:.6g}", f"{x:e}", *([int(x)] if x.is_integer() else [])]
        ).flatmap(lambda v: padded(v) if isinstance(v, str) else st.just(v))
    )


def choice_values(spec: OptionSpec, program: Program) -> st.SearchStrategy[object]:
    choices = spec.choices_for(program)
    words = st.sampled_from(choices).flatmap(
        lambda c: st.sampled_from([c, c.upper(), c.lower(), c.title()]).flatmap(padded)
    )
    return st.one_of(words, st.booleans()) if set(choices) == {"yes", "no"} else words


def bool_values(spec: OptionSpec, program: Program) -> st.SearchStrategy[object]:
    words = st.sampled_from(TRUE_WORDS + FALSE_WORDS).flatmap(
        lambda w: st.sampled_from([w, w.upper(), w.title()]).flatmap(padded)
    )
    return st.one_of(st.booleans(), words)


def range_values(spec: OptionSpec, program: Program) -> st.SearchStrategy[object]:
    starts = st.integers(1, 10**6)
    return st.tuples(starts, st.integers(1, 10**6)).flatmap(
        lambda pair: st.sampled_from(
            [f"{pair[0]}-{pair[0] + pair[1]}", f" {pair[0]} - {pair[0] + pair[1]} "]
        )
    )


VALUES = {
    OptionKind.RANGE: range_values,
    OptionKind.INT: int_values,
    OptionKind.FLOAT: float_values,
    OptionKind.CHOICE: choice_values,
    OptionKind.BOOL: bool_values,
    OptionKind.FLAG: bool_values,
}


@st.composite
def valid_looking_options(draw: st.DrawFn) -> tuple[Program, dict[str, object]]:
    """A program and a few of its options, each with a value of the right kind, in range,
    written as a person or a JSON client might (combinations may still be refused)."""
    program = draw(PROGRAMS)
    specs = draw(
        st.lists(st.sampled_from(allowed_options(program)), max_size=5, unique_by=lambda s: s.name)
    )
    return program, {spec.name: draw(VALUES[spec.kind](spec, program)) for spec in specs}


JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and infinities too: Python's json reads them
    st.text(max_size=30),
    st.sampled_from(["1e5", "-1", "0x10", "1_000", "nan", "inf", "--evalue", "-out x", "10 -o"]),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
OPTION_NAMES = st.one_of(
    st.sampled_from(sorted(ALLOWED_OPTIONS)),
    st.sampled_from(["-evalue", "Evalue", "out", "query", "db", "num_threads", "evalue ", ""]),
    st.text(max_size=20),
)
DEEP = 3000  # nested far beyond what a JSON parser takes, or repr() can print


def nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def parse_arguments(program: Program, argv: list[str]) -> dict[str, object]:
    """Read BLAST arguments back as BLAST would: each allowed option, then its value (if its
    kind takes one). Fails on anything else, so it also checks the argument list's shape."""
    by_argument = {spec.blast_argument: spec for spec in allowed_options(program)}
    options: dict[str, object] = {}
    items = iter(argv)
    for argument in items:
        spec = by_argument.get(argument)
        assert spec is not None, f"{argument!r} in an option's place is not an allowed option"
        assert spec.name not in options, f"{argument} given twice"
        options[spec.name] = True if spec.kind is OptionKind.FLAG else next(items)
    return options


def check_value_text(spec: OptionSpec, program: Program, value: str) -> None:
    """What BLAST reads as a value is one BlastDeck wrote, never the user's own text."""
    if spec.kind in (OptionKind.INT, OptionKind.FLOAT):
        assert NUMBER_TEXT.fullmatch(value), value
        minimum = spec.bounds_for(program).minimum
        if value.startswith("-"):  # only an option whose range is negative has such values
            assert minimum is not None and minimum < 0, (spec.name, value)
    elif spec.kind is OptionKind.BOOL:
        assert value in ("true", "false")
    elif spec.kind is OptionKind.RANGE:
        start, stop = (int(n) for n in value.split("-"))
        assert value == f"{start}-{stop}" and 1 <= start < stop
    else:
        assert value in spec.choices_for(program)


@PROPERTIES
@given(case=valid_looking_options())
def test_validated_options_make_arguments_that_validate_again(
    case: tuple[Program, dict[str, object]],
) -> None:
    program, options = case
    try:
        values = validate_options(program, options)
    except BlastDeckError as exc:
        # Only a combination BLAST would refuse, for an option that was given.
        assert exc.code is ErrorCode.INVALID_OPTION_VALUE, exc.message
        assert exc.field and exc.field.removeprefix("options.") in options, exc.field
        return
    assert set(values) == {name for name, v in options.items() if v is not None}
    assert validate_options(program, values) == values  # idempotent
    assert validate_options(program, json.loads(json.dumps(values))) == values  # stored as JSON
    argv = blast_arguments(program, options)
    assert argv == blast_arguments(program, values)
    parsed = parse_arguments(program, argv)
    for name, value in parsed.items():
        if value is not True:
            check_value_text(ALLOWED_OPTIONS[name], program, value)  # type: ignore[arg-type]
    # A flag set to false is no argument at all, which means the same to BLAST.
    expected = {
        k: v
        for k, v in values.items()
        if not (ALLOWED_OPTIONS[k].kind is OptionKind.FLAG and v is False)
    }
    assert validate_options(program, parsed) == expected
    assert blast_arguments(program, parsed) == argv  # the arguments are a fixed point


@PROPERTIES
@given(
    program=PROGRAMS,
    options=st.one_of(
        st.dictionaries(OPTION_NAMES, JSON_VALUES, max_size=5),
        JSON_VALUES,
    ),
)
@example(program=Program.BLASTN, options={"evalue": nested(DEEP)})
@example(program=Program.BLASTN, options={"no_such_option": nested(DEEP)})
@example(program=Program.BLASTP, options={"matrix": {"deep": nested(DEEP)}})
@example(program=Program.BLASTN, options={"evalue": "1" * 5000, "word_size": 10**400})
@example(program=Program.BLASTN, options={"penalty": "-3", "reward": "2", "xdrop_gap_final": -0.0})
def test_any_json_is_options_or_our_error(program: Program, options: object) -> None:
    try:
        values = validate_options(program, options)  # type: ignore[arg-type]
    except BlastDeckError as exc:
        assert exc.code in (ErrorCode.OPTION_NOT_ALLOWED, ErrorCode.INVALID_OPTION_VALUE)
        assert exc.message and len(exc.message) < 2000, len(exc.message)
        exc.message.encode("utf-8")
        assert exc.field is None or exc.field.startswith("options")
        return
    assert isinstance(options, dict) or options is None
    argv = blast_arguments(program, values)
    parsed = parse_arguments(program, argv)
    for name, value in parsed.items():
        if value is not True:
            check_value_text(ALLOWED_OPTIONS[name], program, value)  # type: ignore[arg-type]
    for value in values.values():
        if isinstance(value, float):
            assert math.isfinite(value)


@PROPERTIES
@given(program=PROGRAMS, name=OPTION_NAMES, value=JSON_VALUES)
def test_only_allowed_options_ever_become_arguments(
    program: Program, name: str, value: object
) -> None:
    """Whatever the name and value, the arguments hold nothing but allowed options for this
    program and values BlastDeck wrote; an option that is not allowed is refused by name."""
    allowed = {spec.name for spec in allowed_options(program)}
    try:
        argv = blast_arguments(program, {name: value})
    except BlastDeckError as exc:
        if name not in allowed:
            assert exc.code is ErrorCode.OPTION_NOT_ALLOWED
        return
    assert name in allowed, "a name not allowed was taken"
    parse_arguments(program, argv)
    assert not any("\n" in a or "\x00" in a or a != a.strip() for a in argv)
