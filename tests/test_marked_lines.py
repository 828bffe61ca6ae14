"""`export_sources.marked_lines`: the export writers apply their per-line rules only to the lines
it marks and copy the rest whole, so it must mark every line a rule could act on, and give back
the text unchanged."""

from __future__ import annotations

import itertools
import random
import re

import pytest

from blastdeck.results.export_sources import marked_lines, split_lines

# A line-start mark (`\nX`) and a mark anywhere in a line, as the writers use them.
MARKS = (re.compile(r"\nQuery= "), re.compile(r"<Iteration_iter-num>"))
LINES = (
    "Query= q1\n",
    "  <Iteration_iter-num>3</Iteration_iter-num>\n",
    "x <Iteration_iter-num>",  # a mark in a line the lone "\r" below ends
    "\r",
    "\r\n",
    "plain line\n",
    "Query=without space\n",
    "  Query= indented\n",
    "ACGT\n",
    "\n",
)


def needs_mark(line: str) -> bool:
    return line.startswith("Query= ") or "<Iteration_iter-num>" in line


def whole_line_blocks(text: str, rng: random.Random) -> list[str]:
    """`text` cut into blocks after random "\\n"s, as the follower reads it."""
    cuts = [i + 1 for i, ch in enumerate(text) if ch == "\n" and rng.random() < 0.2]
    edges = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(edges) if b > a]


@pytest.mark.parametrize("seed", range(300))
def test_every_line_a_rule_acts_on_is_marked_and_the_text_is_kept(seed: int) -> None:
    rng = random.Random(seed)
    text = "".join(rng.choice(LINES) for _ in range(rng.randrange(1, 60)))
    blocks = whole_line_blocks(text, rng)
    parts = list(marked_lines(blocks, *MARKS))
    assert "".join(t for _, t in parts) == text
    marked = [t for m, t in parts if m]
    assert all(split_lines(t) == [t] for t in marked), "a marked part is one line"
    # what is left unmarked holds no line a rule acts on
    for is_marked, t in parts:
        if not is_marked:
            assert not any(needs_mark(line) for line in split_lines(t)), (t, blocks)
    # every line as the writers split them: the marked ones in the same order
    assert [line for line in split_lines(text) if needs_mark(line)] == [
        line for line in marked if needs_mark(line)
    ]


def test_a_block_without_marks_is_one_stretch_after_its_first_line() -> None:
    block = "head\n" + "ACGT\n" * 1000
    assert list(marked_lines([block], *MARKS)) == [(True, "head\n"), (False, "ACGT\n" * 1000)]


def test_a_mark_of_the_next_line_after_a_marked_region_is_found() -> None:
    """`\\nX` whose "\\n" ends the lines marked just before (here the block's first line)."""
    parts = list(marked_lines(["first\nQuery= a\nrest\n"], *MARKS))
    assert parts == [(True, "first\n"), (True, "Query= a\n"), (False, "rest\n")]
