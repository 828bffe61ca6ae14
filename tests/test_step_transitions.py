"""A step's end is written with the next step's start, in one transaction, with the time the
step ended (`store/job_steps.py`); a cancel refuses the start but keeps the end."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from blastdeck import step_records
from blastdeck.domain.pipeline_model import Phase, Step
from blastdeck.step_records import StepRecords
from blastdeck.store.database import make_engine, make_session_factory, migrate
from blastdeck.store.job_steps import StepEnd
from blastdeck.store.jobs import JobStore
from blastdeck.store.models import utcnow
from blastdeck.store.new_job import NewJob


@pytest.fixture
def store(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'blastdeck.sqlite3'}")
    migrate(engine)
    commits: list[int] = []
    event.listen(engine, "commit", lambda _connection: commits.append(1))
    try:
        yield JobStore(make_session_factory(engine)), commits
    finally:
        engine.dispose()


def new_job(store: JobStore) -> str:
    new = NewJob("t", "blastn", "db", "local", "default", {}, ">q\nACGT\n", 1, 4)
    return store.create(new).id


def steps_of(store: JobStore, job_id: str) -> dict[str, object]:
    return {row.key: row for row in store.get(job_id).steps}


def test_an_end_and_the_next_start_are_one_commit_with_the_ends_own_time(store) -> None:
    store, commits = store
    job_id = new_job(store)
    assert store.start_step(job_id, Step.PREPARING)
    ended_at = utcnow() + timedelta(milliseconds=5)
    before = len(commits)
    assert store.start_step(
        job_id, Step.WARMING_UP, ended=StepEnd(Step.PREPARING, "1 query", at=ended_at)
    )
    assert len(commits) - before == 1
    steps = steps_of(store, job_id)
    prepared, warming = steps["preparing"], steps["warming_up"]
    assert (prepared.status, prepared.completed_at) == ("completed", ended_at)
    assert prepared.duration_ms == int((ended_at - prepared.started_at).total_seconds() * 1000)
    assert warming.status == "running" and warming.started_at >= prepared.started_at
    assert store.get(job_id).phase == Phase.WARMING_UP.value
    kinds = [(e.kind, e.step, e.message) for e in store.events(job_id)][-3:]
    assert kinds == [
        ("step_started", "preparing", "preparing started"),
        ("step_completed", "preparing", "1 query"),
        ("step_started", "warming_up", "warming_up started"),
    ]
    completed = next(e for e in store.events(job_id) if e.kind == "step_completed")
    assert completed.at == ended_at


def test_a_skip_is_recorded_with_its_reason(store) -> None:
    store, _commits = store
    job_id = new_job(store)
    assert store.start_step(job_id, Step.STAGING_DB)
    skipped = StepEnd(Step.STAGING_DB, "warm copy reused", skipped=True)
    assert store.start_step(job_id, Step.SUBMITTING, ended=skipped)
    staging = steps_of(store, job_id)["staging_db"]
    assert (staging.status, staging.skip_reason) == ("skipped", "warm copy reused")
    assert [e.kind for e in store.events(job_id)][-2:] == ["step_skipped", "step_started"]


def test_a_cancel_refuses_the_start_and_keeps_the_end(store) -> None:
    store, _commits = store
    job_id = new_job(store)
    assert store.start_step(job_id, Step.PREPARING)
    assert store.request_cancel(job_id) is Phase.CANCELLING
    assert not store.start_step(job_id, Step.WARMING_UP, ended=StepEnd(Step.PREPARING, "done"))
    steps = steps_of(store, job_id)
    assert steps["preparing"].status == "completed"
    assert steps["warming_up"].status == "pending"
    assert store.get(job_id).phase == Phase.CANCELLING.value


def test_the_last_steps_end_is_written_with_the_jobs_completion(store) -> None:
    store, commits = store
    job_id = new_job(store)
    assert store.start_step(job_id, Step.EXPORTING_RESULTS)
    before = len(commits)
    ended = StepEnd(Step.EXPORTING_RESULTS, "3 hits (4 HSPs) indexed")
    assert store.finish_completed(job_id, 4, 3, ended)
    assert len(commits) - before == 1
    steps = steps_of(store, job_id)
    assert steps["exporting_results"].status == "completed"
    assert steps["exporting_results"].completed_at == ended.at
    assert store.get(job_id).phase == Phase.COMPLETED.value


# -- StepRecords: the quick steps' transitions written together --------------------------------


def test_quick_steps_are_written_with_the_submits_start_each_with_its_own_time(
    store, monkeypatch
) -> None:
    monkeypatch.setattr(step_records, "WRITE_AFTER_S", 60)  # no timer in this test
    store, commits = store
    job_id = new_job(store)
    records = StepRecords(store, job_id)
    before = len(commits)
    assert records.start(Step.PREPARING, None)
    prepared_at = utcnow()
    assert records.start(Step.WARMING_UP, StepEnd(Step.PREPARING, "1 query", at=prepared_at))
    assert records.start(Step.CONFIGURING, StepEnd(Step.WARMING_UP, "warm"))
    assert records.start(Step.STAGING_DB, StepEnd(Step.CONFIGURING, "1 batch", progress=(0, 1)))
    assert len(commits) == before  # nothing written yet
    skipped = StepEnd(Step.STAGING_DB, "warm copy reused", skipped=True)
    assert records.start(Step.SUBMITTING, skipped)
    assert len(commits) - before == 1
    steps = steps_of(store, job_id)
    assert [steps[k].status for k in ("preparing", "warming_up", "configuring")] == [
        "completed"
    ] * 3
    assert steps["staging_db"].status == "skipped" and steps["submitting"].status == "running"
    assert steps["preparing"].completed_at == prepared_at
    assert steps["preparing"].started_at <= prepared_at <= steps["warming_up"].started_at
    assert store.get(job_id).batches_total == 1
    kinds = [(e.kind, e.step) for e in store.events(job_id)][1:]
    assert kinds == [
        ("step_started", "preparing"),
        ("step_completed", "preparing"),
        ("step_started", "warming_up"),
        ("step_completed", "warming_up"),
        ("step_started", "configuring"),
        ("step_completed", "configuring"),
        ("step_started", "staging_db"),
        ("step_skipped", "staging_db"),
        ("step_started", "submitting"),
    ]


def test_a_deferred_submit_start_is_written_with_the_running_start(store, monkeypatch) -> None:
    """A submit that stays in this process (the local engine's) lets its start wait: with the
    quick steps before it and the running step's start, one commit, each with its own time."""
    monkeypatch.setattr(step_records, "WRITE_AFTER_S", 60)  # no timer in this test
    store, commits = store
    job_id = new_job(store)
    records = StepRecords(store, job_id)
    before = len(commits)
    assert records.start(Step.STAGING_DB, None)
    staged = StepEnd(Step.STAGING_DB, "warm copy reused", skipped=True)
    assert records.start(Step.SUBMITTING, staged, defer=True)
    submitted_at = utcnow()
    assert len(commits) == before  # nothing written yet
    handed = StepEnd(Step.SUBMITTING, "submitted", at=submitted_at, engine_handle="local:1:j")
    assert records.start(Step.RUNNING, handed)
    assert len(commits) - before == 1
    steps = steps_of(store, job_id)
    assert steps["submitting"].status == "completed" and steps["running"].status == "running"
    assert steps["submitting"].started_at <= submitted_at == steps["submitting"].completed_at
    assert store.engine_handle(job_id) == "local:1:j"


def test_a_slow_deferred_submit_shows_as_submitting_within_the_timer(store) -> None:
    store, _commits = store
    job_id = new_job(store)
    records = StepRecords(store, job_id)
    assert records.start(Step.SUBMITTING, None, defer=True)  # a submit blocked, say
    deadline = time.monotonic() + 5
    while steps_of(store, job_id)["submitting"].status != "running":
        assert time.monotonic() < deadline, "the timer never wrote the start"
        time.sleep(0.01)
    assert store.get(job_id).phase == Phase.SUBMITTING.value


def test_a_slow_quick_step_shows_as_running_within_the_timer(store) -> None:
    store, _commits = store
    job_id = new_job(store)
    records = StepRecords(store, job_id)
    assert records.start(Step.STAGING_DB, None)  # a big database copying, say
    deadline = time.monotonic() + 5
    while steps_of(store, job_id)["staging_db"].status != "running":
        assert time.monotonic() < deadline, "the timer never wrote the start"
        time.sleep(0.01)
    assert store.get(job_id).phase == Phase.STAGING_DB.value


def test_a_cancel_is_seen_when_the_waiting_starts_are_written(store) -> None:
    store, _commits = store
    job_id = new_job(store)
    records = StepRecords(store, job_id)
    assert records.start(Step.PREPARING, None)
    assert store.request_cancel(job_id) is Phase.CANCELLED  # nothing in flight: at once
    assert not records.start(Step.SUBMITTING, StepEnd(Step.PREPARING, "done"))
    assert not records.start(Step.RUNNING, None)  # refused for good
    assert store.get(job_id).phase == Phase.CANCELLED.value
    assert steps_of(store, job_id)["submitting"].status == "pending"


def test_a_failed_write_keeps_what_waits_for_the_next(store, monkeypatch) -> None:
    monkeypatch.setattr(step_records, "WRITE_AFTER_S", 60)  # no timer in this test
    store, _commits = store
    job_id = new_job(store)
    records = StepRecords(store, job_id)
    assert records.start(Step.PREPARING, None)
    real = store.record_transitions
    calls = iter([OperationalError("x", None, Exception("database is down")), None])

    def down_once(*args):
        failure = next(calls)
        if failure is not None:
            raise failure
        return real(*args)

    monkeypatch.setattr(store, "record_transitions", down_once)
    with pytest.raises(OperationalError):
        records.start(Step.SUBMITTING, StepEnd(Step.PREPARING, "done"))
    assert records.write()
    steps = steps_of(store, job_id)
    assert (steps["preparing"].status, steps["submitting"].status) == ("completed", "running")


def test_what_a_run_drops_is_never_written_by_the_timer(store, monkeypatch) -> None:
    """A run that ends without writing what waits (its lease lost to another process, say)
    takes it away: the timer then writes nothing."""
    monkeypatch.setattr(step_records, "WRITE_AFTER_S", 0.3)  # not before take(), surely
    store, commits = store
    job_id = new_job(store)
    records = StepRecords(store, job_id)
    assert records.start(Step.PREPARING, None)
    before = len(commits)
    assert [t.step for t in records.take()] == [Step.PREPARING]
    time.sleep(step_records.WRITE_AFTER_S * 3)
    assert len(commits) == before
    assert steps_of(store, job_id)["preparing"].status == "pending"


def test_a_timer_write_that_fails_is_tried_again(store, monkeypatch) -> None:
    """A deferred submit start whose timed write meets a database outage is written by a later
    try of the timer, not left until the submit ends (the job would show the step before)."""
    store, _commits = store
    job_id = new_job(store)
    records = StepRecords(store, job_id)
    real = store.record_transitions
    failures = [OperationalError("x", None, Exception("database is locked"))] * 2

    def down_twice(*args):
        if failures:
            raise failures.pop()
        return real(*args)

    monkeypatch.setattr(store, "record_transitions", down_twice)
    assert records.start(Step.SUBMITTING, None, defer=True)  # a submit blocked, say
    deadline = time.monotonic() + 5
    while steps_of(store, job_id)["submitting"].status != "running":
        assert time.monotonic() < deadline, "the failed timed write was never tried again"
        time.sleep(0.01)
    assert not failures and store.get(job_id).phase == Phase.SUBMITTING.value


def test_a_timer_write_that_keeps_failing_stops_trying(store, monkeypatch) -> None:
    """A database that stays down: the timer gives up after RETRY_WRITES tries (what waits is
    kept for the step's next transition), it does not retry for the life of the process."""
    monkeypatch.setattr(step_records, "WRITE_AFTER_S", 0.005)  # tries 0.01 s apart, doubling
    store, _commits = store
    job_id = new_job(store)
    records = StepRecords(store, job_id)
    calls: list[float] = []

    def down(*args):
        calls.append(time.monotonic())
        raise OperationalError("x", None, Exception("database is down"))

    monkeypatch.setattr(store, "record_transitions", down)
    assert records.start(Step.SUBMITTING, None, defer=True)
    deadline = time.monotonic() + 10
    while len(calls) < 1 + step_records.RETRY_WRITES:
        assert time.monotonic() < deadline, f"only {len(calls)} tries"
        time.sleep(0.01)
    time.sleep(1.0)  # past the next doubling: no further try
    assert len(calls) == 1 + step_records.RETRY_WRITES
    assert [t.step for t in records.take()] == [Step.SUBMITTING]  # kept, not lost
