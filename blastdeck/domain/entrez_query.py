"""NCBI's ENTREZ_QUERY, as BLAST URL API clients send it, parsed into a `TaxonFilter`.

Biopython's `NCBIWWW.qblast(..., entrez_query=...)` and NCBI's own BLAST page restrict a search
to organisms with Entrez syntax. BlastDeck supports the organism part of it, which covers what
those clients send:

    txid561[ORGN]                          a taxid and everything under it
    "Escherichia coli"[Organism]           a name (quoted, or bare: Escherichia coli[orgn])
    txid562[ORGN:noexp]                    the taxon alone, not its descendants ([ORGN:exp]: with)
    txid561[ORGN] OR txid590[ORGN]         several taxa
    txid2[ORGN] NOT txid562[ORGN]          ... minus some (NOT may repeat)
    NOT txid9606[ORGN], all[filter] NOT txid9606[ORGN]     everything but some
    (txid561[ORGN] OR txid590[ORGN]) NOT (txid562[ORGN] OR txid9606[ORGN])

Fields are case-insensitive (ORGN, orgn, Organism); operators are upper case, as in Entrez
(a lower-case "or" would be part of a name). Parentheses may group an OR list or wrap the whole
query; anything else (AND, other fields, NOT inside parentheses, a term without a field) is
rejected with `unsupported_entrez_query` and a message that says what is supported, because
silently searching everything would be worse than an error. `format_entrez_query` writes a
filter back in this syntax (`parse(format(f)) == f`).

Pure: no taxonomy lookups (names are resolved by `blastdeck.taxonomy`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.taxon_filter import (
    TaxonFilter,
    TaxonRef,
    make_taxon_filter,
    parse_taxon_ref,
)

MAX_QUERY_CHARS = 20_000
FIELD = "ENTREZ_QUERY"
SUPPORTED = (
    'Supported: organisms as txid562[ORGN] or "Escherichia coli"[Organism] (also [orgn], '
    "[ORGN:noexp] for a taxon without its descendants), joined by OR, then NOT and one "
    "organism or a parenthesized OR list (NOT may repeat; a query may start with NOT or "
    "all[filter]); parentheses may group an OR list."
)
_ORGANISM_FIELD = re.compile(r"(orgn|organism)(?::(exp|noexp))?", re.IGNORECASE)
_OPERATORS = frozenset({"AND", "OR", "NOT"})
_STOP = frozenset('()[]"')


@dataclass(frozen=True)
class _Token:
    kind: str  # "(", ")", "op", "term"
    text: str  # the operator, or the term's value
    field: str = ""  # a term's field, as written between the brackets
    at: int = 0  # where it starts in the query (for messages)


def _unsupported(message: str) -> BlastDeckError:
    return BlastDeckError(ErrorCode.UNSUPPORTED_ENTREZ_QUERY, f"{message} {SUPPORTED}", field=FIELD)


def _shown(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:60] + "...")


def _tokens(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(_Token(ch, ch, at=i))
            i += 1
        elif ch == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise _unsupported(f"The quote at position {i + 1} is never closed.")
            value = query[i + 1 : end]
            field, after = _field(query, end + 1, value)
            tokens.append(_Token("term", value, field, at=i))
            i = after
        elif ch in "[]":
            raise _unsupported(f"A field in brackets at position {i + 1} follows no term.")
        else:
            start = i
            while i < n and not query[i].isspace() and query[i] not in _STOP:
                i += 1
            word = query[start:i]
            if word in _OPERATORS:
                tokens.append(_Token("op", word, at=start))
                continue
            # A bare term runs over several words up to its [field].
            words = [word]
            while True:
                j = i
                while j < n and query[j].isspace():
                    j += 1
                if j >= n or query[j] in '()"]':
                    raise _unsupported(
                        f"{_shown(' '.join(words))} has no field: write it as "
                        f"{' '.join(words)}[Organism] (or quote it)."
                    )
                if query[j] == "[":
                    break
                k = j
                while k < n and not query[k].isspace() and query[k] not in _STOP:
                    k += 1
                if query[j:k] in _OPERATORS:
                    raise _unsupported(
                        f"{_shown(' '.join(words))} has no field before {query[j:k]}: write "
                        f"it as {' '.join(words)}[Organism]."
                    )
                words.append(query[j:k])
                i = k
            field, i = _field(query, i, " ".join(words))
            tokens.append(_Token("term", " ".join(words), field, at=start))
    return tokens


def _field(query: str, i: int, value: str) -> tuple[str, int]:
    """The `[field]` after a term value (blanks allowed before it), and where parsing goes on."""
    while i < len(query) and query[i].isspace():
        i += 1
    if i >= len(query) or query[i] != "[":
        raise _unsupported(f'{_shown(value)} has no field: write it as "{value}"[Organism].')
    end = query.find("]", i + 1)
    if end < 0:
        raise _unsupported(f"The bracket at position {i + 1} is never closed.")
    return query[i + 1 : end].strip(), end + 1


def _organism(token: _Token) -> TaxonRef:
    if token.kind != "term":
        raise _unsupported(f"Expected an organism at position {token.at + 1}, not {token.text}.")
    field = _ORGANISM_FIELD.fullmatch(token.field)
    if field is None:
        what = "all[filter]" if token.field.lower() == "filter" else f"[{token.field}]"
        raise _unsupported(f"{what} cannot be used here (at position {token.at + 1}).")
    noexp = (field.group(2) or "").lower() == "noexp"
    return parse_taxon_ref(token.text, FIELD, descendants=not noexp)


def _is_all(token: _Token) -> bool:
    return token.kind == "term" and token.text.lower() == "all" and token.field.lower() == "filter"


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens, self.pos = tokens, 0

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise _unsupported("The query ends where an organism was expected.")
        self.pos += 1
        if token.kind == "op" and token.text == "AND":
            raise _unsupported("AND is not supported (a sequence has one organism).")
        return token

    def or_list(self) -> list[TaxonRef]:
        refs = [*self.atom()]
        while (token := self.peek()) is not None and token.kind == "op" and token.text == "OR":
            self.pos += 1
            refs.extend(self.atom())
        return refs

    def atom(self) -> list[TaxonRef]:
        token = self.take()
        if token.kind == "(":
            refs = self.or_list()
            close = self.peek()
            if close is not None and close.kind == ")":
                self.pos += 1
                return refs
            if close is None:
                raise _unsupported("A '(' is never closed.")
            if close.text == "NOT":
                raise _unsupported("NOT inside parentheses is not supported.")
            self.take()  # raises for AND
            raise _unsupported(f"Expected ')' at position {close.at + 1}, not {close.text!r}.")
        if _is_all(token):
            raise _unsupported("all[filter] may only start the query (all[filter] NOT ...).")
        return [_organism(token)]

    def query(self) -> TaxonFilter:
        include: list[TaxonRef] = []
        first = self.peek()
        if first is not None and _is_all(first):
            self.pos += 1
        elif first is not None and not (first.kind == "op" and first.text == "NOT"):
            include = self.or_list()
        exclude: list[TaxonRef] = []
        while (token := self.peek()) is not None:
            if token.kind == "op" and token.text == "NOT":
                self.pos += 1
                exclude.extend(self.atom())
                continue
            if token.kind == "op" and token.text == "OR" and exclude:
                raise _unsupported(
                    "OR after NOT is ambiguous: group what is excluded, NOT (A OR B)."
                )
            self.take()  # raises for AND
            raise _unsupported(f"Unexpected {token.text!r} at position {token.at + 1}.")
        return make_taxon_filter(include, exclude, include_field=FIELD, exclude_field=FIELD)


def _strip_outer_parentheses(tokens: list[_Token]) -> list[_Token]:
    while len(tokens) >= 2 and tokens[0].kind == "(" and tokens[-1].kind == ")":
        if _closing(tokens) != len(tokens) - 1:  # "(A) NOT (B)": the first group ends early
            return tokens
        tokens = tokens[1:-1]
    return tokens


def _closing(tokens: list[_Token]) -> int:
    """Where the group opened by tokens[0] closes (-1: never)."""
    depth = 0
    for index, token in enumerate(tokens):
        depth += {"(": 1, ")": -1}.get(token.kind, 0)
        if depth == 0:
            return index
    return -1


def parse_entrez_query(query: str) -> TaxonFilter:
    """The taxon filter an ENTREZ_QUERY asks for; a blank query filters nothing."""
    if not isinstance(query, str):
        raise _unsupported(f"ENTREZ_QUERY is text, not {type(query).__name__}.")
    if len(query) > MAX_QUERY_CHARS:
        raise _unsupported(f"ENTREZ_QUERY has at most {MAX_QUERY_CHARS} characters.")
    if any(ord(ch) < 32 and not ch.isspace() for ch in query):
        raise _unsupported("ENTREZ_QUERY cannot contain control characters.")
    tokens = _strip_outer_parentheses(_tokens(query))
    if not tokens:
        return TaxonFilter()
    return _Parser(tokens).query()


def _term(ref: TaxonRef) -> str:
    field = "ORGN" if ref.descendants else "ORGN:noexp"
    if ref.taxid is not None:
        return f"txid{ref.taxid}[{field}]"
    name = ref.name or ""
    if '"' in name:
        raise _unsupported(f"{name!r} contains a double quote: give it by its taxid.")
    return f'"{name}"[{field}]'


def format_entrez_query(spec: TaxonFilter) -> str:
    """The filter in ENTREZ_QUERY syntax ("" for no filter)."""
    include = " OR ".join(_term(ref) for ref in spec.include)
    if not spec.exclude:
        return include
    if len(spec.include) > 1:
        include = f"({include})"
    exclude = " OR ".join(_term(ref) for ref in spec.exclude)
    if len(spec.exclude) > 1:
        exclude = f"({exclude})"
    return f"{include or 'all[filter]'} NOT {exclude}"
