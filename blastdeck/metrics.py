"""What the processes that run jobs observe for `GET /metrics`: step durations, submit-lock
waits and BLAST CPU seconds, labelled by cluster and namespace; and what the processes that
send notifications observe: deliveries by type and outcome.

One contract, two implementations, as for the submit lock (`locks.py`): embedded, the server
runs every job itself and keeps its observations in memory; distributed, the Celery workers
run them, so each observation is added to Redis hashes (one per metric, a field per label set
and bucket) that every API process reads when scraped. Counts only ever grow (a histogram
bucket, a sum, a counter), so an addition is one HINCRBYFLOAT and no two processes ever
overwrite each other.

Histogram buckets are stored per bucket (not cumulative) and made cumulative when read, so an
observation touches one bucket, the sum and the count.
"""

from __future__ import annotations

import bisect
import json
import logging
import threading
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from blastdeck.redis_keys import metrics_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Histogram:
    name: str
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...]  # upper bounds, ascending; +Inf is implied


@dataclass(frozen=True)
class Counter:
    name: str
    help: str
    labels: tuple[str, ...]


_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 14400)
STEP_DURATION = Histogram(
    "blastdeck_step_duration_seconds",
    "How long each pipeline step took, as recorded on the job (completed and skipped steps).",
    ("step", "cluster", "namespace"),
    _SECONDS,
)
SUBMIT_LOCK_WAIT = Histogram(
    "blastdeck_submit_lock_wait_seconds",
    "How long a job waited for its (cluster, namespace) submit slot before it held it.",
    ("cluster", "namespace"),
    (0, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)
BLAST_CPU = Counter(
    "blastdeck_blast_cpu_seconds",
    "CPU seconds (user + system) of the BLAST processes of finished batches.",
    ("cluster", "namespace", "program"),
)
NOTIFICATION_DELIVERIES = Counter(
    "blastdeck_notification_deliveries",
    "Tries to send a notification: delivered, retried (failed, tried again later) or failed "
    "(for good).",
    ("type", "outcome"),
)
METRICS: tuple[Histogram | Counter, ...] = (
    STEP_DURATION,
    SUBMIT_LOCK_WAIT,
    BLAST_CPU,
    NOTIFICATION_DELIVERIES,
)

LabelValues = tuple[str, ...]


@dataclass
class HistogramData:
    buckets: list[float]  # per bucket (not cumulative), one more than the bounds: +Inf last
    sum: float = 0.0

    @property
    def count(self) -> float:
        return sum(self.buckets)


class Observations(Protocol):
    def observe(self, metric: Histogram, labels: Mapping[str, str], value: float) -> None: ...

    def add(self, metric: Counter, labels: Mapping[str, str], amount: float) -> None: ...

    def histograms(self, metric: Histogram) -> dict[LabelValues, HistogramData]: ...

    def counters(self, metric: Counter) -> dict[LabelValues, float]: ...


def _label_values(metric: Histogram | Counter, labels: Mapping[str, str]) -> LabelValues:
    return tuple(str(labels.get(name, "")) for name in metric.labels)


def _bucket_of(metric: Histogram, value: float) -> int:
    return bisect.bisect_left(metric.buckets, value)  # the first bound >= value; +Inf past all


class MemoryObservations:
    """This process's observations (embedded: the server runs every job)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._histograms: dict[str, dict[LabelValues, HistogramData]] = defaultdict(dict)
        self._counters: dict[str, dict[LabelValues, float]] = defaultdict(dict)

    def observe(self, metric: Histogram, labels: Mapping[str, str], value: float) -> None:
        key = _label_values(metric, labels)
        with self._mutex:
            data = self._histograms[metric.name].get(key)
            if data is None:
                data = self._histograms[metric.name][key] = HistogramData(
                    [0.0] * (len(metric.buckets) + 1)
                )
            data.buckets[_bucket_of(metric, value)] += 1
            data.sum += value

    def add(self, metric: Counter, labels: Mapping[str, str], amount: float) -> None:
        key = _label_values(metric, labels)
        with self._mutex:
            self._counters[metric.name][key] = self._counters[metric.name].get(key, 0.0) + amount

    def histograms(self, metric: Histogram) -> dict[LabelValues, HistogramData]:
        with self._mutex:
            return {
                k: HistogramData(list(v.buckets), v.sum)
                for k, v in self._histograms[metric.name].items()
            }

    def counters(self, metric: Counter) -> dict[LabelValues, float]:
        with self._mutex:
            return dict(self._counters[metric.name])


class RedisObservations:
    """Observations shared by every process of a distributed deployment: one Redis hash per
    metric; a field is the JSON label values with a suffix (`|b<i>` a bucket, `|sum`, `|n` a
    counter). A Redis outage loses observations (logged), never a job."""

    def __init__(self, client, prefix: str) -> None:  # type: ignore[no-untyped-def]
        self._redis = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, socket_timeout_s: float, prefix: str) -> RedisObservations:
        import redis

        return cls(redis.Redis.from_url(url, socket_timeout=socket_timeout_s), prefix)

    def _key(self, metric: Histogram | Counter) -> str:
        return metrics_key(self._prefix, metric.name)

    def observe(self, metric: Histogram, labels: Mapping[str, str], value: float) -> None:
        field = json.dumps(_label_values(metric, labels))
        try:
            pipe = self._redis.pipeline(transaction=False)
            pipe.hincrbyfloat(self._key(metric), f"{field}|b{_bucket_of(metric, value)}", 1)
            pipe.hincrbyfloat(self._key(metric), f"{field}|sum", value)
            pipe.execute()
        except Exception:
            log.warning("could not record %s in Redis", metric.name, exc_info=True)

    def add(self, metric: Counter, labels: Mapping[str, str], amount: float) -> None:
        field = json.dumps(_label_values(metric, labels))
        try:
            self._redis.hincrbyfloat(self._key(metric), f"{field}|n", amount)
        except Exception:
            log.warning("could not record %s in Redis", metric.name, exc_info=True)

    def _fields(self, metric: Histogram | Counter) -> dict[tuple[LabelValues, str], float]:
        raw = self._redis.hgetall(self._key(metric))
        out = {}
        for field, value in raw.items():
            labels, _, part = field.decode().rpartition("|")
            out[tuple(json.loads(labels)), part] = float(value)
        return out

    def histograms(self, metric: Histogram) -> dict[LabelValues, HistogramData]:
        result: dict[LabelValues, HistogramData] = {}
        for (labels, part), value in self._fields(metric).items():
            data = result.setdefault(labels, HistogramData([0.0] * (len(metric.buckets) + 1)))
            if part == "sum":
                data.sum = value
            elif part.startswith("b") and part[1:].isdigit() and int(part[1:]) < len(data.buckets):
                data.buckets[int(part[1:])] = value
        return result

    def counters(self, metric: Counter) -> dict[LabelValues, float]:
        return {labels: value for (labels, part), value in self._fields(metric).items()}


def make_observations(redis_url: str | None, socket_timeout_s: float, prefix: str) -> Observations:
    if redis_url:
        return RedisObservations.from_url(redis_url, socket_timeout_s, prefix)
    return MemoryObservations()
