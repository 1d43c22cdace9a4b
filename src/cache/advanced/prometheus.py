"""A Prometheus recorder (extra ``prometheus``): counters and latency histograms.

Pass it wherever a ``stats=`` recorder is taken, alone or beside a
``CacheStatistics`` through :class:`Recorders`. A hit or miss recorded
without a duration (0) is counted but not observed in the latency histogram,
so that untimed records do not pull its quantiles to zero.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from cache._recorder import Recorders

__all__ = ["PrometheusRecorder", "Recorders"]

#: Seconds: from a memory hit (µs) to a slow regeneration (s).
BUCKETS = (0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0)


class PrometheusRecorder:
    """Record into Prometheus metrics named ``<namespace>_...`` in ``registry``."""

    def __init__(self, registry: CollectorRegistry | None = None, namespace: str = "cache") -> None:
        self.registry = registry or CollectorRegistry()
        r, n = self.registry, namespace
        self.requests = Counter(f"{n}_requests", "Cache reads by result.", ["result"], registry=r)
        self.writes = Counter(f"{n}_writes", "Cache writes by kind.", ["kind"], registry=r)
        self.errors = Counter(f"{n}_errors", "Failures: generators, backend calls.", registry=r)
        self.latency = Histogram(
            f"{n}_latency_seconds",
            "Time to answer a read, by result.",
            ["result"],
            buckets=BUCKETS,
            registry=r,
        )

    def record_hit(self, duration: float = 0.0) -> None:
        """Count a hit and observe its latency (none when not timed: 0)."""
        self.requests.labels("hit").inc()
        if duration > 0:
            self.latency.labels("hit").observe(duration)

    def record_miss(self, duration: float = 0.0) -> None:
        """Count a miss and observe its latency (none when not timed: 0)."""
        self.requests.labels("miss").inc()
        if duration > 0:
            self.latency.labels("miss").observe(duration)

    def record_stale(self) -> None:
        """Count a stale serve."""
        self.requests.labels("stale").inc()

    def record_set(self) -> None:
        """Count a write."""
        self.writes.labels("set").inc()

    def record_delete(self) -> None:
        """Count a removal."""
        self.writes.labels("delete").inc()

    def record_error(self) -> None:
        """Count a failure."""
        self.errors.inc()
