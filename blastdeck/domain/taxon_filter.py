"""A job's taxon filter, as the user wrote it: the `taxids` and `negative_taxids` job options.

Each option is a list of taxa or one comma-separated string of them; a taxon is a taxid (562,
"562", "txid562") or a scientific name ("Escherichia coli"). The result is a `TaxonFilter`:
normalized, de-duplicated references, not yet resolved. The taxonomy service
(`blastdeck.taxonomy`) resolves the names and expands every taxon to itself and all of its
descendants: BLAST's `-taxidlist` matches the listed taxids exactly, so "Enterobacterales"
must become the hundreds of taxids under it before BLAST sees it.

`blastdeck.domain.entrez_query` parses NCBI's ENTREZ_QUERY syntax into the same `TaxonFilter`;
`TaxonRef.descendants` is False only for its `[ORGN:noexp]` form.

Pure: no I/O, no taxonomy lookups. Names cannot be checked here, so "562" and
"Escherichia coli" in both lists are caught after resolution, by the service.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from blastdeck.domain.errors import BlastDeckError, ErrorCode

# The job options that search within organisms (BLAST+'s own names for its taxid filters).
TAXON_OPTIONS = ("taxids", "negative_taxids")

# Bounds on what a user may write (the expanded list of descendants is not bounded: it goes to
# BLAST in a file). A list of species pasted from a spreadsheet fits; a whole taxonomy does not.
MAX_TAXA_PER_LIST = 1000
MAX_NAME_CHARS = 200  # the longest NCBI scientific name (2024) has 153 characters
MAX_LIST_CHARS = 100_000  # one comma-separated string
MAX_TAXID = 2_147_483_647  # BLAST stores taxids as signed 32-bit integers

_TAXID = re.compile(r"(?:txid)?([0-9]+)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class TaxonRef:
    """One taxon as written: exactly one of `taxid` and `name` is set. `name` keeps the user's
    case (whitespace collapsed); two refs name the same taxon when their `key`s are equal."""

    taxid: int | None = None
    name: str | None = None
    descendants: bool = True  # the taxon and everything under it; False: the taxon alone

    @property
    def key(self) -> str:
        return f"txid{self.taxid}" if self.taxid is not None else (self.name or "").casefold()

    def __str__(self) -> str:
        return str(self.taxid) if self.taxid is not None else (self.name or "")


@dataclass(frozen=True)
class TaxonFilter:
    """Which taxa a search keeps (`include`; empty: all) and drops (`exclude`)."""

    include: tuple[TaxonRef, ...] = ()
    exclude: tuple[TaxonRef, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.include and not self.exclude


def _invalid(message: str, field: str) -> BlastDeckError:
    return BlastDeckError(ErrorCode.INVALID_TAXON_FILTER, message, field=field)


def parse_taxon_ref(value: object, field: str, *, descendants: bool = True) -> TaxonRef:
    """A taxid (int, "562" or "txid562") or a scientific name, checked and normalized."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _invalid(
            f"Each taxon is a taxid or a scientific name, not {type(value).__name__}.", field
        )
    if isinstance(value, int):
        return TaxonRef(taxid=_check_taxid(value, field), descendants=descendants)
    if _CONTROL.search(value):
        raise _invalid("A taxon name cannot contain control characters.", field)
    text = " ".join(value.split())
    if not text:
        raise _invalid("A taxon cannot be empty.", field)
    if len(text) > MAX_NAME_CHARS:
        raise _invalid(
            f"A taxon name has at most {MAX_NAME_CHARS} characters "
            f"(this one has {len(text)}: {text[:40]}...).",
            field,
        )
    digits = _TAXID.fullmatch(text)
    if digits:
        return TaxonRef(taxid=_check_taxid(int(digits.group(1)), field), descendants=descendants)
    return TaxonRef(name=text, descendants=descendants)


def _check_taxid(taxid: int, field: str) -> int:
    if not 1 <= taxid <= MAX_TAXID:
        shown = str(taxid) if len(str(taxid)) <= 20 else f"{str(taxid)[:20]}..."
        raise _invalid(f"A taxid is a whole number from 1 to {MAX_TAXID}, not {shown}.", field)
    return taxid


def parse_taxon_list(value: object, field: str) -> tuple[TaxonRef, ...]:
    """A list of taxa, or one string of them separated by commas; duplicates dropped.

    A name with a comma in it (a few hundred NCBI names have one) must be given in a list, or
    by its taxid.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        if len(value) > MAX_LIST_CHARS:
            raise _invalid(
                f"A list of taxa has at most {MAX_LIST_CHARS} characters; for more, give "
                "higher taxa (their descendants are included).",
                field,
            )
        items: list[object] = [part for part in value.split(",") if part.strip()]
        if not items:
            raise _invalid("The list of taxa is empty.", field)
    elif isinstance(value, int) and not isinstance(value, bool):
        items = [value]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise _invalid(
            "Give the taxa as a list, or as one string separated by commas "
            f"(not {type(value).__name__}).",
            field,
        )
    if len(items) > MAX_TAXA_PER_LIST:
        raise _invalid(
            f"At most {MAX_TAXA_PER_LIST} taxa per list (got {len(items)}); give higher taxa "
            "instead: their descendants are included.",
            field,
        )
    return _unique(parse_taxon_ref(item, field) for item in items)


def _unique(refs: Iterable[TaxonRef]) -> tuple[TaxonRef, ...]:
    seen: dict[tuple[str, bool], TaxonRef] = {}
    for ref in refs:
        seen.setdefault((ref.key, ref.descendants), ref)
    return tuple(seen.values())


def make_taxon_filter(
    include: Iterable[TaxonRef],
    exclude: Iterable[TaxonRef],
    *,
    include_field: str = "options.taxids",
    exclude_field: str = "options.negative_taxids",
) -> TaxonFilter:
    """The filter from already parsed refs: de-duplicated, and no taxon both kept and dropped.

    Including a taxon with its descendants and excluding that same taxon alone is meaningful
    (everything under it but itself); every other overlap of one taxon leaves nothing of it.
    """
    kept, dropped = _unique(include), _unique(exclude)
    if len(kept) > MAX_TAXA_PER_LIST or len(dropped) > MAX_TAXA_PER_LIST:
        raise _invalid(f"At most {MAX_TAXA_PER_LIST} taxa per list.", include_field)
    dropped_by_key: dict[str, list[TaxonRef]] = {}
    for ref in dropped:
        dropped_by_key.setdefault(ref.key, []).append(ref)
    for ref in kept:
        for other in dropped_by_key.get(ref.key, ()):
            if other.descendants or not ref.descendants:
                raise BlastDeckError(
                    ErrorCode.TAXON_FILTER_CONFLICT,
                    f"{ref} is both included and excluded; keep it in one list only.",
                    field=exclude_field,
                    detail={"taxon": str(ref)},
                )
    return TaxonFilter(include=kept, exclude=dropped)


def taxon_filter_from_options(
    taxids: object = None, negative_taxids: object = None, *, prefix: str = "options"
) -> TaxonFilter:
    """The `taxids` / `negative_taxids` job options as one filter."""
    include_field, exclude_field = f"{prefix}.taxids", f"{prefix}.negative_taxids"
    return make_taxon_filter(
        parse_taxon_list(taxids, include_field),
        parse_taxon_list(negative_taxids, exclude_field),
        include_field=include_field,
        exclude_field=exclude_field,
    )


def format_taxon_list(refs: Iterable[TaxonRef]) -> str:
    """The refs as one comma-separated string (taxids as numbers), as `parse_taxon_list` reads.

    Raises for a name containing a comma, which that form cannot hold.
    """
    parts = []
    for ref in refs:
        if ref.name is not None and "," in ref.name:
            raise _invalid(
                f"{ref.name!r} contains a comma: give it in a list, or by its taxid.", "taxids"
            )
        parts.append(str(ref))
    return ", ".join(parts)


def filter_summary(record: Mapping[str, Any]) -> str:
    """A job's stored filter in a line, as its page shows it: "only within Escherichia;
    excluding Homo sapiens; 20 of 20 sequences searched" (the taxa by scientific name; a job
    stored before the names were kept: as given, a taxid as "taxid N"; the count when known)."""
    parts = []
    for word, taxa, names, given in (
        ("only within", "include_taxa", "include_names", "taxids"),
        ("excluding", "exclude_taxa", "exclude_names", "negative_taxids"),
    ):
        shown = [
            _taxon_name(taxid, i, record.get(names), record.get(given))
            for i, taxid in enumerate(record.get(taxa) or [])
        ]
        if shown:
            parts.append(f"{word} {', '.join(shown)}")
    searched, total = record.get("searched_sequences"), record.get("database_sequences")
    if searched is not None and total is not None:
        parts.append(f"{searched:,} of {total:,} sequences searched")
    return "; ".join(parts)


def _taxon_name(taxid: int, i: int, names: list[str] | None, given: list[str] | None) -> str:
    if names and i < len(names):
        return names[i]
    as_given = given[i] if given and i < len(given) else ""
    return as_given if as_given and not as_given.isdigit() else f"taxid {taxid}"
