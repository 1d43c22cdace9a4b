"""CacheInvalidator: invalidate registered keys by regex pattern or by prefix.

The registry of keys is an ordered key index in the backend, so every process
sharing the backend sees the same registry. Prefix invalidation reads a range
of that index (O(log n + matches)); pattern invalidation must test every
registered key (O(n)).

A registry Redis evicted (``maxmemory-policy allkeys-*``) is detected by the
engine, whose range reads then also list the live keys of its namespace: an
entry registered in a lost registry is still found (issue 2; docs/engines.md,
"Eviction policies").
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable

from cache._clock import Clock
from cache.advanced._listeners import Listener, Listeners
from cache.backend.base import CacheBackend, check_backend
from cache.backend.validation import (
    MAX_KEY_LENGTH,
    check_key,
    check_keys,
    check_number,
    compile_pattern,
    reserved_key,
)
from cache.errors import CacheTypeError, CacheValueError

__all__ = ["DEFAULT_MAX_KEYS", "CacheInvalidator"]

#: Registered keys kept at most; past it the oldest registrations are dropped.
DEFAULT_MAX_KEYS = 1_000_000
_BATCH = 1_000
#: Longest registry name: the index is named ``__cache__:registry:<name>`` (issue 9).
_MAX_REGISTRY = MAX_KEY_LENGTH - len(reserved_key("registry", ""))


def _check_prefix(prefix: object) -> None:
    if not isinstance(prefix, str):
        raise CacheTypeError(
            f'prefix must be a str ("" for every key), got {type(prefix).__name__} {prefix!r:.60}'
        )


class CacheInvalidator:
    """A registry of keys that can be invalidated by pattern or prefix.

    Args:
        cache: The backend holding both the entries and the registry.
        max_keys: Cap on registered keys (default 1,000,000); registering past
            it drops the oldest registrations, so the registry cannot grow
            without limit.
        registry: Name of the registry, for several independent ones.
        clock: Wall-clock seconds (registration times are shared between processes).
    """

    def __init__(
        self,
        cache: CacheBackend,
        *,
        max_keys: int = DEFAULT_MAX_KEYS,
        registry: str = "default",
        clock: Clock = time.time,
    ) -> None:
        if isinstance(max_keys, bool) or not isinstance(max_keys, int) or max_keys < 1:
            raise CacheValueError(f"max_keys must be a positive int, got {max_keys!r}")
        self.cache = check_backend(cache)
        self.max_keys = max_keys
        self.index = reserved_key("registry", check_key(registry, "registry", _MAX_REGISTRY))
        self._clock = clock
        self._listeners = Listeners()

    def on_invalidate(self, listener: Listener) -> None:
        """Call ``listener(kind, value)`` ("prefix" or "pattern") after each one applied here."""
        self._listeners.add(listener)

    def off_invalidate(self, listener: Listener) -> None:
        """Stop calling a listener given to :meth:`on_invalidate`."""
        self._listeners.remove(listener)

    def register_key(self, key: str) -> None:
        """Record ``key`` (and the time) so that pattern and prefix invalidation find it."""
        self.register_keys([key])

    def register_keys(self, keys: Iterable[str]) -> None:
        """Record several keys at once."""
        now = self._clock()
        members = dict.fromkeys(check_keys(keys), now)
        self.cache.index_add(self.index, members)
        self.cache.index_trim(self.index, self.max_keys)

    def registered_count(self) -> int:
        """Return how many keys are registered."""
        return self.cache.index_len(self.index)

    def registered_keys(self, prefix: str = "") -> list[str]:
        """Return the registered keys starting with ``prefix``, in order."""
        _check_prefix(prefix)
        return self.cache.index_prefix(self.index, prefix)

    def _drop(self, keys: list[str]) -> None:
        self.cache.delete_many(keys)
        self.cache.index_remove(self.index, keys)

    def matching_keys(self, pattern: str | re.Pattern[str]) -> list[str]:
        """Return the registered keys matching ``pattern`` (``re.search``), deleting nothing."""
        regex = compile_pattern(pattern)
        return [k for k in self.cache.index_iter(self.index, _BATCH) if regex.search(k)]

    def invalidate_keys(self, keys: Iterable[str]) -> int:
        """Delete these keys and drop them from the registry; return how many were named.

        For tools that list what would go first (a dry run) and then delete
        it in slices, showing progress.
        """
        batch = check_keys(keys)
        for start in range(0, len(batch), _BATCH):
            self._drop(batch[start : start + _BATCH])
        return len(batch)

    def invalidate_pattern(self, pattern: str | re.Pattern[str]) -> int:
        """Delete every registered key matching ``pattern`` (``re.search``); return how many.

        Raises ``ValueError`` for an invalid regex before anything is deleted.
        Matching keys leave the registry whether or not they were cached.
        """
        count = self.invalidate_keys(self.matching_keys(pattern))
        self._listeners.notify("pattern", pattern if isinstance(pattern, str) else pattern.pattern)
        return count

    def invalidate_prefix(self, prefix: str) -> int:
        """Delete every registered key starting with ``prefix``; return how many."""
        _check_prefix(prefix)
        total = 0
        while batch := self.cache.index_prefix(self.index, prefix, _BATCH):
            self._drop(batch)
            total += len(batch)
        self._listeners.notify("prefix", prefix)
        return total

    def cleanup_old_keys(self, max_age_hours: float = 24) -> int:
        """Drop registrations older than ``max_age_hours``; return how many.

        The cached entries themselves are left alone: they expire on their own.
        """
        max_age_hours = check_number(max_age_hours, "max_age_hours", "hours")  # nan too: issue 9
        cutoff = self._clock() - max_age_hours * 3600
        return self.cache.index_remove_below(self.index, cutoff)
