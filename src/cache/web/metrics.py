"""A Prometheus endpoint for a :class:`CacheMiddleware` (extras ``web`` and ``prometheus``).

::

    routes.append(Route("/metrics", MetricsEndpoint(middleware, recorder=prometheus)))

At each scrape it reports the statistics' counts (hits, misses, stale serves,
sets, deletes, errors), the middleware's requests by content type and
outcome and its bypasses by reason, the in-memory engine's evictions and
size, and then the metrics of a :class:`PrometheusRecorder` (the latency
histograms) if one is given.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import Receive, Scope, Send

from cache.advanced.prometheus import PrometheusRecorder
from cache.advanced.statistics import CacheStatistics
from cache.backend import InMemoryCache
from cache.web.asgi import CacheMiddleware

__all__ = ["MetricsEndpoint"]


class _Collector:
    """Turns the statistics and middleware counters into metrics at scrape time."""

    def __init__(self, middleware: CacheMiddleware, stats: CacheStatistics | None) -> None:
        self.middleware = middleware
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        if self.stats is not None:
            stats = self.stats.get_stats()
            for name in ("hits", "misses", "sets", "deletes", "errors"):
                yield CounterMetricFamily(f"cache_{name}", f"Cache {name}.", value=stats[name])
            yield CounterMetricFamily(
                "cache_stale_serves", "Stale values served.", value=stats["stale_hits"]
            )
            yield GaugeMetricFamily("cache_hit_rate_percent", "Hit rate.", value=stats["hit_rate"])
        bypass = CounterMetricFamily(
            "cache_http_bypasses", "Requests not cached, by reason.", labels=["reason"]
        )
        for reason, count in sorted(self.middleware.bypasses.items()):
            bypass.add_metric([reason], count)
        yield bypass
        outcome = CounterMetricFamily(
            "cache_http_requests",
            "Requests by content type and outcome.",
            labels=["content_type", "outcome"],
        )
        for name, count in sorted(self.middleware.outcomes.items()):
            outcome.add_metric(name.rsplit(":", 1), count)
        yield outcome
        engine = self.middleware.cache
        engine = getattr(engine, "cache", engine)  # through an InstrumentedCache
        if isinstance(engine, InMemoryCache):
            yield CounterMetricFamily(
                "cache_evictions", "Entries evicted for room.", value=engine.evictions
            )
            yield GaugeMetricFamily("cache_entries", "Entries held.", value=len(engine))


class MetricsEndpoint:
    """An ASGI app answering every request with the metrics in Prometheus' text format."""

    def __init__(
        self,
        middleware: CacheMiddleware,
        *,
        stats: CacheStatistics | None = None,
        recorder: PrometheusRecorder | None = None,
    ) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_Collector(middleware, stats or middleware.statistics))
        self.recorder = recorder

    def render(self) -> bytes:
        """Return the metrics page."""
        body = generate_latest(self.registry)
        if self.recorder is not None:
            body += generate_latest(self.recorder.registry)
        return body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer with the current metrics."""
        body = self.render()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", CONTENT_TYPE_LATEST.encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
