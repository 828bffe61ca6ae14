"""What the CLI prints: the job timeline, and errors (`error <code>: message`, exit status 2)."""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from blastdeck.domain.errors import BlastDeckError, ErrorCode

console = Console()
errors = Console(stderr=True)

STATUS_ICONS = {
    "pending": "[dim]○[/]",
    "running": "[cyan]◐[/]",
    "completed": "[green]✔[/]",
    "skipped": "[yellow]↷[/]",
    "failed": "[red]✘[/]",
}


def fail(exc: BlastDeckError) -> NoReturn:
    """Print the error as `error <code>: message` on stderr and exit with status 2."""
    fail_with(exc.code, exc.message)


def fail_with(code: ErrorCode, message: str) -> NoReturn:
    errors.print(f"[red]error[/] [bold]{code.value}[/]: {message}")
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
