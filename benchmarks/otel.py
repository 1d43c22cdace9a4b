"""What OpenTelemetry costs per cache operation: off, API only (no SDK), SDK on.

    python -m benchmarks.otel

Get-hits on an ``InMemoryCache`` (the cheapest operation, where any overhead
shows most), best of 7 runs of 20,000: the engine alone; wrapped in
``TracedCache`` with no SDK configured (the API's no-op tracer); with an SDK
tracer that samples every span into a no-op processor; and counted by an
``OpenTelemetryRecorder`` through ``InstrumentedCache`` with an SDK meter.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NoOpTracerProvider

from cache.advanced import InstrumentedCache
from cache.advanced.otel import OpenTelemetryRecorder, TracedCache
from cache.backend import CacheBackend, InMemoryCache


def _best(get: Callable[[str], object], repeat: int = 7, number: int = 20_000) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            get("k")
        best = min(best, (time.perf_counter() - started) / number)
    return best * 1e9


def report() -> str:
    """Return the table of nanoseconds per get-hit and the ratio to the engine alone."""
    engine = InMemoryCache()
    engine.set("k", "v")
    setups: dict[str, CacheBackend] = {
        "InMemoryCache alone": engine,
        "TracedCache, no SDK (no-op API)": TracedCache(engine, NoOpTracerProvider()),
        "TracedCache, SDK sampling every span": TracedCache(engine, TracerProvider()),
        "InstrumentedCache + OpenTelemetryRecorder (SDK meter)": InstrumentedCache(
            engine,
            OpenTelemetryRecorder(MeterProvider(metric_readers=[InMemoryMetricReader()])),
        ),
    }
    base = _best(engine.get)
    lines = [
        "### OpenTelemetry: ns per get-hit (best of 7 x 20,000)",
        "",
        "| setup | ns | vs engine alone |",
        "|---|---:|---:|",
    ]
    for name, cache in setups.items():
        ns = base if cache is engine else _best(cache.get)
        lines.append(f"| {name} | {ns:,.0f} | {ns / base:.1f}x |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
