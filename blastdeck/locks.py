"""The per-(cluster, namespace) submit lock.

Submits to one (cluster, namespace) serialize, because that is the constraint the submit step
really has; submits to different ones run in parallel. The key is computed once per submit
attempt and reused for acquire and release. The value is a token unique to the acquisition, so
a holder whose lock expired can never release the next holder's lock.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Protocol

import redis

from blastdeck.domain.names import DEFAULT_NAMESPACE, UNKNOWN_CLUSTER
from blastdeck.redis_keys import SUBMIT_LOCK_PREFIX as BLAST_SUBMIT_LOCK_KEY_PREFIX


def submit_lock_key(
    cluster_name: str | None,
    namespace: str | None,
    prefix: str = BLAST_SUBMIT_LOCK_KEY_PREFIX,
) -> str:
    cluster = (cluster_name or UNKNOWN_CLUSTER).strip() or UNKNOWN_CLUSTER
    ns = (namespace or DEFAULT_NAMESPACE).strip() or DEFAULT_NAMESPACE
    return f"{prefix}:{cluster}:{ns}"


def new_lock_token(job_id: str) -> str:
    """Unique per acquisition; starts with the job id so 'who holds the slot' can be shown."""
    return f"{job_id}:{uuid.uuid4().hex}"


def holder_job_id(token: str | None) -> str | None:
    return token.split(":", 1)[0] if token else None


@dataclass(frozen=True)
class LockHolder:
    key: str
    token: str
    ttl_ms: int | None

    @property
    def job_id(self) -> str | None:
        return holder_job_id(self.token)


class SubmitLock(Protocol):
    def acquire(self, key: str, token: str, ttl_s: int) -> bool:
        """Take the lock if free (SET NX with a TTL); True when we now hold it."""

    def release(self, key: str, token: str) -> bool:
        """Delete the lock only if it still holds our token; True when we deleted it."""

    def holder(self, key: str) -> LockHolder | None:
        """Who holds the lock now, if anyone."""


class InProcessSubmitLock:
    """The embedded-mode lock: same contract as the Redis one, within one process."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held: dict[str, tuple[str, float]] = {}

    def _live(self, key: str, now: float) -> tuple[str, float] | None:
        entry = self._held.get(key)
        if entry and entry[1] <= now:
            del self._held[key]
            return None
        return entry

    def acquire(self, key: str, token: str, ttl_s: int) -> bool:
        now = time.monotonic()
        with self._mutex:
            if self._live(key, now):
                return False
            self._held[key] = (token, now + ttl_s)
            return True

    def release(self, key: str, token: str) -> bool:
        with self._mutex:
            entry = self._live(key, time.monotonic())
            if entry and entry[0] == token:
                del self._held[key]
                return True
            return False

    def holder(self, key: str) -> LockHolder | None:
        now = time.monotonic()
        with self._mutex:
            entry = self._live(key, now)
        if not entry:
            return None
        return LockHolder(key=key, token=entry[0], ttl_ms=int((entry[1] - now) * 1000))


# Delete the key only if it still holds our token: atomic in Redis, so a holder whose lock
# expired can never delete the lock the next holder took.
_COMPARE_AND_DELETE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class RedisSubmitLock:
    """The distributed-mode lock: SET NX with a TTL, compare-and-delete release."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._compare_and_delete = client.register_script(_COMPARE_AND_DELETE)

    @classmethod
    def from_url(cls, url: str, socket_timeout_s: float = 5.0) -> RedisSubmitLock:
        client = redis.Redis.from_url(
            url,
            socket_timeout=socket_timeout_s,
            socket_connect_timeout=socket_timeout_s,
            decode_responses=True,
        )
        return cls(client)

    def acquire(self, key: str, token: str, ttl_s: int) -> bool:
        return bool(self._redis.set(key, token, nx=True, ex=ttl_s))

    def release(self, key: str, token: str) -> bool:
        return self._compare_and_delete(keys=[key], args=[token]) == 1

    def holder(self, key: str) -> LockHolder | None:
        pipe = self._redis.pipeline()
        pipe.get(key)
        pipe.pttl(key)
        token, ttl_ms = pipe.execute()
        if token is None:
            return None
        return LockHolder(key=key, token=token, ttl_ms=ttl_ms if ttl_ms >= 0 else None)
