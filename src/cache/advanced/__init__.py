"""The features: tags, invalidation, warming, policies, statistics, stale-while-revalidate.

Each talks to storage only through the backend protocol, so it works on every
engine, and keeps shared state (tag versions, the key registry, locks,
warming claims) in the backend, so that processes sharing it agree.
``PrometheusRecorder`` needs the ``prometheus`` extra and is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cache.advanced.coordination import AsyncSingleFlight, FillLock, SingleFlight
from cache.advanced.envelope import Envelope
from cache.advanced.instrumented import InstrumentedCache
from cache.advanced.invalidation import DEFAULT_MAX_KEYS, CacheInvalidator
from cache.advanced.policies import CachePolicy, ContentTypeCacheManager
from cache.advanced.statistics import (
    NULL_RECORDER,
    CacheStatistics,
    NullRecorder,
    Recorders,
    StatsRecorder,
)
from cache.advanced.swr import StaleWhileRevalidateCache
from cache.advanced.tags import CacheTag
from cache.advanced.warming import CacheWarmer, WarmingStatus

if TYPE_CHECKING:
    from cache.advanced.prometheus import PrometheusRecorder

__all__ = [
    "DEFAULT_MAX_KEYS",
    "NULL_RECORDER",
    "AsyncSingleFlight",
    "CacheInvalidator",
    "CachePolicy",
    "CacheStatistics",
    "CacheTag",
    "CacheWarmer",
    "ContentTypeCacheManager",
    "Envelope",
    "FillLock",
    "InstrumentedCache",
    "NullRecorder",
    "PrometheusRecorder",
    "Recorders",
    "SingleFlight",
    "StaleWhileRevalidateCache",
    "StatsRecorder",
    "WarmingStatus",
]


def __getattr__(name: str) -> Any:
    # The Prometheus recorder needs prometheus-client: imported when asked for.
    if name == "PrometheusRecorder":
        try:
            from cache.advanced.prometheus import PrometheusRecorder  # noqa: PLC0415
        except ImportError as exc:
            raise ImportError(
                "PrometheusRecorder needs prometheus-client: pip install 'cache[prometheus]'"
            ) from exc
        return PrometheusRecorder
    raise AttributeError(f"module 'cache.advanced' has no attribute {name!r}")
