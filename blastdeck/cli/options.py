"""The command-line inputs many commands share: where to reach BlastDeck, KEY=VALUE pairs, files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from blastdeck.cli.output import fail
from blastdeck.domain.errors import BlastDeckError, ErrorCode

ServerOpt = Annotated[
    str | None, typer.Option("--server", envvar="BLASTDECK_SERVER", help="URL of a running server")
]
TokenOpt = Annotated[
    str | None, typer.Option("--token", envvar="BLASTDECK_TOKEN", help="API token for --server")
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="data dir (default: BLASTDECK_DATA_DIR or ./.blastdeck)"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print what the API answers, as JSON")]


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        fail(BlastDeckError(ErrorCode.INVALID_REQUEST, f"cannot read {path}: {exc.strerror}"))


def pairs(items: list[str], flag: str) -> dict[str, str]:
    """`KEY=VALUE` strings as a dict; anything else is an `invalid_request`."""
    found = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(BlastDeckError(ErrorCode.INVALID_REQUEST, f"{flag} takes KEY=VALUE, got {item!r}"))
        found[key.strip()] = value.strip()
    return found


def blast_options(items: list[str]) -> dict[str, Any]:
    """BLAST options from KEY=VALUE strings; the server's allow-list checks and types them."""
    return pairs(items, "--option")


def with_taxa(
    options: dict[str, Any], taxids: str | None, exclude_taxids: str | None
) -> dict[str, Any]:
    """The options with `--taxids` / `--exclude-taxids` as the job options `taxids` /
    `negative_taxids` (the server resolves and checks them); each once, not also as -o."""
    for value, key, flag in (
        (taxids, "taxids", "--taxids"),
        (exclude_taxids, "negative_taxids", "--exclude-taxids"),
    ):
        if value is None:
            continue
        if key in options:
            fail(
                BlastDeckError(
                    ErrorCode.INVALID_REQUEST, f"Give {key} once: as {flag} or as -o {key}=..."
                )
            )
        options = {**options, key: value}
    return options
