"""Every text the CLI prints is printed as it is (issue 14 item 2): a job error, a database
title, a cluster setting or an error message holding `[...]`, `[bold]`, `[/]` or `[red]x[/red]`
(rich markup) is shown verbatim, never styled away or crashing with rich's MarkupError.

The job errors are real: BLAST fails on a database whose index file was deleted after it was
added, and its message names the search path, which goes through a cluster scratch dir whose
name is made of markup."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BLASTDECK, Server, fasta

MARKUP = ("[bold]", "[/]", "[red]x[/red]", "[...]")
TITLE = "[bold]Mini[/] [red]x[/red] [/] :thumbs_up: [...]"
ENV = dict(os.environ, COLUMNS="3000")  # one line per table row: compare whole texts


def cli(*args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess:
    extra = ["--data-dir", str(data_dir)] if data_dir else []
    return subprocess.run(
        [BLASTDECK, *args, *extra], capture_output=True, timeout=180, env=ENV, text=True
    )


def ok(run: subprocess.CompletedProcess) -> str:
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def weird_scratch(tmp_path: Path) -> Path:
    """An absolute scratch dir whose path is rich markup: '[/]' first, so that reading it as
    markup fails outright (nothing to close) instead of silently dropping text."""
    return tmp_path / "[/]" / "[bold]" / "[red]x[/red]" / "[...]"


def assert_verbatim(text: str, output: str) -> None:
    assert text in output, f"{text!r} not printed as is in:\n{output}"


def broken_job_checks(args: list[str], data_dir: Path | None = None) -> None:
    """Submit against the broken database (its index file deleted, its data dir a path of
    markup) on the weird cluster and wait: the job fails, and its error (naming the database's
    path) is printed verbatim by submit --wait, status and status --json."""
    run = cli(*args, data_dir=data_dir)
    assert run.returncode == 1, run.stdout + run.stderr  # the job failed; the CLI did not
    assert "Traceback" not in run.stderr and "MarkupError" not in run.stderr
    job_id = run.stdout.split()[0]
    server = args[args.index("--server") + 1] if "--server" in args else None
    where = ["--server", server] if server else []
    job = json.loads(ok(cli("status", job_id, "--json", *where, data_dir=data_dir)))
    error = job["error"]
    assert job["error_code"] == "database_files_missing"
    assert all(piece in error for piece in MARKUP), error  # the message names the weird path
    assert_verbatim(error, run.stdout)
    status = ok(cli("status", job_id, *where, data_dir=data_dir))
    assert_verbatim(error, status)
    assert_verbatim("database_files_missing", status)


def test_local_data_dir_prints_every_text_verbatim(
    tmp_path: Path, demo_16s: list[tuple[str, str]]
) -> None:
    data = weird_scratch(tmp_path) / "data"  # error messages then name paths full of markup
    mini = tmp_path / "mini.fa"
    mini.write_text(fasta(demo_16s[:10]))
    query = tmp_path / "q.fa"
    query.write_text(fasta(demo_16s[:1]))
    ok(cli("db", "add", "mini", str(mini), "--title", TITLE, data_dir=data))
    assert_verbatim(TITLE, ok(cli("db", "list", data_dir=data)))

    scratch = weird_scratch(tmp_path)
    setting = f"scratch_dir={scratch}"
    ok(cli("cluster", "add", "weird", "--engine", "local", "--set", setting, data_dir=data))
    assert_verbatim(
        json.dumps({"scratch_dir": str(scratch)}), ok(cli("cluster", "list", data_dir=data))
    )

    ok(cli("db", "add", "broken", str(mini), data_dir=data))
    (data / "databases" / "broken" / "broken.nin").unlink()
    broken_job_checks(
        ["submit", str(query), "--db", "broken", "--cluster", "weird", "--wait"], data_dir=data
    )

    ok(cli("user", "add", "alice", "--group", "lab", data_dir=data))
    assert ok(cli("user", "list", data_dir=data)).strip() == "alice groups: lab"


@pytest.mark.parametrize(
    "args, code, text",
    [
        (["user", "add", "[/]x"], "invalid_name", "'[/]x'"),
        (["token", "create", "[/]nobody"], "unknown_user", "'[/]nobody'"),
        (["token", "revoke", "[red]x[/red][/]"], "unknown_token", "'[red]x[/red][/]'"),
        (["status", "[/][bold]no-such-job"], "job_not_found", "[/][bold]no-such-job"),
        (["submit", "{q}", "--db", "demo-16s", "-o", "[/]evalue=1"], "option_not_allowed", "[/]"),
        (["cluster", "add", "c1", "--engine", "[red]x[/red][/]"], "unknown_engine", "[red]x"),
    ],
)
def test_error_messages_with_markup_are_printed_verbatim(
    tmp_path: Path, args: list[str], code: str, text: str
) -> None:
    query = tmp_path / "q.fa"
    query.write_text(">q\nACGTACGTACGTAGCTAGCTAGCATCGACTAGCATCAG\n")
    run = cli(*[a.replace("{q}", str(query)) for a in args], data_dir=tmp_path / "data")
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith(f"error {code}: "), run.stderr
    assert_verbatim(text, run.stderr)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(weird_scratch(tmp_path) / "server-data", None)
    srv.start()
    yield srv
    srv.kill(signal.SIGTERM)


def test_server_answers_are_printed_verbatim(
    server: Server, tmp_path: Path, demo_16s: list[tuple[str, str]]
) -> None:
    url = ["--server", server.url]
    mini = tmp_path / "mini.fa"
    mini.write_text(fasta(demo_16s[:10]))
    query = tmp_path / "q.fa"
    query.write_text(fasta(demo_16s[:1]))
    ok(cli("db", "add", "mini", str(mini), "--title", TITLE, *url))
    assert_verbatim(TITLE, ok(cli("db", "list", *url)))

    scratch = weird_scratch(tmp_path)
    ok(cli("cluster", "add", "weird", "--engine", "local", "--set", f"scratch_dir={scratch}", *url))
    assert_verbatim(json.dumps({"scratch_dir": str(scratch)}), ok(cli("cluster", "list", *url)))

    ok(cli("db", "add", "broken", str(mini), *url))
    server_data = Path(server.env["BLASTDECK_DATA_DIR"])
    (server_data / "databases" / "broken" / "broken.nin").unlink()
    broken_job_checks(
        ["submit", str(query), "--db", "broken", "--cluster", "weird", "--wait", *url]
    )

    # (no '/' in it: over HTTP the id is a path segment)
    missing = cli("status", "[bold]nope[red]", *url)
    assert missing.returncode == 2 and missing.stderr.startswith("error job_not_found: ")
    assert_verbatim("[bold]nope[red]", missing.stderr)
