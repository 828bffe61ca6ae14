"""`blastdeck cluster`: add a named compute target, and list them."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from blastdeck.cli.backends import reaching
from blastdeck.cli.options import DataDirOpt, ServerOpt, TokenOpt, pairs
from blastdeck.cli.output import console, say, table

app = typer.Typer(help="Compute clusters: add and list.", no_args_is_help=True)


@app.command("add")
def cluster_add(
    name: Annotated[str, typer.Argument(help="a name for the cluster")],
    engine: Annotated[str, typer.Option(help="engine: local")],
    namespace: Annotated[str, typer.Option(help="default namespace")] = "default",
    slots: Annotated[int | None, typer.Option(help="parallel batches (default: all cores)")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="engine setting KEY=VALUE")
    ] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Add a named cluster (compute target)."""
    from blastdeck.config import ClusterConfig

    with reaching(server, data_dir, token) as backend:
        settings = pairs(set_ or [], "--set")
        config = ClusterConfig(
            name=name, engine=engine, namespace=namespace, slots=slots, settings=settings
        )
        cluster = backend.add_cluster(config)
        say(f"{cluster['name']}: {cluster['engine']}, namespace {cluster['namespace']}")


@app.command("list")
def cluster_list(
    server: ServerOpt = None, token: TokenOpt = None, data_dir: DataDirOpt = None
) -> None:
    """List clusters."""
    with reaching(server, data_dir, token) as backend:
        rows = [
            [c["name"], c["engine"], c["namespace"], c["slots"], json.dumps(c["settings"])]
            for c in backend.clusters()
        ]
        console.print(table("name", "engine", "namespace", "slots", "settings", rows=rows))
