"""CopyingCache: a backend that stores serialized copies, as a network engine does.

``InMemoryCache`` keeps the objects it is given: a ``datetime`` or a
dataclass is a hit on memory and an error on Redis (JSON), and a value
mutated after ``set`` changes the cached one. Wrapped in ``CopyingCache``
with the serializer production uses, the in-memory engine behaves as Redis
would: what the serializer cannot carry fails at ``set``, with the same
error, and every read returns a fresh copy. Tests on memory then catch what
would fail on Redis. ``from_url("memory://?serializer=typed")`` builds one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cache._types import MISSING, Timeout
from cache.backend.base import CacheBackend, Claim, Entry
from cache.backend.proxy import ProxyBackend
from cache.backend.serializers import Serializer, check_serializer

__all__ = ["CopyingCache"]


class CopyingCache(ProxyBackend):
    """Store ``serializer.dumps(value)`` in ``cache``; read back ``serializer.loads``.

    Ints are stored as they are, as the Redis engine stores them, so that
    ``incr`` stays atomic; a lock token compared by ``delete_if_equals`` is
    compared in its stored form.
    """

    def __init__(self, cache: CacheBackend, serializer: Serializer) -> None:
        super().__init__(cache)
        self.serializer = check_serializer(serializer)

    def _dump(self, value: Any) -> Any:
        return value if type(value) is int else self.serializer.dumps(value)

    def _load(self, stored: Any) -> Any:
        return self.serializer.loads(stored) if isinstance(stored, bytes) else stored

    # Built from the calls below, as CacheBackend builds them, so that they copy too.
    get_or_set = CacheBackend.get_or_set
    aget_or_set = CacheBackend.aget_or_set
    has_key = CacheBackend.has_key
    ahas_key = CacheBackend.ahas_key

    def get(self, key: str, default: Any = None) -> Any:
        """Return a fresh copy of the value, or ``default``."""
        stored = self.cache.get(key, MISSING)
        return default if stored is MISSING else self._load(stored)

    def set(self, key: str, value: Any, timeout: Timeout = None) -> None:
        """Store a serialized copy (raises at once if the serializer cannot carry it)."""
        self.cache.set(key, self._dump(value), timeout)

    def add(self, key: str, value: Any, timeout: Timeout = None) -> bool:
        """Store a serialized copy if ``key`` is absent."""
        return self.cache.add(key, self._dump(value), timeout)

    def delete_if_equals(self, key: str, expected: Any) -> bool:
        """Remove ``key`` if it holds ``expected``: as a lease stored it, or as ``add`` did."""
        if self.cache.delete_if_equals(key, expected):  # a lease's token is stored raw
            return True
        dumped = self._dump(expected)
        return dumped is not expected and self.cache.delete_if_equals(key, dumped)

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Return fresh copies of the values found."""
        return {k: self._load(v) for k, v in self.cache.get_many(keys).items()}

    def set_many(self, mapping: Mapping[str, Any], timeout: Timeout = None) -> None:
        """Store serialized copies; nothing is stored if one value cannot be serialized."""
        self.cache.set_many({k: self._dump(v) for k, v in mapping.items()}, timeout)

    def set_entry(
        self, key: str, value: Any, timeout: Timeout = None, refs: Sequence[str] = ()
    ) -> None:
        """Store a serialized copy with its refs."""
        self.cache.set_entry(key, self._dump(value), timeout, refs)

    def get_entry(self, key: str, claim: Claim | None = None) -> Entry:
        """Return the entry with a fresh copy of its value."""
        entry = self.cache.get_entry(key, claim)
        refs = {k: self._load(v) for k, v in entry.refs.items()}  # tag versions, as get reads them
        value = entry.value if entry.value is MISSING else self._load(entry.value)
        return Entry(value, refs, entry.claimed)

    # The engine underneath is in memory: CacheBackend's async twins, which run
    # the sync calls above, are the right ones (not the engine's, which skip the copy).
    aget = CacheBackend.aget
    aset = CacheBackend.aset
    aadd = CacheBackend.aadd
    adelete_if_equals = CacheBackend.adelete_if_equals
    aget_many = CacheBackend.aget_many
    aset_many = CacheBackend.aset_many
    aset_entry = CacheBackend.aset_entry
    aget_entry = CacheBackend.aget_entry
