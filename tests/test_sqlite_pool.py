"""SQLite sessions share pooled connections, and a pooled connection never reads an old snapshot:
what another process (the CLI, a worker) writes is seen by every later session."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import event, select, update

from blastdeck.domain.pipeline_model import Step
from blastdeck.store.database import SQLITE_POOL_SIZE, make_engine, make_session_factory, migrate
from blastdeck.store.jobs import JobStore
from blastdeck.store.models import Job
from blastdeck.store.new_job import NewJob

CREATE_IN_ANOTHER_PROCESS = """
import sys
from blastdeck.store.database import make_engine, make_session_factory
from blastdeck.store.jobs import JobStore
from blastdeck.store.new_job import NewJob
store = JobStore(make_session_factory(make_engine(sys.argv[1])))
new = NewJob("other", "blastn", "db", "local", "default", {}, ">q\\nACGT\\n", 1, 4)
print(store.create(new).id)
"""


def new_job(store: JobStore, title: str = "t") -> str:
    return store.create(NewJob(title, "blastn", "db", "local", "default", {}, ">q\nA\n", 1, 1)).id


@pytest.fixture
def pooled(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'blastdeck.sqlite3'}"
    engine = make_engine(url)
    migrate(engine)
    opened: list[object] = []
    event.listen(engine, "connect", lambda connection, _record: opened.append(connection))
    try:
        yield url, engine, JobStore(make_session_factory(engine)), opened
    finally:
        engine.dispose()


def test_sessions_reuse_pooled_connections(pooled) -> None:
    _url, _engine, store, opened = pooled
    job_id = new_job(store)
    for _ in range(50):
        assert store.get(job_id) is not None
        store.set_progress(job_id, 0, 1)
    assert len(opened) <= 1  # one thread: one connection, taken again by every session

    def work() -> None:
        for _ in range(20):
            store.get(job_id)
            store.set_progress(job_id, 0, 1)

    threads = [threading.Thread(target=work) for _ in range(SQLITE_POOL_SIZE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(opened) <= SQLITE_POOL_SIZE + 1


def test_every_pooled_connection_reads_what_another_process_wrote(pooled) -> None:
    url, engine, store, _opened = pooled
    job_id = new_job(store)

    def use_the_pool() -> None:  # reads, writes, and a write rolled back, from several threads
        for _ in range(10):
            store.get(job_id)
            store.start_step(job_id, Step.PREPARING)
            with pytest.raises(RuntimeError), store._sessions.begin() as s:
                s.execute(update(Job).where(Job.id == job_id).values(title="never"))
                raise RuntimeError("rolled back")

    threads = [threading.Thread(target=use_the_pool) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert engine.pool.checkedin() >= 2  # idle pooled connections, each used before
    for round_ in range(3):
        made = subprocess.run(
            [sys.executable, "-c", CREATE_IN_ANOTHER_PROCESS, url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        # Every idle connection, held at once so each is asked, sees the new job.
        held = [engine.connect() for _ in range(engine.pool.checkedin())]
        try:
            for connection in held:
                assert connection.scalar(select(Job.id).where(Job.id == made)) == made, round_
        finally:
            for connection in held:
                connection.close()
        assert store.list()[1] == 2 + round_
    assert store.get(job_id).title == "t"
