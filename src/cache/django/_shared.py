"""One engine per ``LOCATION``, shared by every thread's backend instance.

Django makes a backend instance per thread (``caches`` is thread-local), as
it does for its own backends; the engine behind them, with its connections,
its memory and the features built over it, is made once per process and
setting here, as ``LocMemCache`` shares its dict by ``LOCATION``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cache.advanced.instrumented import InstrumentedCache
from cache.advanced.statistics import CacheStatistics
from cache.backend.base import CacheBackend
from cache.backend.config import from_url
from cache.backend.memory.engine import InMemoryCache

__all__ = ["Shared", "shared_engine"]

T = TypeVar("T")


@dataclass
class Shared:
    """An engine, its statistics (if recorded) and the features made over it."""

    engine: CacheBackend
    #: True if the engine keeps objects in this process (``memory://``).
    local: bool
    stats: CacheStatistics | None = None
    #: The Redis engine itself if it has no namespace: ``clear`` is ``FLUSHDB`` then.
    flushed: Any = None
    _features: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        """Empty the cache as Django's ``clear`` does: the namespace, else the whole database."""
        if self.flushed is not None:
            self.flushed.flush_database()
        else:
            self.engine.clear()

    async def aclear(self) -> None:
        """Async :meth:`clear`."""
        if self.flushed is not None:
            await self.flushed.aflush_database()
        else:
            await self.engine.aclear()

    def feature(self, name: str, make: Callable[[CacheBackend], T]) -> T:
        """Return the feature ``name`` over the engine, made by ``make`` on first use."""
        with self._lock:
            if name not in self._features:
                self._features[name] = make(self.engine)
            found: T = self._features[name]
            return found


_engines: dict[str, CacheBackend] = {}
_shared: dict[tuple[str, bool], Shared] = {}
_lock = threading.Lock()


def shared_engine(location: str, statistics: bool) -> Shared:
    """Return the engine ``location`` names (a ``from_url`` URL), made on first use.

    Aliases on one ``LOCATION`` share its engine (one store in memory) whether
    they record statistics or not; those that do share one recorder.
    """
    with _lock:
        found = _shared.get((location, statistics))
        if found is None:
            raw = _engines.get(location)
            if raw is None:
                raw = _engines[location] = from_url(location)
            engine, stats = raw, None
            if statistics:
                stats = CacheStatistics()
                engine = InstrumentedCache(raw, stats)
            # A Redis engine without a namespace: clear() is FLUSHDB, as in Django.
            flushed = raw if getattr(raw, "namespace", None) == "" else None
            found = Shared(engine, isinstance(raw, InMemoryCache), stats, flushed)
            _shared[(location, statistics)] = found
        return found
