"""A run's claim pins the job's cluster definition in the same transaction (real SQLite store):
the first run pins it, a later claim keeps it, nothing is pinned for a cluster that is gone
(the pipeline then fails the job with `unknown_cluster`), and a pin written elsewhere later
(`ClusterStore.pin_job`, e.g. a download's) does not replace it."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from blastdeck.store.catalog import ClusterStore
from blastdeck.store.database import make_engine, make_session_factory, migrate
from blastdeck.store.jobs import JobStore
from blastdeck.store.new_job import NewJob

STARTED = {"name": "keep", "engine": "local", "slots": 1, "settings": {"a": "1"}}
EDITED = {**STARTED, "slots": 2}


def _stores(tmp_path: Path) -> tuple[JobStore, ClusterStore]:
    engine = make_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    migrate(engine)
    sessions = make_session_factory(engine)
    return JobStore(sessions), ClusterStore(sessions)


def _job(store: JobStore) -> str:
    new = NewJob("t", "blastn", "demo-16s", "keep", "default", {}, ">q\nACGT\n", 1, 4)
    return store.create(new).id


def test_the_first_claim_pins_the_cluster_and_later_ones_keep_it(tmp_path: Path) -> None:
    jobs, clusters = _stores(tmp_path)
    job_id = _job(jobs)
    asked: list[str] = []

    def pin(name: str) -> dict:
        asked.append(name)
        return dict(STARTED)

    job = jobs.claim_and_get(job_id, "run-1", 30, pin)
    assert job is not None and job.cluster_config == STARTED and asked == ["keep"]
    assert jobs.get(job_id).cluster_config == STARTED  # stored, not only on the object
    # Renewed by the same run, or claimed again after a restart: the pin stays as it was.
    again = jobs.claim_and_get(job_id, "run-1", 30, lambda name: dict(EDITED))
    assert again.cluster_config == STARTED
    # A pin from elsewhere (a download's for_job) finds it pinned and changes nothing.
    assert clusters.pin_job(job_id, EDITED) == STARTED


def test_nothing_is_pinned_for_a_cluster_that_is_gone(tmp_path: Path) -> None:
    jobs, _ = _stores(tmp_path)
    job_id = _job(jobs)
    job = jobs.claim_and_get(job_id, "run-1", 30, lambda name: None)
    assert job is not None and job.cluster_config is None
    assert jobs.get(job_id).cluster_config is None


def test_a_claim_another_run_holds_pins_nothing(tmp_path: Path) -> None:
    jobs, _ = _stores(tmp_path)
    job_id = _job(jobs)
    assert jobs.claim_and_get(job_id, "run-1", 30) is not None
    assert jobs.claim_and_get(job_id, "run-2", 30, lambda name: dict(EDITED)) is None
    assert jobs.get(job_id).cluster_config is None


def test_the_registry_pins_what_it_has_and_nothing_for_an_unknown_cluster(
    client: TestClient,
) -> None:
    registry = client.app.state.runtime.clusters
    assert registry.record_to_pin("local") == registry.get("local").record()
    assert registry.record_to_pin("nowhere") is None
