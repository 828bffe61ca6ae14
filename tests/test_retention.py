"""Retention: finished jobs expire after BLASTDECK_RETENTION_DAYS and are purged completely
(rows, hits, files); the purge is recorded; `blastdeck gc` runs it by hand."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from blastdeck.api.app import create_app
from blastdeck.store.models import Job, JobEvent, utcnow
from tests.conftest import BLASTDECK, api_job, fasta, make_settings, wait_for_job


def finished_job(client: TestClient, query: str) -> str:
    body = {"program": "blastn", "database": "demo-16s", "query": query}
    job_id = client.post("/api/jobs", json=body).json()["id"]
    assert wait_for_job(api_job(client), job_id)["phase"] == "completed"
    return job_id


def age(client: TestClient, job_id: str, days: float) -> None:
    engine = client.app.state.runtime.db_engine
    with engine.begin() as conn:
        finished = utcnow() - timedelta(days=days)
        conn.execute(update(Job).where(Job.id == job_id).values(finished_at=finished))


def rows(client: TestClient, model, job_id: str) -> int:  # type: ignore[no-untyped-def]
    with client.app.state.runtime.db_engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model).where(model.job_id == job_id))


def test_gc_purges_expired_jobs_completely(tmp_path: Path, demo_16s) -> None:
    data = tmp_path / "data"
    with TestClient(create_app(make_settings(data, retention_days=30))) as client:
        old = finished_job(client, fasta(demo_16s[:1]))
        recent = finished_job(client, fasta(demo_16s[1:2]))
        jobs_dir = client.app.state.runtime.settings.jobs_dir
        # Its HSPs: indexed at the first read of its results (a job's last batches are counted,
        # not indexed, before it completes).
        assert client.get(f"/api/jobs/{old}/hsps").json()["total"] > 0
        assert any((jobs_dir / old / "index").iterdir())
        age(client, old, 40)
        age(client, recent, 10)
        run = subprocess.run(
            [BLASTDECK, "gc", "--data-dir", str(data)],
            capture_output=True,
            timeout=120,
            env=dict(os.environ, BLASTDECK_RETENTION_DAYS="30"),
        )
        assert run.returncode == 0, run.stderr
        assert "1 job(s) deleted" in run.stdout.decode()
        assert client.get(f"/api/jobs/{old}").status_code == 404
        assert rows(client, JobEvent, old) == 0
        assert not (jobs_dir / old).exists()  # its files, HSP index included
        assert client.get(f"/api/jobs/{recent}").json()["phase"] == "completed"
        assert client.get(f"/api/jobs/{recent}/hsps").json()["total"] > 0
        purges = client.app.state.runtime.jobs.maintenance_events("retention_purge")
        assert len(purges) == 1 and purges[0].details["job_ids"] == [old]


def test_retention_zero_keeps_everything(tmp_path: Path, demo_16s) -> None:
    with TestClient(create_app(make_settings(tmp_path / "data", retention_days=0))) as client:
        job = finished_job(client, fasta(demo_16s[:1]))
        age(client, job, 10_000)
        assert client.app.state.runtime.retention.purge_expired() == 0
        assert client.get(f"/api/jobs/{job}").status_code == 200


def test_the_embedded_server_purges_by_itself(tmp_path: Path, demo_16s) -> None:
    settings = make_settings(tmp_path / "data", retention_days=1, purge_interval_s=0.3)
    with TestClient(create_app(settings)) as client:
        job = finished_job(client, fasta(demo_16s[:1]))
        age(client, job, 2)
        deadline = time.monotonic() + 15
        while client.get(f"/api/jobs/{job}").status_code == 200:
            assert time.monotonic() < deadline, "the periodic purge never ran"
            time.sleep(0.1)
