"""One adapter per cache under test.

``make(capacity)`` returns ``(cache, get, set, set_ttl)``: ``get(key)`` returns
the value or None (benchmarks never store None); ``set(key, value)`` stores
without expiry; ``set_ttl(key, value)`` stores with a one-hour per-entry TTL,
or is None where the library has no per-entry TTL.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TTL = 3600
Made = tuple[Any, Callable[[str], Any], Callable[[str, Any], Any], Callable[[str, Any], Any] | None]


@dataclass
class Peer:
    """A named cache factory and the policy it evicts with."""

    name: str
    policy: str
    make: Callable[[int], Made]
    thread_safe: bool = False


class DictFloor:
    """A plain dict behind Python methods: the least any Python-level cache can cost."""

    def __init__(self) -> None:
        self._d: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self._d.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self._d[key] = value


def _ours(capacity: int) -> Made:
    from cache.backend import InMemoryCache

    c = InMemoryCache(max_entries=capacity)
    return c, c.get, c.set, functools.partial(c.set, timeout=TTL)


def _floor(capacity: int) -> Made:
    c = DictFloor()
    return c, c.get, c.set, None


def _cachetools_lru(capacity: int) -> Made:
    import cachetools

    c = cachetools.LRUCache(capacity)
    return c, c.get, c.__setitem__, None


def _cachetools_ttl(capacity: int) -> Made:
    import cachetools

    c = cachetools.TTLCache(capacity, ttl=TTL)  # one TTL for all entries
    return c, c.get, c.__setitem__, c.__setitem__


def _cachebox_lru(capacity: int) -> Made:
    import cachebox

    c = cachebox.LRUCache(capacity)
    return c, c.get, c.__setitem__, None


def _cachebox_vttl(capacity: int) -> Made:
    import cachebox

    c = cachebox.VTTLCache(capacity)
    return c, c.get, c.insert, functools.partial(c.insert, ttl=TTL)


def _theine(capacity: int) -> Made:
    import theine

    c = theine.Cache(capacity)
    raw_get = c.get

    def get(key: str) -> Any:
        return raw_get(key)[0]  # theine answers (value, found)

    return c, get, c.set, functools.partial(c.set, ttl=datetime.timedelta(seconds=TTL))


def _lru_dict(capacity: int) -> Made:
    import lru

    c = lru.LRU(capacity)
    return c, c.get, c.__setitem__, None


OURS = Peer("cache.InMemoryCache", "W-TinyLFU, window sized by returns", _ours, thread_safe=True)
PEERS = [
    OURS,
    Peer("cachebox.LRUCache", "LRU", _cachebox_lru, thread_safe=True),
    Peer("cachebox.VTTLCache", "TTL order", _cachebox_vttl, thread_safe=True),
    Peer("cachetools.LRUCache", "LRU", _cachetools_lru),
    Peer("cachetools.TTLCache", "LRU+TTL", _cachetools_ttl),
    Peer("theine", "W-TinyLFU", _theine, thread_safe=True),
    Peer("lru-dict", "LRU", _lru_dict, thread_safe=True),
    Peer("dict floor", "none (unbounded)", _floor),
]
