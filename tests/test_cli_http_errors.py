"""The `blastdeck` CLI with --server when what answers is not BlastDeck: a proxy's HTML error
page, a web server's HTML where JSON belongs, odd JSON, nothing at all, a download cut part
way. The real CLI runs as a
process against a real local HTTP server; each case must end in a clear message naming the
HTTP status and the server URL, a stable error code and exit code 2, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import BLASTDECK, free_port

NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
NGINX_WELCOME = (
    b"<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n"
    b"<body><h1>Welcome to nginx!</h1><p>If you see this page, the nginx web server is "
    b"successfully installed and working.</p></body>\n</html>\n"
)
JOB_ID = "3f2b8a9e-0c1d-4e5f-8a7b-6c5d4e3f2a1b"


class Answer:
    """One canned answer: status, content type, body (and every request it got)."""

    def __init__(self, status: int, content_type: str | None, body: bytes) -> None:
        self.status, self.content_type, self.body = status, content_type, body
        self.requests: list[tuple[str, str]] = []


@pytest.fixture
def http_server() -> Iterator[Callable[[Answer], str]]:
    """Start real HTTP servers (http.server in a thread) that give one answer to everything."""
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Answer) -> str:
        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                answer.requests.append((self.command, self.path))
                self.send_response(answer.status)
                if answer.content_type:
                    self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def query_file(tmp_path: Path) -> Path:
    path = tmp_path / "q.fa"
    path.write_text(">q1\nACGTACGTACGTAGCTAGCTAGCATCGACTAGCATCAGGCATCGATCGA\n")
    return path


def run_cli(*args: str, timeout: float = 60) -> tuple[int, str, str]:
    # A wide terminal, so the message is not wrapped mid-sentence in what we compare.
    env = dict(os.environ, COLUMNS="1000", BLASTDECK_SERVER="", BLASTDECK_TOKEN="")
    run = subprocess.run(
        [BLASTDECK, *args], capture_output=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL
    )
    return run.returncode, run.stdout.decode(), run.stderr.decode()


def assert_clear_error(code: int, stderr: str, *expected: str) -> str:
    message = " ".join(stderr.split())
    assert code == 2, stderr
    assert "Traceback" not in stderr and "UnboundLocalError" not in stderr, stderr
    assert message.startswith("error "), stderr  # the CLI's one-line error, nothing else
    for text in expected:
        assert text in message, (text, stderr)
    return message


def commands(server: str, query_file: Path, out: Path) -> dict[str, list[str]]:
    submit = ["submit", str(query_file), "--db", "demo-16s", "--server", server]
    return {
        "status": ["status", JOB_ID, "--server", server],
        "status-commands": ["status", JOB_ID, "--commands", "--server", server],
        "submit": submit,
        "submit-wait": [*submit, "--wait"],
        "cancel": ["cancel", JOB_ID, "--server", server],
        "results": ["results", JOB_ID, "--format", "tsv", "-O", str(out), "--server", server],
        "db-list": ["db", "list", "--server", server],
        "db-add": ["db", "add", "genes", str(query_file), "--server", server],
        "cluster-list": ["cluster", "list", "--server", server],
    }


COMMANDS = ["status", "status-commands", "submit", "submit-wait", "cancel", "results", "db-list"]
COMMANDS += ["db-add", "cluster-list"]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_proxy_error_page_is_a_clear_error(
    command: str, http_server, query_file: Path, tmp_path: Path
) -> None:
    answer = Answer(502, "text/html", NGINX_502)
    server = http_server(answer)
    out = tmp_path / "out.tsv"
    code, _, stderr = run_cli(*commands(server, query_file, out)[command])
    assert_clear_error(
        code,
        stderr,
        "server_unreachable",
        f"The server at {server} answered HTTP 502 Bad Gateway",
        "an HTML page titled '502 Bad Gateway'",
        "instead of a BlastDeck error",
        "check that --server is BlastDeck's URL",
    )
    assert answer.requests, "the CLI never asked the server"
    assert not out.exists()


@pytest.mark.parametrize(
    ("command", "belongs"),
    [(c, "JSON") for c in ("status", "submit", "cancel", "db-list", "cluster-list")]
    + [("status-commands", "the job's commands as plain text")],
)
def test_html_where_json_or_text_belongs_is_a_clear_error(
    command: str, belongs: str, http_server, query_file: Path, tmp_path: Path
) -> None:
    server = http_server(Answer(200, "text/html", NGINX_WELCOME))
    code, stdout, stderr = run_cli(*commands(server, query_file, tmp_path / "o")[command])
    assert_clear_error(
        code,
        stderr,
        "server_unreachable",
        f"The server at {server} answered HTTP 200 OK",
        "an HTML page titled 'Welcome to nginx!'",
        f"where BlastDeck answers {belongs}",
    )
    assert "nginx" not in stdout


def test_html_where_a_download_belongs_writes_nothing(http_server, tmp_path: Path) -> None:
    server = http_server(Answer(200, "text/html; charset=utf-8", NGINX_WELCOME))
    out = tmp_path / "hits.tsv"
    code, stdout, stderr = run_cli("results", JOB_ID, "-O", str(out), "--server", server)
    assert_clear_error(
        code,
        stderr,
        "server_unreachable",
        "answered HTTP 200 OK with an HTML page titled 'Welcome to nginx!'",
        "where BlastDeck sends the tsv download (text/tab-separated-values)",
    )
    assert not out.exists()
    code, stdout, stderr = run_cli("results", JOB_ID, "--server", server)  # to stdout
    assert_clear_error(code, stderr, "server_unreachable")
    assert "nginx" not in stdout


def test_connection_refused_is_a_clear_error(query_file: Path) -> None:
    server = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    for args in (
        ["status", JOB_ID, "--server", server],
        ["submit", str(query_file), "--db", "demo-16s", "--server", server],
        ["db", "list", "--server", server],
    ):
        code, _, stderr = run_cli(*args)
        assert_clear_error(
            code,
            stderr,
            "server_unreachable",
            f"Cannot reach the BlastDeck server at {server}: the connection failed",
            "Connection refused",
        )


@pytest.mark.parametrize(
    ("status", "content_type", "body", "expected"),
    [
        (404, "application/json", b'{"detail":"Not Found"}', "a application/json body"),
        (500, "application/json", b"[1, 2, 3]", "HTTP 500 Internal Server Error"),
        (503, "text/plain", b"upstream connect error or disconnect/reset", "upstream connect"),
        (504, None, b"", "HTTP 504 Gateway Timeout with an empty body"),
        (502, "text/html", b"\xff\xfe<html>not utf-8 \x80\x81", "an HTML page"),
        (413, "application/json", b"[" * 100_000 + b"]" * 100_000, "HTTP 413"),
    ],
)
def test_error_answers_that_are_not_blastdeck_errors(
    http_server, status: int, content_type: str | None, body: bytes, expected: str
) -> None:
    server = http_server(Answer(status, content_type, body))
    code, _, stderr = run_cli("status", JOB_ID, "--server", server)
    assert_clear_error(code, stderr, "server_unreachable", f"The server at {server}", expected)


def test_a_newer_servers_error_code_keeps_its_message(http_server) -> None:
    body = {"error_code": "quantum_flux", "message": "The flux is out of range.", "field": None}
    server = http_server(Answer(422, "application/json", json.dumps(body).encode()))
    code, _, stderr = run_cli("status", JOB_ID, "--server", server)
    assert_clear_error(
        code, stderr, "internal_error", "The flux is out of range.", "'quantum_flux', unknown"
    )


def test_a_blastdeck_error_is_shown_as_the_server_said(http_server) -> None:
    body = {"error_code": "job_not_found", "message": "No job 'x'.", "field": "job_id"}
    server = http_server(Answer(404, "application/json", json.dumps(body).encode()))
    code, _, stderr = run_cli("status", JOB_ID, "--server", server)
    assert_clear_error(code, stderr, "job_not_found: No job 'x'.")
    assert "server_unreachable" not in stderr


def test_a_hostile_error_page_is_shown_sanitized_and_short(http_server) -> None:
    title = (
        "\x1b[2J\x1b[31mPWNED\x1b[0m [link=https://evil.example]click[/link] "
        "\u202eevil\u202c &lt;b&gt;" + "A" * 5000
    )
    page = f"<html><head><title>{title}</title></head><body>x</body></html>".encode()
    server = http_server(Answer(502, "text/html", page))
    code, _, stderr = run_cli("status", JOB_ID, "--server", server)
    message = assert_clear_error(code, stderr, "server_unreachable", "HTTP 502 Bad Gateway")
    assert "\x1b" not in stderr and "\u202e" not in stderr
    assert "[link=" not in stderr and "<b>" in message  # entities decoded, then shown as text
    assert "A" * 100 not in stderr and len(stderr) < 1000


def test_a_json_answer_that_is_not_a_job(http_server) -> None:
    server = http_server(Answer(200, "application/json", b'{"status": "ok"}'))
    code, _, stderr = run_cli("status", JOB_ID, "--server", server)
    assert_clear_error(
        code, stderr, "server_unreachable", "answered HTTP 200 OK", "where BlastDeck answers JSON"
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--server", "localhost:8000"], "invalid_request: --server must be an http://"),
        (["--server", "http://[::1"], "invalid_request: --server is not a valid URL"),
        (
            ["--server", "http://127.0.0.1:9", "--token", "bd_x y\u00e9"],
            "unauthorized: The token has characters an API token never has",
        ),
    ],
)
def test_a_bad_server_url_or_token_is_a_clear_error(args: list[str], expected: str) -> None:
    code, _, stderr = run_cli("status", JOB_ID, *args)
    assert_clear_error(code, stderr, expected)


def test_the_server_url_is_shown_without_credentials(http_server) -> None:
    server = http_server(Answer(502, "text/html", NGINX_502))
    with_credentials = server.replace("http://", "http://alice:s3cret@")
    code, _, stderr = run_cli("status", JOB_ID, "--server", with_credentials)
    assert_clear_error(code, stderr, f"The server at {server} answered HTTP 502")
    assert "s3cret" not in stderr


@pytest.fixture
def cut_server() -> Iterator[str]:
    """A real HTTP server whose download stops part way: it promises 100,000 bytes, sends
    5,000 and closes the connection (as BlastDeck cuts a download whose file failed midway)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/tab-separated-values")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"q\ts\n" * 1250)
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_download_cut_part_way_saves_nothing(cut_server: str, tmp_path: Path) -> None:
    out = tmp_path / "hits.tsv"
    code, stdout, stderr = run_cli("results", JOB_ID, "-O", str(out), "--server", cut_server)
    assert_clear_error(
        code,
        stderr,
        "server_unreachable",
        f"The tsv download from the BlastDeck server at {cut_server} broke off after 5,000 "
        "bytes; nothing was saved, ask again",
    )
    assert list(tmp_path.iterdir()) == []  # neither the file nor its part
    code, stdout, stderr = run_cli("results", JOB_ID, "--server", cut_server)  # to stdout
    assert_clear_error(code, stderr, "broke off after 5,000 bytes")
    assert stdout == ""
