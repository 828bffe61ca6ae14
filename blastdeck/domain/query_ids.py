"""A query given as sequence ids rather than sequences: the rule that tells them apart.

NCBI's BLAST takes an accession or a GI as the query (`QUERY=8332116`, the first example of
Biopython's tutorial), and researchers paste "NR_025211.1" or "P69905" into a query box the
same way. BlastDeck reads such ids from its own databases (`query_lookup.py`); this module only
decides whether a query text is a list of ids, without touching a database.

A text is a list of ids when it has no FASTA header and every word in it (split on whitespace
and commas) could be an id and could not be sequence letters: it has a digit, `_` or `|`
(accessions, GIs, `sp|P69905|HBA_HUMAN`, `HBA_HUMAN`). A bare sequence never has one of those,
so letters only are read as a sequence; so is a word longer than any accession that is nearly
all letters (a pasted sequence with a stray digit), which then gets the FASTA gate's message
naming the stray character. `.`, `-` and `:` may be part of an id (`NR_025211.1`) but are not
evidence of one: they are also alignment gaps, which the FASTA gate explains.
"""

from __future__ import annotations

import re

MAX_ID_CHARS = 100
# What an id may be made of: what blastdbcmd's -entry_batch reads as one entry (no whitespace,
# no comma) and nothing a shell, a path or a FASTA header would treat specially.
_ID = re.compile(rf"[A-Za-z0-9_.|:\-]{{1,{MAX_ID_CHARS}}}")
_ID_EVIDENCE = re.compile(r"[0-9_|]")
_SEPARATORS = re.compile(r"[\s,]+")
# Longer than NCBI's accessions (at most 15 characters with the version; `sp|...|...` names a
# few more) and nine in ten letters: a sequence with a typo, not an id.
_SEQUENCE_LIKE_CHARS = 30
_SEQUENCE_LIKE_LETTERS = 0.9


def sequence_ids(text: str) -> list[str] | None:
    """The ids the query text lists, in order and each once, or None when it is not a list of
    ids (FASTA, a bare sequence, or neither: the FASTA gate then says what is wrong)."""
    body = text.removeprefix("\ufeff")
    if ">" in body:
        return None
    lines = [line for line in body.splitlines() if not line.lstrip().startswith(";")]
    words = [w for w in _SEPARATORS.split("\n".join(lines)) if w]
    if not words:
        return None
    if not all(
        _ID.fullmatch(w) and _ID_EVIDENCE.search(w) and not _sequence_like(w) for w in words
    ):
        return None
    return list(dict.fromkeys(words))


def _sequence_like(word: str) -> bool:
    letters = sum(c.isalpha() for c in word)
    return len(word) > _SEQUENCE_LIKE_CHARS and letters >= _SEQUENCE_LIKE_LETTERS * len(word)


def lookup_forms(seq_id: str) -> list[str]:
    """The forms of an id to look up, in turn, until one is found: as given; without its
    version (`NR_025211.1` -> `NR_025211`: a database built from ids without their version
    still knows the accession); without EBI's database prefix (`EMBL:AB362592`,
    `UNIPROT:P69905`, as EBI's `sequence` takes them), and that without its version."""
    forms = [seq_id, _without_version(seq_id)]
    prefix, colon, rest = seq_id.partition(":")
    if colon and prefix.isalpha() and rest:
        forms += [rest, _without_version(rest)]
    return [f for f in dict.fromkeys(forms) if f]


def _without_version(seq_id: str) -> str | None:
    head, dot, version = seq_id.rpartition(".")
    if dot and head and version.isdigit():
        return head
    return None
