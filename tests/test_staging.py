"""Staging a database to a cluster's scratch dir: hard links on the same filesystem (no bytes
copied, same inodes), a real copy onto another filesystem (a tmpfs mounted for the test), and
the next job skipping staging. Real BLAST+, real jobs."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from blastdeck.database_files import database_files
from tests.conftest import api_job, fasta, make_settings, wait_for_job


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("staging") / "data")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def run(client: TestClient, database: str, query: str, cluster: str = "local") -> dict:
    body = {"program": "blastn", "database": database, "query": query, "cluster": cluster}
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 202, response.text
    job = wait_for_job(api_job(client), response.json()["id"])
    assert job["phase"] == "completed", job
    return job


def staging(client: TestClient, job: dict) -> tuple[dict, str]:
    step = next(s for s in job["steps"] if s["key"] == "staging_db")
    events = client.get(f"/api/jobs/{job['id']}/events").json()["items"]
    said = [
        e["message"] for e in events if e["step"] == "staging_db" and e["kind"] != "step_started"
    ]
    return step, said[-1]


def upload(client: TestClient, name: str, records) -> Path:
    response = client.post(
        "/api/databases",
        data={"name": name},
        files={"file": (f"{name}.fa", fasta(records).encode(), "text/plain")},
    )
    assert response.status_code == 201, response.text
    return Path(response.json()["path"])


def test_same_filesystem_stages_hard_links(client: TestClient, demo_16s) -> None:
    prefix = upload(client, "linked", demo_16s[:40])
    job = run(client, "linked", fasta(demo_16s[:1]))
    step, message = staging(client, job)
    assert step["status"] == "completed"
    assert "0 bytes copied" in message and "hard-linked" in message
    scratch = client.app.state.runtime.settings.resolved_data_dir
    staged_dir = next(scratch.rglob("dbs/linked"))
    sources = database_files(prefix)
    assert sources
    for source in sources:
        staged = (staged_dir / source.name).stat()
        assert (staged.st_ino, staged.st_dev) == (source.stat().st_ino, source.stat().st_dev)
    again = run(client, "linked", fasta(demo_16s[1:2]))
    assert staging(client, again)[0]["status"] == "skipped"


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "tmpfs scratch"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_another_filesystem_copies_every_byte_once(
    client: TestClient, demo_16s, tmpfs: Path
) -> None:
    prefix = upload(client, "copied", demo_16s[:60])
    added = client.post(
        "/api/clusters",
        json={"name": "on-tmpfs", "engine": "local", "settings": {"scratch_dir": str(tmpfs)}},
    )
    assert added.status_code == 201, added.text
    job = run(client, "copied", fasta(demo_16s[:1]), cluster="on-tmpfs")
    step, message = staging(client, job)
    assert step["status"] == "completed"
    copied = int(re.search(r"([\d,]+) bytes copied", message).group(1).replace(",", ""))
    assert copied == sum(p.stat().st_size for p in database_files(prefix)) > 0
    staged_dir = tmpfs / "dbs" / "copied"
    assert sorted(p.name for p in database_files(staged_dir / "copied")) == sorted(
        p.name for p in database_files(prefix)
    )
    again = run(client, "copied", fasta(demo_16s[1:2]), cluster="on-tmpfs")
    step, _ = staging(client, again)
    assert step["status"] == "skipped" and "warm copy of copied reused" in step["skip_reason"]
