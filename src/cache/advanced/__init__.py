"""The features: tags, invalidation, warming, policies, statistics, stale-while-revalidate.

Each talks to storage only through the backend protocol, so it works on every
engine, and keeps shared state (tag versions, the key registry, locks,
warming claims) in the backend, so that processes sharing it agree.
"""

from cache.advanced.instrumented import InstrumentedCache
from cache.advanced.invalidation import DEFAULT_MAX_KEYS, CacheInvalidator
from cache.advanced.policies import CachePolicy, ContentTypeCacheManager
from cache.advanced.statistics import NULL_RECORDER, CacheStatistics, NullRecorder, StatsRecorder
from cache.advanced.swr import StaleWhileRevalidateCache
from cache.advanced.tags import CacheTag
from cache.advanced.warming import CacheWarmer, WarmingStatus

__all__ = [
    "DEFAULT_MAX_KEYS",
    "NULL_RECORDER",
    "CacheInvalidator",
    "CachePolicy",
    "CacheStatistics",
    "CacheTag",
    "CacheWarmer",
    "ContentTypeCacheManager",
    "InstrumentedCache",
    "NullRecorder",
    "StaleWhileRevalidateCache",
    "StatsRecorder",
    "WarmingStatus",
]
