"""The `blastdeck` command: serve, submit and follow jobs, manage databases and clusters.

With `--server URL` commands talk to a running BlastDeck; without it they work on the local
data dir (`--data-dir`, BLASTDECK_DATA_DIR, default ./.blastdeck), and `submit` runs the job in
this process.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from blastdeck.client import Backend, HttpBackend, LocalBackend, follow
from blastdeck.config import ClusterConfig, Settings, load_settings
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.job_service import SubmitRequest
from blastdeck.results.formats import parse_export_format
from blastdeck.runtime import Runtime, StartupError
from blastdeck.store.models import User

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(
    help="BLAST databases: add (register or build) and list.", no_args_is_help=True
)
cluster_app = typer.Typer(help="Compute clusters: add and list.", no_args_is_help=True)
user_app = typer.Typer(help="Users (when auth is on): add and list.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens: create (shown once) and revoke.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(cluster_app, name="cluster")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")

console = Console()
errors = Console(stderr=True)

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

STATUS_ICONS = {
    "pending": "[dim]○[/]",
    "running": "[cyan]◐[/]",
    "completed": "[green]✔[/]",
    "skipped": "[yellow]↷[/]",
    "failed": "[red]✘[/]",
}


def _settings(**overrides: Any) -> Settings:
    """Settings, or a clear message and exit code 2 when the configuration is invalid."""
    try:
        return load_settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        errors.print(f"[red]error[/] [bold]invalid_configuration[/]: {problems}")
        raise typer.Exit(2) from None


def _backend(server: str | None, data_dir: Path | None, token: str | None = None) -> Backend:
    if server:
        return HttpBackend(server, token)
    try:
        return LocalBackend(_settings(data_dir=data_dir))
    except StartupError as exc:
        errors.print(f"[red]error[/] [bold]startup_failed[/]: {exc}")
        raise typer.Exit(2) from None


def _fail(exc: BlastDeckError) -> None:
    errors.print(f"[red]error[/] [bold]{exc.code.value}[/]: {exc.message}")
    raise typer.Exit(2)


def timeline(job: dict[str, Any]) -> Table:
    """The job's steps as a table: the same picture the web page draws."""
    progress = job["progress"]
    title = (
        f"{job['id']}  {job['program']} vs {job['database']} on {job['cluster']}/{job['namespace']}"
    )
    table = Table(title=title, title_justify="left", show_header=False, box=None)
    for step in job["steps"]:
        status = step["status"]
        if status == "running" and job["phase"] == "waiting_for_submit_slot":
            w = job.get("waiting_for") or {}
            detail = f"waiting for the submit slot of {w.get('cluster')}/{w.get('namespace')}"
        elif status == "running" and step["key"] == "running" and progress["batches_total"]:
            detail = f"{progress['batches_done']}/{progress['batches_total']} batches"
        else:
            detail = step.get("skip_reason") or step.get("error") or ""
        ms = step["duration_ms"]
        table.add_row(
            STATUS_ICONS[status],
            step["label"],
            status,
            f"{ms} ms" if ms is not None else "",
            detail,
        )
    if job.get("error_code") and job["phase"] in ("failed", "cancelled"):
        table.add_row("", "", f"[red]{job['error_code']}[/]", "", job.get("error") or "")
    return table


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="interface to bind (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default 8000)")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Run the BlastDeck server (API at /api, OpenAPI docs at /docs)."""
    from blastdeck.api.app import create_app
    from blastdeck.api.server import serve as serve_app

    settings = _settings(data_dir=data_dir, host=host, port=port)
    runtime = Runtime(settings)
    try:
        runtime.prepare()  # fail here, with a clear message, rather than inside the server
    except StartupError as exc:
        errors.print(f"[red]error[/] [bold]startup_failed[/]: {exc}")
        raise typer.Exit(2) from None
    console.print(
        f"BlastDeck on http://{settings.host}:{settings.port}  data: {settings.resolved_data_dir}"
    )
    serve_app(create_app(settings, runtime), runtime, settings.host, settings.port)


def _distributed_runtime(data_dir: Path | None, **overrides: Any) -> Runtime:
    """The runtime of a worker or beat: distributed settings, schema migrated, or exit 2."""
    settings = _settings(data_dir=data_dir, **overrides)
    if not settings.distributed:
        errors.print(
            "[red]error[/] [bold]invalid_configuration[/]: set BLASTDECK_BROKER_URL "
            "(redis://...) and BLASTDECK_DATABASE_URL (postgresql+psycopg://...) for workers"
        )
        raise typer.Exit(2)
    runtime = Runtime(settings)
    try:
        runtime.migrate()
    except StartupError as exc:
        errors.print(f"[red]error[/] [bold]startup_failed[/]: {exc}")
        raise typer.Exit(2) from None
    return runtime


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="jobs run at once by this worker (default 2)")
    ] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Run a Celery worker (distributed mode): takes jobs from the broker and runs them."""
    from blastdeck.worker import configure

    runtime = _distributed_runtime(data_dir, worker_concurrency=concurrency)
    settings = runtime.settings
    try:
        recovered = runtime.reconcile()  # jobs a dead worker or a lost message left behind
    except BlastDeckError as exc:
        _fail(exc)
    runtime.stop()  # each worker process makes its own after the fork
    console.print(
        f"BlastDeck worker: queue {settings.queue}, concurrency {settings.worker_concurrency},"
        f" {recovered} job(s) re-queued"
    )
    configure(settings).worker_main(
        [
            "worker",
            "--concurrency",
            str(settings.worker_concurrency),
            "--queues",
            settings.queue,
            "--pool",
            "prefork",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"blastdeck-{os.getpid()}@%h",
        ]
    )


@app.command()
def beat(data_dir: DataDirOpt = None) -> None:
    """Run the periodic tasks (distributed mode): reconcile (re-queue jobs nothing runs) and
    the retention purge."""
    from blastdeck.worker import configure

    runtime = _distributed_runtime(data_dir)
    settings = runtime.settings
    runtime.stop()
    schedule = settings.resolved_data_dir / f"beat-schedule-{settings.queue}"
    console.print(f"BlastDeck beat: reconcile every {settings.reconcile_interval_s:g} s")
    configure(settings).start(["beat", "--loglevel", "WARNING", "--schedule", str(schedule)])


@app.command()
def submit(
    query: Annotated[
        Path, typer.Argument(help="FASTA file with the query sequence(s); - for stdin")
    ],
    db: Annotated[str, typer.Option("--db", help="database name (blastdeck db list)")],
    program: Annotated[
        str, typer.Option(help="blastn, blastp, blastx, tblastn or tblastx")
    ] = "blastn",
    title: Annotated[str | None, typer.Option(help="a title for the job")] = None,
    cluster: Annotated[str | None, typer.Option(help="cluster (default: local)")] = None,
    namespace: Annotated[
        str | None, typer.Option(help="namespace (default: the cluster's)")
    ] = None,
    option: Annotated[
        list[str] | None, typer.Option("--option", "-o", help="BLAST option KEY=VALUE, repeatable")
    ] = None,
    wait: Annotated[bool, typer.Option(help="follow the job's steps until it ends")] = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Submit a BLAST search. Without --server the job runs here, so it is always followed."""
    text = sys.stdin.buffer.read() if str(query) == "-" else _read_file(query)
    request = SubmitRequest(
        program=program,
        database=db,
        query=text,
        title=title,
        cluster=cluster,
        namespace=namespace,
        options=_options(option or []),
    )
    backend = _backend(server, data_dir, token)
    try:
        job = backend.submit(request)
        if not (wait or server is None):
            console.print(job["id"])
            return
        with Live(timeline(job), console=console, refresh_per_second=8) as live:
            job = follow(backend, job["id"], lambda j: live.update(timeline(j)), interval_s=0.2)
        if job["phase"] != "completed":
            raise typer.Exit(1)
        hits = job["hits_total"]
        noun = "hit" if hits == 1 else "hits"
        console.print(f"{hits} {noun}; blastdeck results {job['id']} --format tsv")
    except BlastDeckError as exc:
        _fail(exc)
    finally:
        backend.close()


@app.command()
def status(
    job_id: Annotated[str, typer.Argument(help="job id")],
    as_json: Annotated[bool, typer.Option("--json", help="print the job as JSON")] = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Show a job's phase and step timeline."""
    backend = _backend(server, data_dir, token)
    try:
        job = backend.job(job_id)
        console.print_json(json.dumps(job)) if as_json else console.print(timeline(job))
    except BlastDeckError as exc:
        _fail(exc)
    finally:
        backend.close()


@app.command()
def cancel(
    job_id: Annotated[str, typer.Argument(help="job id")],
    server: ServerOpt = None,
    token: TokenOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Cancel a queued or running job."""
    backend = _backend(server, data_dir, token)
    try:
        console.print(f"{job_id}: {backend.cancel(job_id)['phase']}")
    except BlastDeckError as exc:
        _fail(exc)
    finally:
        backend.close()


@app.command()
def results(
    job_id: Annotated[str, typer.Argument(help="job id")],
    format: Annotated[
        str, typer.Option(help="tsv, csv, json, xml, xml2, text, html, tabular or asn1")
    ] = "tsv",
    output: Annotated[
        Path | None, typer.Option("--output", "-O", help="file (default: stdout)")
    ] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Download a completed job's results in one of BLAST's formats."""
    backend = _backend(server, data_dir, token)
    try:
        fmt = parse_export_format(format)
        target = output or Path(f".blastdeck-results-{job_id[:8]}.{fmt.extension}")
        backend.download(job_id, fmt, target)
        if output is None:
            sys.stdout.buffer.write(target.read_bytes())
            target.unlink()
    except BlastDeckError as exc:
        _fail(exc)
    finally:
        backend.close()


@db_app.command("add")
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
    backend = _backend(server, data_dir, token)
    try:
        db = backend.add_database(
            name, source, title, visibility=visibility, group=group, molecule=molecule
        )
        console.print(
            f"{db['name']}: {db['molecule']}, {db['sequences']} sequences, {db['letters']} letters"
        )
    except BlastDeckError as exc:
        _fail(exc)
    finally:
        backend.close()


@db_app.command("list")
def db_list(server: ServerOpt = None, token: TokenOpt = None, data_dir: DataDirOpt = None) -> None:
    """List databases (qualified names) with their scope, molecule, size and title; one whose
    files are gone says so ("files: missing"), with the reason below the table."""
    backend = _backend(server, data_dir, token)
    try:
        table = Table()
        for column in ("name", "scope", "files", "molecule", "sequences", "letters"):
            table.add_column(column, no_wrap=True)  # names are what users copy: never cut
        table.add_column("title")
        unavailable = []
        for db in backend.databases():
            if not db["available"]:
                unavailable.append(db)
            table.add_row(
                db["name"],
                db["scope"],
                "ok" if db["available"] else "[red]missing[/]",
                db["molecule"],
                f"{db['sequences']:,}",
                f"{db['letters']:,}",
                escape(db["title"]),
            )
        console.print(table)
        for db in unavailable:
            console.print(
                f"[red]unavailable[/] {db['name']}: {escape(db['unavailable_reason'] or '')}",
                soft_wrap=True,
            )
    except BlastDeckError as exc:
        _fail(exc)
    finally:
        backend.close()


@cluster_app.command("add")
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
    backend = _backend(server, data_dir, token)
    try:
        settings = _pairs(set_ or [], "--set")
        config = ClusterConfig(
            name=name, engine=engine, namespace=namespace, slots=slots, settings=settings
        )
        cluster = backend.add_cluster(config)
        console.print(f"{cluster['name']}: {cluster['engine']}, namespace {cluster['namespace']}")
    except BlastDeckError as exc:
        _fail(exc)
    finally:
        backend.close()


@cluster_app.command("list")
def cluster_list(
    server: ServerOpt = None, token: TokenOpt = None, data_dir: DataDirOpt = None
) -> None:
    """List clusters."""
    backend = _backend(server, data_dir, token)
    try:
        table = Table("name", "engine", "namespace", "slots", "settings")
        for c in backend.clusters():
            table.add_row(
                c["name"], c["engine"], c["namespace"], str(c["slots"]), json.dumps(c["settings"])
            )
        console.print(table)
    except BlastDeckError as exc:
        _fail(exc)
    finally:
        backend.close()


@app.command()
def gc(data_dir: DataDirOpt = None) -> None:
    """Purge finished jobs older than the retention (BLASTDECK_RETENTION_DAYS, default 30)."""
    with _on_data_dir(data_dir) as runtime:
        deleted = runtime.service.purge_expired()
        days = runtime.settings.retention_days
        console.print(f"{deleted} job(s) deleted (retention {days:g} days; 0 keeps everything)")


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="user name")],
    admin: Annotated[bool, typer.Option("--admin", help="may see every job, add clusters")] = False,
    group: Annotated[
        list[str] | None, typer.Option("--group", help="a group whose shared databases they use")
    ] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Add a user (on the local data dir / database)."""
    with _on_data_dir(data_dir) as runtime:
        user = runtime.users.add(name, admin=admin, groups=group or ())
        console.print(_describe_user(user))


@user_app.command("list")
def user_list(data_dir: DataDirOpt = None) -> None:
    """List users."""
    with _on_data_dir(data_dir) as runtime:
        for user in runtime.users.list():
            console.print(_describe_user(user))


def _describe_user(user: User) -> str:
    groups = f" groups: {', '.join(user.groups)}" if user.groups else ""
    return f"{user.name}{' (admin)' if user.is_admin else ''}{groups}"


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Argument(help="the user the token acts as")],
    data_dir: DataDirOpt = None,
) -> None:
    """Create an API token. It is printed once; only its hash is kept."""
    with _on_data_dir(data_dir) as runtime:
        console.print(runtime.users.create_token(user), soft_wrap=True)


@token_app.command("revoke")
def token_revoke(
    token: Annotated[str, typer.Argument(help="the token, or its id (bd_<id>_...)")],
    data_dir: DataDirOpt = None,
) -> None:
    """Revoke a token: it stops working at once."""
    with _on_data_dir(data_dir) as runtime:
        runtime.users.revoke(token)
        console.print("revoked")


@contextmanager
def _on_data_dir(data_dir: Path | None) -> Iterator[Runtime]:
    """The data dir's runtime, schema up to date (no demo databases built); errors exit 2."""
    runtime = Runtime(_settings(data_dir=data_dir))
    try:
        runtime.migrate()
        yield runtime
    except StartupError as exc:
        errors.print(f"[red]error[/] [bold]startup_failed[/]: {exc}")
        raise typer.Exit(2) from None
    except BlastDeckError as exc:
        _fail(exc)
    finally:
        runtime.stop()


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        _fail(BlastDeckError(ErrorCode.INVALID_REQUEST, f"cannot read {path}: {exc.strerror}"))
        raise


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            _fail(
                BlastDeckError(ErrorCode.INVALID_REQUEST, f"{flag} takes KEY=VALUE, got {item!r}")
            )
        pairs[key.strip()] = value.strip()
    return pairs


def _options(items: list[str]) -> dict[str, Any]:
    """BLAST options from KEY=VALUE strings; the server's allow-list checks and types them."""
    return _pairs(items, "--option")


def main() -> None:
    app()
