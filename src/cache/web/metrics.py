"""A Prometheus endpoint for a :class:`CacheMiddleware` (extras ``web`` and ``prometheus``).

::

    routes.append(Route("/metrics", MetricsEndpoint(middleware, recorder=prometheus)))

At each scrape it reports the statistics' counts (hits, misses, stale serves,
sets, deletes, errors), the middleware's requests by content type and
outcome and its bypasses by reason, the engine's figures (reachable, entries,
memory, evictions) and then the metrics of a :class:`PrometheusRecorder` (the
latency histograms) if one is given, each family once: where both name one
(``cache_errors``), the statistics' is kept.

Once the statistics are shared (``stats.share(cache, group)`` or
``stats.push``), the counts are the whole deployment's (every worker's, summed
in the backend), whichever worker answers the scrape; ``?worker=this`` gives
this worker's. The recorder's families are always this worker's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import Receive, Scope, Send

from cache.advanced.prometheus import PrometheusRecorder
from cache.advanced.statistics import CacheStatistics, summarize
from cache.web.asgi import CacheMiddleware
from cache.web.dashboard import engine_figures, track_middleware

__all__ = ["MetricsEndpoint"]

#: Engine figures as gauges: (metric, help, the ``info()`` names that give it).
_ENGINE = (
    ("cache_entries", "Entries held (Redis: keys of the database).", ("entries", "keys")),
    ("cache_memory_bytes", "Memory the engine uses.", ("used_memory",)),
    ("cache_evictions", "Entries evicted for room.", ("evictions", "evicted_keys")),
    ("cache_engine_errors", "Engine calls that failed or were skipped.", ("errors",)),
)


class _Collector:
    """Turns the statistics, the middleware's counters and the engine's figures into metrics."""

    def __init__(self, middleware: CacheMiddleware, stats: CacheStatistics | None) -> None:
        self.middleware = middleware
        self.stats = stats
        self.this_worker = False

    def _totals(self) -> dict[str, int]:
        if self.stats is None:
            counts = {f"http:{k}": v for k, v in self.middleware.outcomes.items()}
            return counts | {f"bypass:{k}": v for k, v in self.middleware.bypasses.items()}
        if self.stats.shared is not None and not self.this_worker:
            return CacheStatistics.shared_totals(*self.stats.shared)
        return self.stats.totals()

    def collect(self) -> Iterator[Metric]:
        totals = self._totals()
        if self.stats is not None:
            stats = summarize(totals)
            for name in ("hits", "misses", "sets", "deletes", "errors"):
                yield CounterMetricFamily(f"cache_{name}", f"Cache {name}.", value=stats[name])
            yield CounterMetricFamily(
                "cache_stale_serves", "Stale values served.", value=stats["stale_hits"]
            )
            yield GaugeMetricFamily("cache_hit_rate_percent", "Hit rate.", value=stats["hit_rate"])
        bypass = CounterMetricFamily(
            "cache_http_bypasses", "Requests not cached, by reason.", labels=["reason"]
        )
        outcome = CounterMetricFamily(
            "cache_http_requests",
            "Requests by content type and outcome.",
            labels=["content_type", "outcome"],
        )
        for name, count in sorted(totals.items()):
            if name.startswith("bypass:"):
                bypass.add_metric([name[7:]], count)
            elif name.startswith("http:"):
                outcome.add_metric(name[5:].rsplit(":", 1), count)
        yield bypass
        yield outcome
        yield from _engine_metrics(engine_figures(self.middleware.cache))


def _engine_metrics(info: dict[str, Any]) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "cache_engine_up", "1 if the engine answered, else 0.", value=info["state"] == "up"
    )
    for metric, text, names in _ENGINE:
        found = [info[n] for n in names if isinstance(info.get(n), int)]
        if found:
            yield GaugeMetricFamily(metric, text, value=found[0])


class _Joined:
    """The collector's families, then the recorder's whose names are not taken already."""

    def __init__(self, first: _Collector, then: PrometheusRecorder | None) -> None:
        self.first, self.then = first, then

    def collect(self) -> Iterable[Metric]:
        families = list(self.first.collect())
        taken = {family.name for family in families}
        if self.then is not None:
            families += [m for m in self.then.registry.collect() if m.name not in taken]
        return families


class MetricsEndpoint:
    """An ASGI app answering every request with the metrics in Prometheus' text format."""

    def __init__(
        self,
        middleware: CacheMiddleware,
        *,
        stats: CacheStatistics | None = None,
        recorder: PrometheusRecorder | None = None,
    ) -> None:
        stats = stats or middleware.statistics
        if stats is not None:
            track_middleware(stats, middleware)
        self.collector = _Collector(middleware, stats)
        self.recorder = recorder
        self.registry = CollectorRegistry()
        self.registry.register(_Joined(self.collector, recorder))

    def render(self, *, this_worker: bool = False) -> bytes:
        """Return the metrics page: the deployment's counts, or this worker's if asked."""
        self.collector.this_worker = this_worker
        try:
            return generate_latest(self.registry)
        finally:
            self.collector.this_worker = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer with the current metrics (``?worker=this``: this worker's counts)."""
        this = b"worker=this" in scope.get("query_string", b"").split(b"&")
        body = self.render(this_worker=this)
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
