"""The Redis submit lock against a real Redis: key, TTL, tokens, expiry, latency sanity."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from blastdeck.locks import RedisSubmitLock, new_lock_token, submit_lock_key
from tests.conftest import REDIS_URL


@pytest.fixture
def prefix() -> Iterator[str]:
    tag = f"test:{uuid.uuid4().hex[:8]}:elb:blast:elastic-blast-submit"
    yield tag
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{tag}:*"):
        client.delete(key)


@pytest.fixture
def lock() -> RedisSubmitLock:
    return RedisSubmitLock.from_url(REDIS_URL)


def test_key_is_set_with_the_token_and_the_ttl(lock: RedisSubmitLock, prefix: str) -> None:
    key = submit_lock_key(" aks-east ", "", prefix)
    assert key == f"{prefix}:aks-east:default"
    token = new_lock_token("job-1")
    assert lock.acquire(key, token, ttl_s=900)
    raw = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    assert raw.get(key) == token
    assert 899_000 < raw.pttl(key) <= 900_000
    holder = lock.holder(key)
    assert holder.token == token and holder.job_id == "job-1"


def test_busy_lock_refuses_a_second_holder(lock: RedisSubmitLock, prefix: str) -> None:
    key = submit_lock_key("c", "n", prefix)
    assert lock.acquire(key, new_lock_token("a"), 900)
    assert not lock.acquire(key, new_lock_token("b"), 900)
    assert lock.acquire(submit_lock_key("c", "other", prefix), new_lock_token("b"), 900)
    assert lock.acquire(submit_lock_key("c2", "n", prefix), new_lock_token("b"), 900)


def test_a_foreign_token_cannot_release(lock: RedisSubmitLock, prefix: str) -> None:
    key = submit_lock_key("c", "n", prefix)
    mine = new_lock_token("a")
    assert lock.acquire(key, mine, 900)
    assert not lock.release(key, new_lock_token("a"))  # same job, other acquisition
    assert not lock.release(key, "intruder:123")
    assert lock.holder(key).token == mine
    assert lock.release(key, mine)
    assert lock.holder(key) is None
    assert not lock.release(key, mine)  # releasing twice is harmless


def test_after_expiry_the_next_holder_gets_in_and_the_old_token_is_void(
    lock: RedisSubmitLock, prefix: str
) -> None:
    key = submit_lock_key("c", "n", prefix)
    dead = new_lock_token("dead-worker-job")
    assert lock.acquire(key, dead, ttl_s=1)
    time.sleep(1.1)
    nxt = new_lock_token("next-job")
    assert lock.acquire(key, nxt, ttl_s=900)
    assert not lock.release(key, dead)  # the dead holder's late release does nothing
    assert lock.holder(key).token == nxt


def test_only_one_of_many_racing_acquirers_wins(lock: RedisSubmitLock, prefix: str) -> None:
    key = submit_lock_key("c", "n", prefix)
    barrier = threading.Barrier(16)
    wins: list[str] = []

    def contend(i: int) -> None:
        token = new_lock_token(f"job-{i}")
        barrier.wait()
        if RedisSubmitLock.from_url(REDIS_URL).acquire(key, token, 900):
            wins.append(token)

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and lock.holder(key).token == wins[0]
