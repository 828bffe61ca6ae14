"""The taxonomy's errors: each a `BlastDeckError` with its own stable code."""

from __future__ import annotations

from blastdeck.domain.errors import BlastDeckError, ErrorCode


def unavailable(message: str) -> BlastDeckError:
    """The operator's taxonomy data cannot be read (a server problem, 503)."""
    return BlastDeckError(ErrorCode.TAXONOMY_UNAVAILABLE, message)


def unknown_taxid(taxid: int, field: str | None = None) -> BlastDeckError:
    return BlastDeckError(
        ErrorCode.UNKNOWN_TAXON,
        f"No taxon has taxid {taxid} in the NCBI Taxonomy BlastDeck uses.",
        field=field,
        detail={"taxon": str(taxid)},
    )


def unknown_name(name: str, suggestions: list[str], field: str | None = None) -> BlastDeckError:
    hint = f" Did you mean: {'; '.join(suggestions)}?" if suggestions else ""
    return BlastDeckError(
        ErrorCode.UNKNOWN_TAXON,
        f"No taxon is named {name!r}.{hint}",
        field=field,
        detail={"taxon": name, "suggestions": "; ".join(suggestions)},
    )


def ambiguous_name(name: str, candidates: list[str], field: str | None = None) -> BlastDeckError:
    return BlastDeckError(
        ErrorCode.AMBIGUOUS_TAXON,
        f"{name!r} names {len(candidates)} taxa: {'; '.join(candidates)}. Give the taxid of "
        "the one you mean.",
        field=field,
        detail={"taxon": name, "candidates": "; ".join(candidates)},
    )
