"""The `blastdeck` command, run as a real process: on the local data dir and against a server."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from blastdeck.domain.wording import counted
from tests.conftest import BLASTDECK, Server, fasta


def cli(
    *args: str, data_dir: Path | None = None, stdin: bytes | None = None
) -> subprocess.CompletedProcess:
    extra = ["--data-dir", str(data_dir)] if data_dir else []
    command = [BLASTDECK, *args]
    # --data-dir belongs to the (sub)command, after its arguments
    return subprocess.run([*command, *extra], input=stdin, capture_output=True, timeout=180)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_help_lists_every_command() -> None:
    out = cli("--help").stdout.decode()
    for command in ("serve", "submit", "status", "jobs", "results", "cancel", "db", "cluster"):
        assert command in out


@pytest.mark.parametrize("group", [[], ["db"], ["cluster"], ["user"], ["token"], ["submit"]])
def test_help_paragraphs_are_reflowed_whole(group: list[str]) -> None:
    """A docstring's source line breaks do not reach the help: on a terminal wide enough for
    anything, every paragraph, and each command's line in a list, is one line."""
    run = subprocess.run(
        [BLASTDECK, *group, "--help"],
        capture_output=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "3000", "TERM": "dumb"},
    )
    assert run.returncode == 0, run.stderr.decode()
    lines = [line.rstrip() for line in run.stdout.decode().splitlines()]
    continued = [  # a row of a panel starts with its command, or its option (-, * required)
        line
        for line in lines
        if line.startswith("│  ") and line.strip("│ ") and line.strip("│ ")[0] not in "-*"
    ]
    prose = [line.strip() for line in lines if line.startswith(" ") and line.strip()]
    assert not continued, continued  # a command or option whose help went on to a next line
    assert prose and not [p for p in prose if p[0].islower()], prose  # a sentence broken


def test_local_submit_wait_status_results(data_dir: Path, demo_16s, tmp_path: Path) -> None:
    query = tmp_path / "q.fa"
    query.write_text(fasta(demo_16s[:2]))
    run = cli(
        "submit", str(query), "--db", "demo-16s", "-o", "evalue=1e-20", "--wait", data_dir=data_dir
    )
    out = run.stdout.decode()
    assert run.returncode == 0, run.stderr.decode()
    assert "Stage DB" in out and "BLAST Run" in out and "hits" in out
    job_id = out.split("blastdeck results ")[1].split()[0]

    status = cli("status", job_id, "--json", data_dir=data_dir)
    assert status.returncode == 0 and '"phase": "completed"' in status.stdout.decode()
    job = json.loads(status.stdout)
    shown = cli("status", job_id, data_dir=data_dir).stdout.decode()  # as submit --wait ends
    found = f"{counted(job['hits_total'], 'hit')} ({counted(job['hsps_total'], 'HSP')})"
    assert f"{found}; blastdeck results {job_id}" in " ".join(shown.split()), shown
    # each completed step with what it said (the job's events), in status and as submit
    # --wait printed it
    batches = job["progress"]["batches_total"]
    said = {
        "Prepare": f"2 queries, {counted(job['query_letters'], 'letter')}",
        "Configure": f"{batches} batch(es) written",
        "BLAST Run": f"{batches} batch(es) finished",
        "Export": found,
    }
    for printed in (shown, out):
        flat = " ".join(printed.split())
        for label, message in said.items():
            row = rf"{re.escape(label)} completed \d+ ms {re.escape(message)}"
            assert re.search(row, flat), (label, message, printed)

    tsv = cli("results", job_id, "--format", "tsv", data_dir=data_dir).stdout.decode()
    lines = tsv.strip().split("\n")
    assert lines[0].startswith("qaccver\tsaccver") and len(lines) > 2
    out_file = tmp_path / "r.xml"
    assert (
        cli("results", job_id, "--format", "xml", "-O", str(out_file), data_dir=data_dir).returncode
        == 0
    )
    assert out_file.read_text().count("<Iteration>") == 2

    # the exact BLAST commands and why the job ran as those batches (the Config tab's text)
    shown = cli("status", job_id, "--commands", data_dir=data_dir)
    assert shown.returncode == 0, shown.stderr.decode()
    text = shown.stdout.decode()
    batches = job["progress"]["batches_total"]
    assert text.startswith(f"# {batches} batch(es)") and "\n# why: " in text, text
    commands = [line for line in text.splitlines() if line.split(" ")[0].endswith("/blastn")]
    assert len(commands) == batches
    assert all("-db demo-16s" in c and "-evalue 1e-20" in c for c in commands), commands
    unknown = cli("status", "no-such-job", "--commands", data_dir=data_dir)
    assert unknown.returncode == 2 and unknown.stderr.decode().startswith("error job_not_found: ")


def test_submit_takes_sequence_ids_on_stdin_and_names_an_unknown_one(
    data_dir: Path, demo_16s
) -> None:
    accession = demo_16s[2][0].split()[0]
    stdin = f"{accession}\n".encode()
    run = cli("submit", "-", "--db", "demo-16s", "--wait", data_dir=data_dir, stdin=stdin)
    assert run.returncode == 0, run.stderr.decode()
    job_id = run.stdout.decode().split("blastdeck results ")[1].split()[0]
    job = json.loads(cli("status", job_id, "--json", data_dir=data_dir).stdout)
    assert job["phase"] == "completed" and job["title"].startswith(f"{accession} ")
    unknown = cli("submit", "-", "--db", "demo-16s", data_dir=data_dir, stdin=b"NOPE12345\n")
    assert unknown.returncode == 2
    assert unknown.stderr.decode().startswith("error query_id_not_found: ")
    assert "NOPE12345" in unknown.stderr.decode()


def test_db_and_cluster_commands(data_dir: Path, demo_16s, tmp_path: Path) -> None:
    fa = tmp_path / "mini.fa"
    fa.write_text(fasta(demo_16s[:10]))
    added = cli("db", "add", "mini", str(fa), "--title", "Mini set", data_dir=data_dir)
    assert added.returncode == 0, added.stderr.decode()
    assert "10 sequences" in added.stdout.decode()
    prefix = data_dir / "databases" / "mini" / "mini"
    registered = cli("db", "add", "mini-again", str(prefix), data_dir=data_dir)
    assert registered.returncode == 0, registered.stderr.decode()
    listing = cli("db", "list", data_dir=data_dir).stdout.decode()
    assert "mini-again" in listing and "demo-proteins" in listing

    added = cli(
        "cluster",
        "add",
        "bigbox",
        "--engine",
        "local",
        "--slots",
        "1",
        "--set",
        f"scratch_dir={tmp_path / 'scratch'}",
        data_dir=data_dir,
    )
    assert added.returncode == 0, added.stderr.decode()
    assert "bigbox" in cli("cluster", "list", data_dir=data_dir).stdout.decode()
    query = tmp_path / "q.fa"
    query.write_text(fasta(demo_16s[:1]))
    run = cli("submit", str(query), "--db", "mini", "--cluster", "bigbox", data_dir=data_dir)
    assert run.returncode == 0, run.stderr.decode()
    assert (tmp_path / "scratch" / "dbs" / "mini").is_dir()  # staged on that cluster's scratch


@pytest.mark.parametrize(
    "args, code",
    [
        (["submit", "{q}", "--db", "nope"], "unknown_database"),
        (["submit", "{q}", "--db", "demo-16s", "-o", "out=/etc/passwd"], "option_not_allowed"),
        (["submit", "{q}", "--db", "demo-16s", "-o", "evalue=abc"], "invalid_option_value"),
        (
            ["submit", "{q}", "--db", "demo-16s", "--program", "blastp"],
            "database_molecule_mismatch",
        ),
        (["submit", "/no/such/file.fa", "--db", "demo-16s"], "invalid_request"),
        (["status", "no-such-job"], "job_not_found"),
        (["results", "no-such-job"], "job_not_found"),
        (["results", "x", "--format", "docx"], "unknown_format"),
        (["db", "add", "../evil", "{q}"], "invalid_name"),
        (["cluster", "add", "c1", "--engine", "warp-drive"], "unknown_engine"),
        (["cluster", "add", "c1", "--engine", "local", "--set", "oops"], "invalid_request"),
        (["cluster", "add", "c1", "--engine", "local", "--slots", "0"], "invalid_cluster_setting"),
        (["cluster", "add", "c1", "--engine", "local", "--slots", "-3"], "invalid_cluster_setting"),
    ],
)
def test_cli_errors_name_their_code(
    data_dir: Path, tmp_path: Path, args: list[str], code: str
) -> None:
    query = tmp_path / "q.fa"
    query.write_text(">q\nACGTACGTACGTAGCTAGCTAGCATCGACTAGCATCAG\n")
    run = cli(*[a.replace("{q}", str(query)) for a in args], data_dir=data_dir)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert code in run.stderr.decode()
    assert "Traceback" not in run.stderr.decode()


def test_an_unknown_results_format_lists_fasta_with_the_downloads(data_dir: Path) -> None:
    run = cli("results", "x", "--format", "docx", data_dir=data_dir)
    error = run.stderr.decode()
    assert run.returncode == 2 and "unknown_format" in error, error
    assert "asn1, or fasta (the hit subjects' sequences)." in " ".join(error.split()), error


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "server-data", None)
    srv.start()
    yield srv
    srv.kill(signal.SIGTERM)


def test_cli_against_a_running_server(server: Server, demo_16s, tmp_path: Path) -> None:
    query = tmp_path / "q.fa"
    query.write_text(fasta(demo_16s[:1]))
    run = cli("submit", str(query), "--db", "demo-16s", "--server", server.url, "--wait")
    assert run.returncode == 0, run.stderr.decode()
    job_id = run.stdout.decode().split("blastdeck results ")[1].split()[0]
    assert server.job(job_id)["phase"] == "completed"
    quick = cli("submit", str(query), "--db", "demo-16s", "--server", server.url)
    assert quick.returncode == 0 and len(quick.stdout.decode().strip()) == 36  # just the id
    tsv = cli("results", job_id, "--server", server.url).stdout.decode()
    assert tsv.startswith("qaccver")
    bad = cli("status", "nope", "--server", server.url)
    assert bad.returncode == 2 and "job_not_found" in bad.stderr.decode()
    shown = " ".join(cli("status", job_id, "--server", server.url).stdout.decode().split())
    batches = server.job(job_id)["progress"]["batches_total"]
    assert re.search(rf"Configure completed \d+ ms {batches} batch\(es\) written", shown), shown
    commands = cli("status", job_id, "--commands", "--server", server.url)
    assert commands.returncode == 0, commands.stderr.decode()
    assert commands.stdout.decode() == httpx.get(f"{server.url}/api/jobs/{job_id}/config").text
    bad = cli("status", "nope", "--commands", "--server", server.url)
    assert bad.returncode == 2 and "job_not_found" in bad.stderr.decode()
    listed = cli("jobs", "--server", server.url, "--limit", "500").stdout.decode().splitlines()
    assert listed[0].split() == ["id", "status", "hits", "program", "submitted", "(UTC)",
                                 "database", "title"]  # fmt: skip
    assert any(line.startswith(f"{job_id}  completed") for line in listed)
    page = json.loads(cli("jobs", "--server", server.url, "--json", "--limit", "1").stdout)
    assert len(page["items"]) == 1 and page["total"] >= 2
    # every list prints the API's own JSON with --json (for scripts and jq)
    for command, url in (
        (["db", "list"], "/api/databases"),
        (["cluster", "list"], "/api/clusters"),
    ):
        printed = json.loads(cli(*command, "--json", "--server", server.url).stdout)
        answered = httpx.get(f"{server.url}{url}").json()["items"]
        assert [(p["name"], sorted(p)) for p in printed] == [
            (a["name"], sorted(a)) for a in answered
        ], command


def test_jobs_lists_the_newest_first_filters_and_pages(data_dir: Path, demo_16s, tmp_path) -> None:
    query = tmp_path / "q.fa"
    ids = []
    for record in demo_16s[:2]:
        query.write_text(fasta([record]))
        run = cli("submit", str(query), "--db", "demo-16s", "--wait", data_dir=data_dir)
        assert run.returncode == 0, run.stderr.decode()
        ids.append(run.stdout.decode().split("blastdeck results ")[1].split()[0])
    listed = cli("jobs", data_dir=data_dir)
    assert listed.returncode == 0, listed.stderr.decode()
    rows = listed.stdout.decode().splitlines()[1:]

    def hits(job_id: str) -> str:
        job = json.loads(cli("status", job_id, "--json", data_dir=data_dir).stdout)
        return f"{job['hits_total']:,}"

    assert [r.split()[:4] for r in rows] == [
        [job_id, "completed", hits(job_id), "blastn"] for job_id in reversed(ids)
    ]
    assert rows[0].split("  ")[-1].startswith(demo_16s[1][0].split()[0])  # its title, last
    first = cli("jobs", "--limit", "1", data_dir=data_dir)
    assert first.stdout.decode().splitlines()[1].startswith(ids[1])
    assert "1-1 of 2 jobs; --offset 1 for more" in first.stderr.decode()
    second = cli("jobs", "--limit", "1", "--offset", "1", "--json", data_dir=data_dir)
    assert [j["id"] for j in json.loads(second.stdout)["items"]] == [ids[0]]
    databases = json.loads(cli("db", "list", "--json", data_dir=data_dir).stdout)
    assert {d["name"] for d in databases} >= {"demo-16s", "demo-proteins"}
    clusters = json.loads(cli("cluster", "list", "--json", data_dir=data_dir).stdout)
    assert [c["name"] for c in clusters] == ["local"] and clusters[0]["health"]
    searched = cli("jobs", "-q", ids[0][:8], "--json", data_dir=data_dir)
    assert [j["id"] for j in json.loads(searched.stdout)["items"]] == [ids[0]]
    assert json.loads(cli("jobs", "--status", "failed", "--json", data_dir=data_dir).stdout) == {
        "items": [],
        "total": 0,
    }
    for bad in (
        ["--status", "done"],
        ["--limit", "0"],
        ["--limit", "501"],
        ["--offset", "-1"],
        ["--offset", "99999999999999999999999"],  # once an OverflowError in SQLite
        ["-q", "x" * 201],
    ):
        refused = cli("jobs", *bad, data_dir=data_dir)
        assert refused.returncode == 2 and "Invalid value" in refused.stderr.decode(), bad


@pytest.mark.parametrize(
    "slots, message",
    [
        ("0", "slots must be at least 1 (got 0)"),
        ("-3", "slots must be at least 1 (got -3)"),
        ("100000000000000000000", "slots must be at most 10,000 (got 100000000000000000000)"),
    ],
)
def test_cluster_slots_out_of_range_is_a_clean_error_naming_the_field(
    data_dir: Path, slots: str, message: str
) -> None:
    run = cli("cluster", "add", "big2", "--engine", "local", "--slots", slots, data_dir=data_dir)
    err = run.stderr.decode().replace("\n", "")
    assert run.returncode == 2, (run.stdout, err)
    assert err == f"error invalid_cluster_setting: {message}"
    assert "big2" not in cli("cluster", "list", data_dir=data_dir).stdout.decode()


def test_cluster_slots_out_of_range_against_a_server(server: Server) -> None:
    for slots in ("0", "-3", "100000000000000000000"):
        run = cli(
            "cluster", "add", "big2", "--engine", "local", "--slots", slots, "--server", server.url
        )
        err = run.stderr.decode().replace("\n", "")
        assert run.returncode == 2 and err.startswith("error invalid_cluster_setting: slots must")
    # The server refuses them too (for other clients), naming the field, never with a 500.
    for slots in (0, -3, 10**20):
        body = {"name": "big2", "engine": "local", "slots": slots}
        answer = httpx.post(f"{server.url}/api/clusters", json=body, timeout=30)
        assert answer.status_code == 422, answer.text
        assert answer.json()["field"] == "slots" and "slots" in answer.json()["message"]
    listed = httpx.get(f"{server.url}/api/clusters", timeout=30).json()["items"]
    assert "big2" not in [c["name"] for c in listed]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        (
            {"BLASTDECK_MAX_EXPORT_RENDERS": "0"},
            "BLASTDECK_MAX_EXPORT_RENDERS (max_export_renders)",
        ),
        (
            {"BLASTDECK_WORKERS": "two"},
            "BLASTDECK_WORKERS (workers): Input should be a valid integer",
        ),
    ],
)
def test_an_invalid_setting_is_named_as_it_is_set(
    data_dir: Path, env: dict[str, str], named: str
) -> None:
    run = subprocess.run(
        [BLASTDECK, "serve", "--data-dir", str(data_dir)],
        env=dict(os.environ, **env),
        capture_output=True,
        timeout=60,
    )
    err = run.stderr.decode()
    assert run.returncode == 2 and "error invalid_configuration: " in err, err
    assert named in err and "Traceback" not in err


def test_serve_refuses_a_submit_timeout_not_below_the_lock_ttl(data_dir: Path) -> None:
    env = dict(os.environ, BLASTDECK_SUBMIT_TIMEOUT_S="900", BLASTDECK_LOCK_TTL_S="900")
    run = subprocess.run(
        [BLASTDECK, "serve", "--data-dir", str(data_dir)], env=env, capture_output=True, timeout=60
    )
    assert run.returncode == 2
    assert "invalid_configuration" in run.stderr.decode() and "Traceback" not in run.stderr.decode()


def test_serve_with_postgresql_down_exits_with_a_clear_error(data_dir: Path) -> None:
    env = dict(os.environ, BLASTDECK_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/x")
    run = subprocess.run(
        [BLASTDECK, "serve", "--data-dir", str(data_dir)], env=env, capture_output=True, timeout=60
    )
    assert run.returncode == 2
    assert "cannot reach the database" in run.stderr.decode().replace("\n", " ")
