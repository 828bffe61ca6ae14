"""Which databases a job searches: the submit's `database` and `databases` fields checked.

A job searches one database (`database: "a"`) or several at once (`databases: ["a", "b"]`),
which BLAST searches as their union, exactly as `blastn -db "a b"` does: one search space, so
E-values are computed over all of them together. Both fields may be given only when they agree
(`database` is then the one name of `databases`). The names are checked here for their shape;
that each exists, may be used by the submitter and holds the program's molecule is the job
service's part (`check_same_molecule` below is the rule it applies).
"""

from __future__ import annotations

from collections.abc import Sequence

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.programs import Molecule, molecule_word

MAX_DATABASES_PER_JOB = 16
FIELD = "databases"


def requested_databases(database: object, databases: object) -> list[str]:
    """The names a submit asks for, in the order given: `databases` when given, else the one
    `database`; refused when the list is empty, too long, repeats a name, holds anything but
    names, or disagrees with `database`."""
    if databases is None:
        if not isinstance(database, str) or not database.strip():
            raise BlastDeckError(
                ErrorCode.INVALID_REQUEST,
                "database must be a non-empty string (or give databases: a list of names).",
                field="database",
            )
        return [database.strip()]
    if not isinstance(databases, list | tuple) or not all(isinstance(n, str) for n in databases):
        raise BlastDeckError(
            ErrorCode.INVALID_REQUEST, "databases must be a list of names.", field=FIELD
        )
    names = [n.strip() for n in databases]
    if not names or not all(names):
        raise BlastDeckError(
            ErrorCode.EMPTY_DATABASE_LIST,
            "databases is empty"
            + (" or has a blank name" if names else "")
            + "; name at least one database (GET /api/databases lists them).",
            field=FIELD,
        )
    if len(names) > MAX_DATABASES_PER_JOB:
        raise BlastDeckError(
            ErrorCode.TOO_MANY_DATABASES,
            f"databases names {len(names)} databases; a job may search at most "
            f"{MAX_DATABASES_PER_JOB} at once.",
            field=FIELD,
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise _duplicate(repeated[0])
    if isinstance(database, str) and database.strip() and [database.strip()] != names:
        raise BlastDeckError(
            ErrorCode.CONFLICTING_DATABASES,
            f"database is {database.strip()[:80]!r} but databases names "
            f"{', '.join(repr(n[:80]) for n in names[:5])}; give only databases (or only "
            "database), or the same one database in both.",
            field="database",
        )
    return names


def check_distinct(qualified: Sequence[str]) -> None:
    """Two names of the list that mean the same database (`x` and `alice/x`) are refused:
    BLAST would count it twice in the search space."""
    seen: set[str] = set()
    for name in qualified:
        if name in seen:
            raise _duplicate(name)
        seen.add(name)


def check_same_molecule(databases: Sequence[tuple[str, Molecule]]) -> None:
    """All the databases of one search hold one molecule type (BLAST searches one kind)."""
    kinds = {molecule for _, molecule in databases}
    if len(kinds) > 1:
        listed = ", ".join(f"{name} ({molecule_word(m)})" for name, m in databases)
        raise BlastDeckError(
            ErrorCode.MIXED_DATABASE_MOLECULES,
            f"The databases of one search must all be nucleotide or all protein: {listed}.",
            field=FIELD,
        )


def check_searchable_together(databases: Sequence[tuple[str, int, bool]]) -> None:
    """BLAST+ searches several databases as one only when they share a format: each is
    (name, BLAST database version, sequence ids indexed). Checked on BLAST+ 2.12: version 4
    with version 5 fails at once ("DB list contains both Version 4 and Version 5 dbs"); and
    beside a version 5 database built without -parse_seqids, one built with it cannot give a
    subject: the search fails ("Error pre-fetching sequence data") as soon as it finds one
    there, in either order, and completes only when every hit is in the others, so that
    database is never searched. Version 4 ones mix fine."""
    versions = {version for _, version, _ in databases}
    if len(versions) > 1:
        listed = ", ".join(f"{name} (version {version})" for name, version, _ in databases)
        raise BlastDeckError(
            ErrorCode.DATABASES_NOT_SEARCHABLE_TOGETHER,
            "BLAST+ cannot search version 4 and version 5 databases together: "
            f"{listed}. Rebuild the version 4 ones with makeblastdb (version 5 is its "
            "default), or search them one at a time.",
            field=FIELD,
        )
    if versions == {5} and len({indexed for _, _, indexed in databases}) > 1:
        indexed = [name for name, _, has in databases if has]
        plain = [name for name, _, has in databases if not has]
        raise BlastDeckError(
            ErrorCode.DATABASES_NOT_SEARCHABLE_TOGETHER,
            "BLAST+ cannot search databases built with makeblastdb -parse_seqids together "
            f"with ones built without it: {', '.join(indexed)} with, {', '.join(plain)} "
            "without (its search fails as soon as it finds a subject in the first kind). "
            "Rebuild those without it with -parse_seqids, or search them one at a time.",
            field=FIELD,
        )


def _duplicate(name: str) -> BlastDeckError:
    return BlastDeckError(
        ErrorCode.DUPLICATE_DATABASE,
        f"databases names {name[:80]!r} twice; name each database once.",
        field=FIELD,
    )
