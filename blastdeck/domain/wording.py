"""Counts in the words people read: "1 query", "2 queries", "12,345 letters"."""

from __future__ import annotations

_PLURALS = {"query": "queries", "HSP": "HSPs", "hit": "hits", "letter": "letters"}


def counted(n: int, noun: str) -> str:
    """`n` and its noun, singular for exactly one (`n` with thousands separators)."""
    word = noun if n == 1 else _PLURALS.get(noun, f"{noun}s")
    return f"{n:,} {word}"


def hits_and_hsps(hits: int, hsps: int) -> str:
    """`12 hits (15 HSPs)`: how a job's results are counted wherever it is said."""
    return f"{counted(hits, 'hit')} ({counted(hsps, 'HSP')})"
