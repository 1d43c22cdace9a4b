"""OpenTelemetry: the recorder's metrics and TracedCache's spans, read back through the SDK."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from cache.advanced import CachePolicy, ContentTypeCacheManager, InstrumentedCache
from cache.advanced.otel import OpenTelemetryRecorder, TracedCache
from cache.backend import CacheBackend, InMemoryCache
from cache.errors import CacheTypeError


def _points(reader: InMemoryMetricReader) -> dict[tuple[str, tuple[Any, ...]], Any]:
    """Return ``{(metric, attributes): value or histogram count}`` of what was exported."""
    found: dict[tuple[str, tuple[Any, ...]], Any] = {}
    data = reader.get_metrics_data()
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    attrs = tuple(sorted(point.attributes.items()))
                    found[metric.name, attrs] = getattr(point, "value", None) or point.count
    return found


def test_the_recorder_reports_lookups_writes_and_times(backend: CacheBackend) -> None:
    reader = InMemoryMetricReader()
    recorder = OpenTelemetryRecorder(
        MeterProvider(metric_readers=[reader]), attributes={"cache.name": "pages"}
    )
    cache = InstrumentedCache(backend, recorder)
    cache.set("a", 1)
    cache.get("a")
    cache.get("a")
    cache.get("missing")
    cache.delete("a")
    points = _points(reader)
    hit = (("cache.name", "pages"), ("cache.result", "hit"))
    miss = (("cache.name", "pages"), ("cache.result", "miss"))
    assert points["cache.requests", hit] == 2 and points["cache.requests", miss] == 1
    assert points["cache.writes", (("cache.name", "pages"),)] == 1
    assert points["cache.deletes", (("cache.name", "pages"),)] == 1
    assert points["cache.request.duration", hit] == 2  # two timed hits


def test_the_recorder_serves_a_manager_too() -> None:
    reader = InMemoryMetricReader()
    manager = ContentTypeCacheManager(
        InMemoryCache(), stats=OpenTelemetryRecorder(MeterProvider(metric_readers=[reader]))
    )
    manager.register_policy("page", CachePolicy(timeout=60))
    manager.cache_content("page", "home", {"t": 1})
    manager.get_cached_content("page", "home")
    manager.get_cached_content("page", "other")
    points = _points(reader)
    assert points["cache.requests", (("cache.result", "hit"),)] == 1
    assert points["cache.requests", (("cache.result", "miss"),)] == 1


@pytest.fixture
def spans() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


async def test_each_operation_is_a_client_span_with_db_attributes(
    backend: CacheBackend, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    cache = TracedCache(backend, provider)
    cache.set("k", "v")
    assert cache.get("k") == "v"
    assert cache.get("nope", "fallback") == "fallback"
    await cache.aset("j", 1)
    assert await cache.aget("j") == 1
    cache.index_add("idx", {"x": 1.0})  # bookkeeping: no span
    finished = exporter.get_finished_spans()
    assert [s.name for s in finished] == ["set", "get", "get", "set", "get"]
    system = "memory" if isinstance(backend, InMemoryCache) else "redis"
    for span in finished:
        assert span.attributes is not None
        assert span.attributes["db.system.name"] == system
        assert span.attributes["db.operation.name"] == span.name
    hits = [s.attributes.get("cache.hit") for s in finished if s.name == "get"]  # type: ignore[union-attr]
    assert hits == [True, False, True]


def test_a_failing_operation_marks_its_span_and_still_raises(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    cache = TracedCache(InMemoryCache(), provider)
    with pytest.raises(CacheTypeError):
        cache.incr("n", "one")  # type: ignore[arg-type]
    (span,) = exporter.get_finished_spans()
    assert span.name == "incr" and span.status.status_code is StatusCode.ERROR
    assert span.events and span.events[0].name == "exception"
