"""`blastdeck cluster`: add a named compute target, list them, edit, pause, resume, remove."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from blastdeck.cli.backends import reaching
from blastdeck.cli.options import DataDirOpt, JsonOpt, ServerOpt, TokenOpt, pairs
from blastdeck.cli.output import console, print_json, say, table
from blastdeck.domain.errors import BlastDeckError, ErrorCode

if TYPE_CHECKING:
    from pydantic import BaseModel
    from pydantic_core import ErrorDetails

app = typer.Typer(
    help="Compute clusters: add, list, edit, pause, resume, remove.", no_args_is_help=True
)
M = TypeVar("M", bound="BaseModel")
NamespaceOpt = Annotated[
    str | None, typer.Option(help="one namespace of the cluster (default: the whole cluster)")
]


@app.command("add")
def cluster_add(
    name: Annotated[str, typer.Argument(help="a name for the cluster")],
    engine: Annotated[
        str,
        typer.Option(
            help="engine: local or slurm (or a plugin's); `cluster engines` lists each's settings"
        ),
    ],
    namespace: Annotated[str, typer.Option(help="default namespace")] = "default",
    slots: Annotated[
        int | None, typer.Option(help="parallel batches, 1 to 10000 (default: all cores)")
    ] = None,
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
        config = _checked(
            ClusterConfig,
            name=name,
            engine=engine,
            namespace=namespace,
            slots=slots,
            settings=settings,
        )
        cluster = backend.add_cluster(config)
        say(f"{cluster['name']}: {cluster['engine']}, namespace {cluster['namespace']}")


@app.command("engines")
def cluster_engines(
    server: ServerOpt = None, token: TokenOpt = None, data_dir: DataDirOpt = None
) -> None:
    """The engines a cluster can use, and each one's settings (`--set KEY=VALUE`): what each
    takes and its default."""
    with reaching(server, data_dir, token) as backend:
        for engine in backend.engines():
            help_lines = engine.get("setting_help") or {}
            rows = [[key, help_lines.get(key) or ""] for key in engine["settings"]]
            say(f"{engine['name']}:")
            console.print(
                table("setting", "what it takes (default)", rows=rows, whole=("setting",))
            )


@app.command("list")
def cluster_list(
    as_json: JsonOpt = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """List clusters with their health (BLAST found and scratch writable; for SLURM, the
    controller answering); a cluster that cannot run jobs says why below the table."""
    with reaching(server, data_dir, token) as backend:
        clusters = backend.clusters()
        if as_json:
            print_json(clusters)
            return
        rows = [
            [
                c["name"],
                c["engine"],
                c["namespace"],
                c["slots"],
                _health(c),
                json.dumps(c["settings"]),
            ]
            for c in clusters
        ]
        columns = ("name", "engine", "namespace", "slots", "health", "settings")
        console.print(table(*columns, rows=rows))
        for c in clusters:
            health = c.get("health") or {}
            if health and not health.get("ok"):
                say(f"{c['name']} cannot run jobs: {health.get('detail', '')}")


@app.command("edit")
def cluster_edit(
    name: Annotated[str, typer.Argument(help="the cluster")],
    namespace: Annotated[str | None, typer.Option(help="default namespace")] = None,
    slots: Annotated[int | None, typer.Option(help="parallel batches, 1 to 10000")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="engine setting KEY=VALUE (changed)")
    ] = None,
    unset: Annotated[list[str] | None, typer.Option(help="engine setting KEY (removed)")] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Edit a cluster added at run time (admins): only the options given change, checked and
    probed as `add` does; the name and engine are fixed. Jobs that have started keep the
    settings they started with."""
    from blastdeck.config import ClusterChanges

    changed: dict[str, str | None] = dict(pairs(set_ or [], "--set"))
    changed.update(dict.fromkeys(unset or []))
    given = {"namespace": namespace, "slots": slots, "settings": changed or None}
    changes = _checked(ClusterChanges, **{k: v for k, v in given.items() if v is not None})
    with reaching(server, data_dir, token) as backend:
        cluster = backend.update_cluster(name, changes)
        say(
            f"{cluster['name']}: {cluster['engine']}, namespace {cluster['namespace']}, "
            f"{cluster['slots']} slots, settings {json.dumps(cluster['settings'])}"
        )


def _pause_command(resume: bool, doc: str) -> Callable[..., None]:
    """`pause` and `resume`: one command shape; ask, then say what the scope's pause is now."""

    def command(
        name: Annotated[str, typer.Argument(help="the cluster")],
        namespace: NamespaceOpt = None,
        server: ServerOpt = None,
        token: TokenOpt = None,
        data_dir: DataDirOpt = None,
    ) -> None:
        with reaching(server, data_dir, token) as backend:
            state = backend.pause_cluster(name, namespace, resume=resume)
        still = state.get("paused")
        if not resume:
            say(still["message"])
            return
        where = state["cluster"] + (f" / {state['namespace']}" if state["namespace"] else "")
        say(f"{where} resumed" + (f"; still held: {still['message']}" if still else ""))

    command.__doc__ = doc
    return command


cluster_pause = app.command("pause")(
    _pause_command(
        False,
        """Pause a cluster or one namespace (admins): new submits there wait in phase `paused`
    before taking the submit slot; running jobs go on.""",
    )
)
cluster_resume = app.command("resume")(
    _pause_command(
        True, "Resume a paused cluster or namespace (admins): its waiting jobs take the slot."
    )
)


@app.command("remove")
def cluster_remove(
    name: Annotated[str, typer.Argument(help="the cluster")],
    server: ServerOpt = None,
    token: TokenOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Remove a cluster added at run time (admins); refused (cluster_in_use) while an
    unfinished job uses it."""
    with reaching(server, data_dir, token) as backend:
        removed = backend.remove_cluster(name)
        say(f"removed {removed['name']}")


def _health(cluster: dict[str, Any]) -> str:
    health = cluster.get("health")
    if not health:
        return "?"
    return "ok" if health.get("ok") else "down"


def _checked(model: type[M], **values: Any) -> M:
    """A cluster definition or edit, checked by the model the server checks it with; a value
    it refuses is an `invalid_cluster_setting` naming the field, here and with --server."""
    from pydantic import ValidationError

    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BlastDeckError(
            ErrorCode.INVALID_CLUSTER_SETTING,
            "; ".join(_problem(e) for e in exc.errors()),
            field=".".join(str(p) for p in first["loc"]) or None,
        ) from None


def _problem(error: ErrorDetails) -> str:
    """One refused value in words: 'slots must be at least 1 (got 0)'."""
    field = ".".join(str(p) for p in error["loc"])
    limits = error.get("ctx") or {}
    if error["type"] == "greater_than_equal":
        return f"{field} must be at least {limits['ge']} (got {error['input']})"
    if error["type"] == "less_than_equal":
        return f"{field} must be at most {limits['le']:,} (got {error['input']})"
    return f"{field}: {error['msg']}"
