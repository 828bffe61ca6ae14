"""A database upload is streamed to disk and checked a part at a time (database_fasta.py): a
FASTA of several parts builds whole, a bad record past the first part is named by its number
in the file, and an upload cut off half-way leaves no database and no file (a real server)."""

from __future__ import annotations

import random
import re
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from blastdeck.database_fasta import PART_BYTES
from tests.conftest import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("upload-stream") / "data", None)
    running.start()
    yield running
    running.kill()


def records(count: int, length: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [f">s{i} seq {i}\n{''.join(rng.choices('ACGT', k=length))}\n" for i in range(count)]


def leftovers(server: Server) -> list[str]:
    folder = server.data_dir / "databases"
    return sorted(
        p.name for p in folder.iterdir() if p.name.startswith(".") and p.name != ".taxids"
    )


def upload(server: Server, name: str, fasta: list[str]) -> httpx.Response:
    files = {"file": (f"{name}.fa", "".join(fasta).encode(), "text/plain")}
    return httpx.post(f"{server.url}/api/databases", data={"name": name}, files=files, timeout=120)


def test_a_fasta_of_several_parts_builds_whole(server: Server) -> None:
    fasta = records(2500, 3000)  # ~7.5 MB: two parts and a bit
    assert len("".join(fasta)) > PART_BYTES
    response = upload(server, "parts", fasta)
    assert response.status_code == 201, response.text
    assert response.json()["sequences"] == 2500 and response.json()["letters"] == 2500 * 3000

    fasta[2100] = ">s2100 broken\nACGT1234ACGT\n"  # well past the first part
    response = upload(server, "broken", fasta)
    assert response.status_code == 422, response.text
    message = response.json()["message"]
    found = re.search(r"from sequence ([\d,]+) on .*Sequence (\d+) \('s2100'\)", message)
    assert found, message  # the 2101st record, named in its part from that part's start
    part_start = int(found[1].replace(",", ""))
    assert part_start > 1 and part_start + int(found[2]) - 1 == 2101
    assert httpx.get(f"{server.url}/api/databases/broken").status_code == 404
    assert leftovers(server) == []


def test_an_upload_cut_off_half_way_leaves_nothing(server: Server) -> None:
    boundary = "cutoffboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\ncut\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.fa"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    body = "".join(records(400, 2000)).encode()
    request = (
        f"POST /api/databases HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(head) + 2 * len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(request + head + body)  # half of what Content-Length promised
        deadline = time.monotonic() + 10
        while not list((server.data_dir / "databases").glob(".upload-*")):
            assert time.monotonic() < deadline, "the upload never reached its spool file"
            time.sleep(0.05)
    deadline = time.monotonic() + 10
    while leftovers(server) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert leftovers(server) == []
    assert httpx.get(f"{server.url}/api/databases/cut").status_code == 404
    assert httpx.get(f"{server.url}/api/health").status_code == 200
