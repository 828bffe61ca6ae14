"""A token bucket per submitter: bursts up to `capacity`, then `rate_per_s` on average.

Pure: the caller passes the clock, so tests need no sleeping.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, rate_per_minute: float, capacity: int) -> None:
        self._rate_per_s = rate_per_minute / 60.0
        self._capacity = float(capacity)
        self._buckets: dict[str, _Bucket] = {}
        self._mutex = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._rate_per_s > 0

    def take(self, key: str, now: float) -> float | None:
        """Spend one token of `key`'s bucket; None if there was one, else the seconds until
        there will be."""
        if not self.enabled:
            return None
        with self._mutex:
            bucket = self._buckets.get(key) or _Bucket(self._capacity, now)
            elapsed = max(0.0, now - bucket.at)
            bucket.tokens = min(self._capacity, bucket.tokens + elapsed * self._rate_per_s)
            bucket.at = now
            self._buckets[key] = bucket
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return (1.0 - bucket.tokens) / self._rate_per_s
