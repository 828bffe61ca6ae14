"""The `blastdeck` command: serve, submit and follow jobs, manage databases, clusters and users.

With `--server URL` commands talk to a running BlastDeck; without it they work on the local
data dir (`--data-dir`, BLASTDECK_DATA_DIR, default ./.blastdeck), and `submit` runs the job in
this process. `user`, `token` and `gc` always work on the data dir (admin tasks on the server
host). Errors print as `error <code>: message` with exit status 2.
"""

from __future__ import annotations

import inspect

import click
import typer

from blastdeck.cli import clusters, databases, jobs, server, users

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
for command in (
    server.serve,
    server.worker,
    server.beat,
    jobs.submit,
    jobs.status,
    jobs.jobs,
    jobs.cancel,
    jobs.results,
    server.gc,
):
    app.command()(command)
app.command(name="import")(jobs.import_result)
app.add_typer(databases.app, name="db")
app.add_typer(clusters.app, name="cluster")
app.add_typer(users.user_app, name="user")
app.add_typer(users.token_app, name="token")


def unwrap_help(command: click.Command) -> None:
    """Join the lines of each paragraph of `command`'s help (and its subcommands'): the
    docstrings are wrapped for the source, and Typer's rich help keeps their line breaks in
    the command lists and the group's text, then wraps again to the terminal (ragged lines)."""
    if command.help:
        paragraphs = inspect.cleandoc(command.help).split("\n\n")
        command.help = "\n\n".join(" ".join(p.split("\n")) for p in paragraphs)
    for sub in getattr(command, "commands", {}).values():
        unwrap_help(sub)


def main() -> None:
    command = typer.main.get_command(app)  # what `app()` runs, with its help unwrapped
    unwrap_help(command)
    command(prog_name="blastdeck")  # also under `python -m blastdeck.cli`
