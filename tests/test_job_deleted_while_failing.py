"""A job deleted while it runs leaves nothing to fail or cancel: the pipeline's failure path
(its files gone mid-step, as the fuzzer found with a DELETE racing a poll) ends quietly, with
no traceback and no row brought back (real SQLite store)."""

from __future__ import annotations

from pathlib import Path

from blastdeck.domain.errors import ErrorCode
from blastdeck.domain.pipeline_model import Step
from blastdeck.store.database import make_engine, make_session_factory, migrate
from blastdeck.store.job_steps import StepStart
from blastdeck.store.jobs import JobStore
from blastdeck.store.new_job import NewJob


def _store(tmp_path: Path) -> JobStore:
    engine = make_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    migrate(engine)
    return JobStore(make_session_factory(engine))


def _running_job(store: JobStore) -> str:
    new = NewJob("t", "blastn", "demo-16s", "local", "default", {}, ">q\nACGT\n", 1, 4)
    job_id = store.create(new).id
    store.start_step(job_id, Step.PREPARING)
    return job_id


def test_failing_a_deleted_job_does_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    job_id = _running_job(store)
    store.delete(job_id)
    waited = [StepStart(Step.RUNNING, None)]
    store.finish_failed(job_id, ErrorCode.INTERNAL_ERROR, "files gone", transitions=waited)
    store.finish_cancelled(job_id, waited)
    assert store.get(job_id) is None


def test_failing_a_job_still_there_marks_its_running_step(tmp_path: Path) -> None:
    store = _store(tmp_path)
    job_id = _running_job(store)
    store.finish_failed(job_id, ErrorCode.INTERNAL_ERROR, "it broke")
    job = store.get(job_id)
    assert job.phase == "failed" and job.error_code == "internal_error"
    assert [s.status for s in job.steps if s.key == "preparing"] == ["failed"]
