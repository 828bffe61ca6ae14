"""`blastdeck db`: add (build from FASTA or register an existing database) and list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from blastdeck.cli.backends import reaching
from blastdeck.cli.options import DataDirOpt, ServerOpt, TokenOpt
from blastdeck.cli.output import console, say, table

app = typer.Typer(help="BLAST databases: add (register or build) and list.", no_args_is_help=True)


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
    server: ServerOpt = None,
    token: TokenOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Add a database: build it from FASTA (makeblastdb; plain or .gz) or register an existing
    one by its path prefix. Private databases are named <user>/NAME, group ones @GROUP/NAME."""
    with reaching(server, data_dir, token) as backend:
        db = backend.add_database(
            name, source, title, visibility=visibility, group=group, molecule=molecule
        )
        say(f"{db['name']}: {db['molecule']}, {db['sequences']} sequences, {db['letters']} letters")


@app.command("list")
def db_list(server: ServerOpt = None, token: TokenOpt = None, data_dir: DataDirOpt = None) -> None:
    """List databases (qualified names) with their scope, molecule, size and title; one whose
    files are gone says so ("files: missing"), with the reason below the table."""
    with reaching(server, data_dir, token) as backend:
        databases = backend.databases()
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
        for db in databases:
            if not db["available"]:
                say(f"unavailable {db['name']}: {db['unavailable_reason'] or ''}")
