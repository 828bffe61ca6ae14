"""A cluster that cannot work is refused when it is added, with the setting named; a cluster's
health (BLAST found, scratch writable) is what a listing shows. (SLURM's controller check is in
test_slurm.py, against a real controller.)"""

from __future__ import annotations

import os
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


def test_every_engine_setting_says_what_it_takes_and_its_default(client: TestClient) -> None:
    # An operator adding a cluster saw five empty fields named archive_with_search,
    # batch_letters, memory_limit_mb, namespaces, scratch_dir, and nothing on what they take.
    engines = {e["name"]: e for e in client.get("/api/clusters/engines").json()["items"]}
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    slurm_doc = (Path(__file__).resolve().parents[1] / "docs" / "slurm.md").read_text()
    for name, documented in (("local", readme), ("slurm", slurm_doc)):
        engine = engines[name]
        assert sorted(engine["setting_help"]) == engine["settings"], name
        rows = [line for line in documented.splitlines() if line.startswith("| `")]
        for setting, help_line in engine["setting_help"].items():
            assert "(default: " in help_line, (name, setting, help_line)
            # and the docs' table of the engine's settings has a row for it
            assert any(f"`{setting}`" in row.split(" | ")[0] for row in rows), (name, setting)


def test_the_cli_lists_each_engines_settings(tmp_path: Path) -> None:
    done = subprocess.run(
        [BLASTDECK, "cluster", "engines", "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "local:" in done.stdout and "slurm:" in done.stdout
    for setting, help_line in local.SETTING_HELP.items():
        assert setting in done.stdout and help_line in done.stdout, setting
    # and `cluster add --help` names the engines and where their settings are listed
    shown = subprocess.run(
        [BLASTDECK, "cluster", "add", "--help"], capture_output=True, text=True, timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert "local or slurm" in shown.stdout and "cluster engines" in shown.stdout
