"""`blastdeck db`: add (build from FASTA or register an existing database) and list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from blastdeck.cli.backends import reaching
from blastdeck.cli.options import DataDirOpt, JsonOpt, ServerOpt, TokenOpt
from blastdeck.cli.output import console, fail, print_json, say, table
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.taxon_filter import MAX_TAXID
from blastdeck.domain.wording import counted

app = typer.Typer(
    help="BLAST databases: add (register or build), list and remove.", no_args_is_help=True
)


@app.command("add")
def db_add(
    name: Annotated[str, typer.Argument(help="a name for the database")],
    source: Annotated[
        Path, typer.Argument(help="FASTA file to build from, or an existing database's path prefix")
    ],
    title: Annotated[str | None, typer.Option(help="title (built databases)")] = None,
    visibility: Annotated[
        str | None,
        typer.Option(help="public, private or group (default: private for a signed-in user)"),
    ] = None,
    group: Annotated[str | None, typer.Option(help="the group to share with")] = None,
    molecule: Annotated[
        str | None,
        typer.Option(help="nucl or prot (default: detected from the FASTA's residues)"),
    ] = None,
    taxid_map: Annotated[
        Path | None,
        typer.Option(
            "--taxid-map",
            help="the sequences' taxids: 'seqid<TAB>taxid' lines (makeblastdb -taxid_map)",
        ),
    ] = None,
    taxid: Annotated[
        int | None,
        typer.Option("--taxid", min=1, max=MAX_TAXID, help="one taxid for every sequence"),
    ] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Add a database: build it from FASTA (makeblastdb; plain or .gz) or register an existing
    one by its path prefix. Private databases are named <user>/NAME, group ones @GROUP/NAME.
    Built ones get their taxids from --taxid-map or --taxid; registered ones have theirs read
    from the database (NCBI's v5 databases carry them)."""
    if taxid_map is not None and not taxid_map.is_file():
        fail(BlastDeckError(ErrorCode.FILE_NOT_FOUND, f"No taxid map file at {taxid_map}."))
    with reaching(server, data_dir, token) as backend:
        db = backend.add_database(
            name,
            source,
            title,
            visibility=visibility,
            group=group,
            molecule=molecule,
            taxid_map=taxid_map,
            taxid=taxid,
        )
        say(f"{db['name']}: {db['molecule']}, {counted(db['sequences'], 'sequence')}, "
            f"{counted(db['letters'], 'letter')}")  # fmt: skip
        say(f"taxonomy: {coverage_text(db)}")


@app.command("list")
def db_list(
    as_json: JsonOpt = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """List databases (qualified names) with their scope, molecule, size and title; one whose
    files are gone says so ("files: missing"), with the reason below the table, as is each
    database's taxonomy coverage (sequences with a taxid, distinct taxa, top organisms)."""
    with reaching(server, data_dir, token) as backend:
        databases = backend.databases()
        if as_json:
            print_json(databases)
            return
        rows = [
            [
                db["name"],
                db["scope"],
                "ok" if db["available"] else "missing",
                db["molecule"],
                f"{db['sequences']:,}",
                f"{db['letters']:,}",
                db["title"],
            ]
            for db in databases
        ]
        columns = ("name", "scope", "files", "molecule", "sequences", "letters", "title")
        console.print(table(*columns, rows=rows, whole=columns[:-1]))
        for db in databases:  # below the table: it stays readable in 80 columns
            if (db.get("taxonomy") or {}).get("taxid_sequences"):
                say(f"taxa {db['name']}: {coverage_text(db)}")
        for db in databases:
            if not db["available"]:
                say(f"unavailable {db['name']}: {db['unavailable_reason'] or ''}")


@app.command("remove")
def db_remove(
    name: Annotated[str, typer.Argument(help="the database's name (plain or qualified)")],
    server: ServerOpt = None,
    token: TokenOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Delete a database (its owner or an admin). Refused (database_in_use) while a queued or
    running job searches it. The files BlastDeck built for it and its staged copies on the
    clusters are removed; a registered database's own files are left where they are."""
    with reaching(server, data_dir, token) as backend:
        removed = backend.remove_database(name)
        kept = "" if removed["files_removed"] else " (its registered files are left in place)"
        say(f"removed {removed['name']}{kept}")
        for where in removed["staged_removed"]:
            say(f"staged copy removed: {where}")


def top_organisms_text(db: dict[str, Any], shown: int = 5) -> str:
    items = (db.get("taxonomy") or {}).get("top_organisms") or []
    return ", ".join(
        f"{item['name'] or 'taxid'} ({item['taxid']}): {item['sequences']:,}"
        for item in items[:shown]
    )


def coverage_text(db: dict[str, Any]) -> str:
    taxonomy = db.get("taxonomy")
    if taxonomy is None:
        return "taxids not read"
    if not taxonomy["taxid_sequences"]:
        return "no sequence has a taxid (a taxon filter cannot be used on it)"
    return (
        f"{taxonomy['taxid_sequences']:,} of {db['sequences']:,} sequences have a taxid, "
        f"{taxonomy['distinct_taxids']:,} distinct; most: {top_organisms_text(db, 3)}"
    )
