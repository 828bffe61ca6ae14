"""A cluster that cannot work is refused when it is added, with the setting named; a cluster's
health (BLAST found, scratch writable) is what a listing shows. (SLURM's controller check is in
test_slurm.py, against a real controller.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from blastdeck.domain.clusters import Cluster
from blastdeck.engines import local
from tests.conftest import BLASTDECK, make_settings


@pytest.fixture
def client(tmp_path: Path):
    with TestClient(create_app(make_settings(tmp_path / "data", demo_databases=False))) as c:
        yield c


@pytest.mark.parametrize(
    ("scratch", "why"),
    [("relative/path", "absolute path"), ("/proc/blastdeck-scratch", "not writable")],
)
def test_a_local_cluster_with_an_unusable_scratch_dir_is_refused(
    client: TestClient, scratch: str, why: str
) -> None:
    body = {"name": "big7", "engine": "local", "settings": {"scratch_dir": scratch}}
    response = client.post("/api/clusters", json=body)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["error_code"] == "invalid_cluster_setting"
    assert error["field"] == "settings.scratch_dir" and why in error["message"]
    names = [c["name"] for c in client.get("/api/clusters").json()["items"]]
    assert "big7" not in names


def test_the_cli_refuses_a_relative_scratch_dir_with_exit_code_2(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            BLASTDECK,
            "cluster",
            "add",
            "big7",
            "--engine",
            "local",
            "--set",
            "scratch_dir=relative/path",
            "--data-dir",
            str(tmp_path / "data"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "BLASTDECK_DEMO_DATABASES": "false"},
    )
    assert run.returncode == 2, run
    assert "invalid_cluster_setting" in run.stderr and "scratch_dir" in run.stderr
    assert "Traceback" not in run.stderr


def test_health_of_a_local_cluster(tmp_path: Path) -> None:
    good = Cluster("box", "local", "default", 2, {"scratch_dir": str(tmp_path / "s")})
    health = local.check_health(good, tmp_path)
    assert health.ok and health.checks["scratch_free_bytes"] > 0
    bad = Cluster("box", "local", "default", 2, {"scratch_dir": "/proc/no-such-scratch"})
    health = local.check_health(bad, tmp_path)
    assert not health.ok and "not writable" in health.detail
