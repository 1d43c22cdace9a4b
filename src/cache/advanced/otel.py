"""OpenTelemetry (extra ``otel``): metrics through a recorder, spans through a backend wrapper.

Nothing here runs unless it is used: a recorder given to a manager (or to
:class:`~cache.advanced.InstrumentedCache`), a :class:`TracedCache` wrapped
around a backend. Both take their provider from the OpenTelemetry API
(the global one by default), so an app without an SDK configured pays only
the API's no-op calls.

Names: OpenTelemetry has no stable conventions for caches. Spans follow the
database client conventions (``db.system.name``, ``db.operation.name``,
``db.namespace``; semantic conventions 1.33 and later), as the Redis client
instrumentations do; ``cache.hit`` and the ``cache.*`` metrics are this
library's own.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from opentelemetry import metrics, trace

from cache._types import MISSING
from cache.backend.base import CacheBackend, Entry
from cache.backend.proxy import ProxyBackend

__all__ = ["OpenTelemetryRecorder", "TracedCache"]

_SCOPE = "cache"


class OpenTelemetryRecorder:
    """A recorder that reports to OpenTelemetry metrics.

    Counters ``cache.requests`` (attribute ``cache.result``: ``hit`` or
    ``miss``), ``cache.writes``, ``cache.deletes``, ``cache.stale_serves``,
    ``cache.errors``, and the histogram ``cache.request.duration`` (seconds,
    by ``cache.result``; untimed requests, recorded with 0, are left out).
    ``attributes`` are added to every point (e.g. ``{"cache.name": "pages"}``).
    """

    def __init__(
        self,
        meter_provider: metrics.MeterProvider | None = None,
        *,
        attributes: dict[str, str] | None = None,
    ) -> None:
        meter = metrics.get_meter(_SCOPE, meter_provider=meter_provider)
        self._requests = meter.create_counter("cache.requests", description="Cache lookups")
        self._writes = meter.create_counter("cache.writes", description="Values written")
        self._deletes = meter.create_counter("cache.deletes", description="Values removed")
        self._stale = meter.create_counter("cache.stale_serves", description="Stale values served")
        self._errors = meter.create_counter("cache.errors", description="Failed operations")
        self._duration = meter.create_histogram(
            "cache.request.duration", unit="s", description="Time of a lookup, generation included"
        )
        base = dict(attributes or {})
        self._hit = {**base, "cache.result": "hit"}
        self._miss = {**base, "cache.result": "miss"}
        self._base = base

    def record_hit(self, duration: float = 0.0) -> None:
        """Count a hit; time it if ``duration`` is given."""
        self._requests.add(1, self._hit)
        if duration > 0:
            self._duration.record(duration, self._hit)

    def record_miss(self, duration: float = 0.0) -> None:
        """Count a miss; time it if ``duration`` is given."""
        self._requests.add(1, self._miss)
        if duration > 0:
            self._duration.record(duration, self._miss)

    def record_set(self) -> None:
        """Count a write."""
        self._writes.add(1, self._base)

    def record_delete(self) -> None:
        """Count a removal."""
        self._deletes.add(1, self._base)

    def record_stale(self) -> None:
        """Count a stale value served."""
        self._stale.add(1, self._base)

    def record_error(self) -> None:
        """Count a failure."""
        self._errors.add(1, self._base)


#: The operations that get a span, each with its async twin ("a" + name).
TRACED = (
    "get",
    "set",
    "add",
    "delete",
    "incr",
    "get_many",
    "set_many",
    "delete_many",
    "get_entry",
    "set_entry",
    "touch",
    "clear",
)


def _hit(name: str, result: Any, default: Any) -> bool | None:
    """Return whether a read found its value; None for a write."""
    if name == "get":
        return result is not default and result is not MISSING
    if name == "get_entry":
        return isinstance(result, Entry) and result.value is not MISSING
    if name == "get_many":
        return bool(result)
    return None


class TracedCache(ProxyBackend):
    """Wrap a backend so that each key-value operation is a client span.

    Span names are ``"<operation> cache"``-style (``get``, ``set``, ...,
    async ones by their sync name), with ``db.system.name`` (``redis`` or
    ``memory``), ``db.operation.name``, ``db.namespace`` (a Redis
    namespace, if any) and, for reads, ``cache.hit``. A failing operation's
    span records the exception and an error status; the exception goes on.
    Index and lease operations (bookkeeping of features) are not traced.
    """

    def __init__(
        self, cache: CacheBackend, tracer_provider: trace.TracerProvider | None = None
    ) -> None:
        super().__init__(cache)
        self._tracer = trace.get_tracer(_SCOPE, tracer_provider=tracer_provider)
        on_redis = type(cache).__name__ in ("RedisCache", "NearCache")  # no redis import here
        system = "redis" if on_redis else "memory"
        self._attributes = {"db.system.name": system}
        namespace = getattr(cache, "namespace", "")
        if namespace:
            self._attributes["db.namespace"] = str(namespace)
        #: Each operation's span attributes, built once: a traced call builds no dict.
        self._by_name = {n: {**self._attributes, "db.operation.name": n} for n in TRACED}

    def _span(self, name: str) -> Any:
        return self._tracer.start_as_current_span(
            name, kind=trace.SpanKind.CLIENT, attributes=self._by_name[name]
        )


def _traced(name: str, is_async: bool) -> Callable[..., Any]:
    target = ("a" if is_async else "") + name
    signature = inspect.signature(getattr(CacheBackend, target))
    default_of = signature.parameters.get("default")
    fallback = None if default_of is None else default_of.default

    def default(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return kwargs.get("default", args[1] if len(args) > 1 else fallback)

    if is_async:

        async def call_async(self: TracedCache, *args: Any, **kwargs: Any) -> Any:
            with self._span(name) as span:
                result = await getattr(self.cache, target)(*args, **kwargs)
                hit = _hit(name, result, default(args, kwargs))
                if hit is not None:
                    span.set_attribute("cache.hit", hit)
                return result

        return functools.wraps(getattr(CacheBackend, target))(call_async)

    def call(self: TracedCache, *args: Any, **kwargs: Any) -> Any:
        with self._span(name) as span:
            result = getattr(self.cache, target)(*args, **kwargs)
            hit = _hit(name, result, default(args, kwargs))
            if hit is not None:
                span.set_attribute("cache.hit", hit)
            return result

    return functools.wraps(getattr(CacheBackend, target))(call)


for _name in TRACED:
    setattr(TracedCache, _name, _traced(_name, is_async=False))
    setattr(TracedCache, "a" + _name, _traced(_name, is_async=True))
