"""Running BlastDeck: serve (the API and, embedded, the jobs), worker and beat (distributed
mode), and gc (the retention purge by hand). Each imports the server side when it runs."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from blastdeck.cli.backends import load_settings, on_data_dir
from blastdeck.cli.options import DataDirOpt
from blastdeck.cli.output import console, fail, fail_with, say, table
from blastdeck.domain.errors import BlastDeckError, ErrorCode

if TYPE_CHECKING:
    from blastdeck.runtime import Runtime


def serve(
    host: Annotated[str | None, typer.Option(help="interface to bind (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default 8000)")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Run the BlastDeck server (API at /api, OpenAPI docs at /docs)."""
    settings = load_settings(data_dir=data_dir, host=host, port=port)
    from blastdeck.api.app import create_app
    from blastdeck.api.server import serve as serve_app
    from blastdeck.runtime import Runtime, StartupError

    runtime = Runtime(settings)
    try:
        runtime.prepare()  # fail here, with a clear message, rather than inside the server
    except StartupError as exc:
        fail_with(ErrorCode.STARTUP_FAILED, str(exc))
    say(f"BlastDeck on http://{settings.host}:{settings.port}  data: {settings.resolved_data_dir}")
    serve_app(create_app(settings, runtime), runtime, settings.host, settings.port)


def _distributed_runtime(data_dir: Path | None, **overrides: Any) -> Runtime:
    """The runtime of a worker or beat: distributed settings, schema migrated, or exit 2."""
    from blastdeck.runtime import Runtime, StartupError

    settings = load_settings(data_dir=data_dir, **overrides)
    if not settings.distributed:
        fail_with(
            ErrorCode.INVALID_CONFIGURATION,
            "set BLASTDECK_BROKER_URL (redis://...) and BLASTDECK_DATABASE_URL "
            "(postgresql+psycopg://...) for workers",
        )
    runtime = Runtime(settings)
    try:
        runtime.migrate()
    except StartupError as exc:
        fail_with(ErrorCode.STARTUP_FAILED, str(exc))
    return runtime


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
        fail(exc)
    runtime.stop()  # each worker process makes its own after the fork
    say(
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


def beat(data_dir: DataDirOpt = None) -> None:
    """Run the periodic tasks (distributed mode): reconcile (re-queue jobs nothing runs) and
    the retention purge."""
    from blastdeck.worker import configure

    runtime = _distributed_runtime(data_dir)
    settings = runtime.settings
    runtime.stop()
    schedule = settings.resolved_data_dir / f"beat-schedule-{settings.queue}"
    say(f"BlastDeck beat: reconcile every {settings.reconcile_interval_s:g} s")
    configure(settings).start(["beat", "--loglevel", "WARNING", "--schedule", str(schedule)])


def gc(
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="list the jobs a purge would delete; delete nothing"),
    ] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Purge finished jobs older than the retention (BLASTDECK_RETENTION_DAYS, default 30)."""
    with on_data_dir(data_dir) as runtime:
        days = runtime.settings.retention_days
        retention = f"retention {days:g} days; 0 keeps everything"
        if dry_run:
            expired = runtime.retention.expired_jobs()
            rows = [[job.id, job.title, _when(job.finished_at)] for job in expired]
            if rows:
                console.print(table("id", "title", "ended at", rows=rows))
            say(f"dry run: {len(expired)} job(s) would be deleted ({retention})")
            return
        deleted = runtime.retention.purge_expired()
        say(f"{deleted} job(s) deleted ({retention})")


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
