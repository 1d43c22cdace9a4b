"""Prometheus metrics of the demo (extra ``prometheus``): read from the live counters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from cache.backend import InMemoryCache

if TYPE_CHECKING:
    from cache.web.demo.app import Demo

__all__ = ["render"]


class _Collector:
    """Turns the statistics and middleware counters into metrics at scrape time."""

    def __init__(self, demo: Demo) -> None:
        self.demo = demo

    def collect(self) -> Iterator[Metric]:
        stats = self.demo.stats.get_stats()
        for name in ("hits", "misses", "sets", "deletes", "errors"):
            yield CounterMetricFamily(f"cache_{name}", f"Cache {name}.", value=stats[name])
        yield CounterMetricFamily(
            "cache_stale_serves", "Stale values served.", value=stats["stale_hits"]
        )
        yield GaugeMetricFamily("cache_hit_rate_percent", "Hit rate.", value=stats["hit_rate"])
        for name, key in (("hit", "avg_hit_time_ms"), ("miss", "avg_miss_time_ms")):
            yield GaugeMetricFamily(
                f"cache_{name}_latency_ms_avg", f"Mean {name} latency.", value=stats[key]
            )
        middleware = self.demo.middleware
        if middleware is not None:
            bypass = CounterMetricFamily(
                "cache_http_bypasses", "Requests not cached, by reason.", labels=["reason"]
            )
            for reason, count in sorted(middleware.bypasses.items()):
                bypass.add_metric([reason], count)
            yield bypass
            outcome = CounterMetricFamily(
                "cache_http_requests",
                "Requests by content type and outcome.",
                labels=["content_type", "outcome"],
            )
            for name, count in sorted(middleware.outcomes.items()):
                outcome.add_metric(name.rsplit(":", 1), count)
            yield outcome
        engine = getattr(self.demo.cache, "cache", None)
        if isinstance(engine, InMemoryCache):
            yield CounterMetricFamily(
                "cache_evictions", "Entries evicted for room.", value=engine.evictions
            )
            yield GaugeMetricFamily("cache_entries", "Entries held.", value=len(engine))


def render(demo: Demo) -> tuple[bytes, str]:
    """Return the metrics page and its content type."""
    registry = CollectorRegistry()
    registry.register(_Collector(demo))
    body = generate_latest(registry) + generate_latest(demo.prometheus.registry)
    return body, CONTENT_TYPE_LATEST
