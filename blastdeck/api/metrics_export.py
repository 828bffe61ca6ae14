"""`GET /metrics` in Prometheus' text format: what this API process measures itself (HTTP
latency by route), what the database says now (jobs by phase, queue depth per submit slot),
and what the processes running jobs observed (`metrics.py`: step durations, submit-lock waits,
BLAST CPU seconds; in distributed mode read from Redis, where every worker adds them).

Each app has its own `CollectorRegistry`, so two apps in one process (tests) never share one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from blastdeck import metrics
from blastdeck.metrics import Observations

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
UNMATCHED_ROUTE = "unmatched"  # a path no route serves: never the raw path (unbounded labels)


class JobsCollector(Collector):
    """Jobs by phase and queue depth (the database's numbers now), and the jobs' observations."""

    def __init__(
        self,
        by_phase: Callable[[], Mapping[str, int]],
        cluster_load: Callable[[], Mapping[tuple[str, str], int]],
        observations: Observations | None,
    ) -> None:
        self._by_phase = by_phase
        self._cluster_load = cluster_load
        self._observations = observations

    def collect(self) -> Iterator[Metric]:
        phases = GaugeMetricFamily("blastdeck_jobs", "Jobs in each phase now.", labels=["phase"])
        for phase, count in self._by_phase().items():
            phases.add_metric([phase], count)
        yield phases
        depth = GaugeMetricFamily(
            "blastdeck_queue_depth",
            "Unfinished jobs per cluster and namespace (those the submit slot serves).",
            labels=["cluster", "namespace"],
        )
        for (cluster, namespace), count in sorted(self._cluster_load().items()):
            depth.add_metric([cluster, namespace], count)
        yield depth
        if self._observations is None:
            return
        for metric in metrics.METRICS:
            if isinstance(metric, metrics.Histogram):
                yield self._histogram(metric, self._observations)
            else:
                yield self._counter(metric, self._observations)

    @staticmethod
    def _histogram(metric: metrics.Histogram, source: Observations) -> Metric:
        family = HistogramMetricFamily(metric.name, metric.help, labels=list(metric.labels))
        for labels, data in sorted(source.histograms(metric).items()):
            cumulative, buckets = 0.0, []
            for bound, count in zip((*metric.buckets, float("inf")), data.buckets, strict=True):
                cumulative += count
                le = "+Inf" if bound == float("inf") else repr(float(bound))
                buckets.append((le, cumulative))
            family.add_metric(list(labels), buckets, data.sum)
        return family

    @staticmethod
    def _counter(metric: metrics.Counter, source: Observations) -> Metric:
        family = CounterMetricFamily(metric.name, metric.help, labels=list(metric.labels))
        for labels, value in sorted(source.counters(metric).items()):
            family.add_metric(list(labels), value)
        return family


class HttpMetrics:
    """Plain ASGI middleware: each request's time until its response starts (its headers are
    sent: a stream or a download counts its wait, not how long it is read), by method, route
    template and status class."""

    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        observed = False

        def observe(status: int) -> None:
            nonlocal observed
            if observed:
                return
            observed = True
            route = getattr(scope.get("route"), "path", None) or UNMATCHED_ROUTE
            self.histogram.labels(scope["method"], route, f"{status // 100}xx").observe(
                time.perf_counter() - started
            )

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                observe(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            observe(500)  # no response started: the server failed it


def make_registry(collector: JobsCollector) -> tuple[CollectorRegistry, Histogram]:
    registry = CollectorRegistry()
    registry.register(collector)
    http = Histogram(
        "blastdeck_http_request_duration_seconds",
        "Time until the response starts, by method, route template and status class.",
        ["method", "route", "status"],
        buckets=_HTTP_BUCKETS,
        registry=registry,
    )
    return registry, http


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
