"""What the CLI prints: the job timeline, and errors (`error <code>: message`, exit status 2).

Every value that comes from the server, a file or the user is printed as text, never read as
markup (`plain`, or `escape` inside our own markup): BLAST's messages are full of `[...]`.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.taxon_filter import filter_summary
from blastdeck.domain.wording import hits_and_hsps

# emoji=False: a ':name:' in a title or a message stays as typed.
console = Console(emoji=False)
errors = Console(stderr=True, emoji=False)

STATUS_ICONS = {
    "pending": "[dim]○[/]",
    "running": "[cyan]◐[/]",
    "completed": "[green]✔[/]",
    "skipped": "[yellow]↷[/]",
    "failed": "[red]✘[/]",
    "cancelled": "[yellow]■[/]",
}


def plain(value: object) -> Text:
    """A value printed exactly as it is: no markup, no emoji codes, no highlighting."""
    return Text("" if value is None else str(value))


def print_json(value: object) -> None:
    """The API's JSON for a value (what `--json` prints), for scripts and jq."""
    console.print_json(json.dumps(value))


def say(text: str) -> None:
    """Print one line made of values (names, titles, ids), as text."""
    console.print(plain(text))


def fail(exc: BlastDeckError) -> NoReturn:
    """Print the error as `error <code>: message` on stderr and exit with status 2."""
    fail_with(exc.code, exc.message)


def fail_with(code: ErrorCode, message: str) -> NoReturn:
    # One line whatever its length: the terminal may wrap it, we insert no line breaks.
    text = " ".join(message.splitlines())
    errors.print(f"[red]error[/] [bold]{code.value}[/]: {escape(text)}", soft_wrap=True)
    raise typer.Exit(2)


def step_messages(events: list[dict[str, Any]]) -> dict[str, str]:
    """What each step said as it completed ("5 queries, 6,096 letters", "2 batch(es) written"),
    from the job's events (the page's event log); a step run again keeps its last word."""
    return {e["step"]: e["message"] for e in events if e["kind"] == "step_completed" and e["step"]}


def timeline(job: dict[str, Any], said: dict[str, str] | None = None) -> Table:
    """The job's steps as a table: the same picture the web page draws, with what each
    completed step said (`step_messages`) where given."""
    progress = job["progress"]
    title = (
        f"{job['id']}  {job['program']} vs {job['database']} on {job['cluster']}/{job['namespace']}"
    )
    table = Table(title=plain(title), title_justify="left", show_header=False, box=None)
    for step in job["steps"]:
        status = step["status"]
        if status == "running" and job["phase"] == "waiting_for_submit_slot":
            w = job.get("waiting_for") or {}
            detail = f"waiting for the submit slot of {w.get('cluster')}/{w.get('namespace')}"
        elif status == "running" and job["phase"] == "paused":
            detail = (job.get("waiting_for") or {}).get("message") or "paused"
        elif status == "running" and step["key"] == "running" and progress["batches_total"]:
            detail = f"{progress['batches_done']}/{progress['batches_total']} batches"
        elif status == "completed" and said:
            detail = said.get(step["key"], "")
        else:
            detail = step.get("skip_reason") or step.get("error") or ""
        ms = step["duration_ms"]
        table.add_row(
            STATUS_ICONS.get(status, "?"),
            plain(step["label"]),
            plain(status),
            f"{ms} ms" if ms is not None else "",
            plain(detail),
        )
    if job.get("error_code") and job["phase"] in ("failed", "cancelled"):
        code = Text(str(job["error_code"]), style="red")
        table.add_row("", "", code, "", plain(job.get("error")))
    return table


def outcome(job: dict[str, Any]) -> str | None:
    """A completed job's hits and the command that gets them (None for any other job: its
    timeline says where it is, or its error)."""
    if job["phase"] != "completed":
        return None
    found = hits_and_hsps(job["hits_total"], job["hsps_total"])
    return f"{found}; blastdeck results {job['id']} --format tsv"


def organisms(job: dict[str, Any]) -> str | None:
    """What a filtered job searched within, as its page says it (None: no filter)."""
    record = job.get("taxon_filter")
    return f"organisms: {filter_summary(record)}" if record else None


def table(*columns: str, rows: list[list[object]], whole: tuple[str, ...] = ()) -> Table:
    """A table of values, each cell printed as text; the `whole` columns are never cut or
    wrapped (names people copy), the others wrap to fit the terminal."""
    out = Table()
    for column in columns:
        out.add_column(column, no_wrap=column in whole)
    for row in rows:
        out.add_row(*(plain(cell) for cell in row))
    return out


def print_job_list(jobs: list[dict[str, Any]]) -> None:
    """Jobs a line each, in columns: the whole id (to paste into `status`), status, hits,
    program, submit time and database, then the title. On a terminal the title is cut (with an
    ellipsis) to the line; piped, every line is whole, for grep and friends."""
    rows = [
        (j["id"], j["status"], "" if j["hits_total"] is None else f"{j['hits_total']:,}",
         j["program"], j["created_at"][:16].replace("T", " "),
         ", ".join(j["databases"] or [j["database"]]), j["title"] or "")
        for j in jobs
    ]  # fmt: skip
    header = ("id", "status", "hits", "program", "submitted (UTC)", "database", "title")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    widths[5] = min(widths[5], _MAX_DATABASE_CHARS)
    for row in [header, *rows]:
        cells = [
            _cut(cell, width).rjust(width) if i == 2 else _cut(cell, width).ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=False))
        ]
        line = "  ".join([*cells, row[-1]])
        if console.is_terminal:
            line = _cut(line, max(console.width - 1, sum(widths) + 20))
        console.print(Text(line, style="bold" if row is header else ""), soft_wrap=True)


_MAX_DATABASE_CHARS = 24


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
