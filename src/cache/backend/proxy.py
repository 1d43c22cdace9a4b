"""ProxyBackend: a backend that forwards every call to another, for wrappers to build on.

A wrapper (statistics, logging, a key prefix...) subclasses ``ProxyBackend``
and overrides only the calls it changes; the rest reach the wrapped engine
unchanged. The derived conveniences and async twins are forwarded too, not
rebuilt from primitives, so the engine's own versions run (Redis reads
``get_many`` in one round trip, and its async twins never block).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from cache._types import Missing, Timeout
from cache.backend.base import CacheBackend, Claim, Entry
from cache.errors import CacheTypeError

__all__ = ["ProxyBackend"]


class ProxyBackend(CacheBackend):
    """Forward every method of :class:`CacheBackend` to ``cache``.

    Every method the protocol declares is forwarded here, primitives, derived
    conveniences and async twins alike (a test walks the protocol): add a
    method to :class:`CacheBackend`, forward it here.
    """

    def __init__(self, cache: CacheBackend) -> None:
        if not isinstance(cache, CacheBackend):
            raise CacheTypeError(f"cache must be a CacheBackend, got {type(cache).__name__}")
        self.cache = cache

    # -- key-value primitives -------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        """Forward :meth:`CacheBackend.get`."""
        return self.cache.get(key, default)

    def set(self, key: str, value: Any, timeout: Timeout = None) -> None:
        """Forward :meth:`CacheBackend.set`."""
        self.cache.set(key, value, timeout)

    def add(self, key: str, value: Any, timeout: Timeout = None) -> bool:
        """Forward :meth:`CacheBackend.add`."""
        return self.cache.add(key, value, timeout)

    def delete(self, key: str) -> bool:
        """Forward :meth:`CacheBackend.delete`."""
        return self.cache.delete(key)

    def lease(self, key: str, token: str, timeout: float) -> bool:
        """Forward :meth:`CacheBackend.lease`."""
        return self.cache.lease(key, token, timeout)

    def delete_if_equals(self, key: str, expected: Any) -> bool:
        """Forward :meth:`CacheBackend.delete_if_equals`."""
        return self.cache.delete_if_equals(key, expected)

    def touch(self, key: str, timeout: Timeout = None) -> bool:
        """Forward :meth:`CacheBackend.touch`."""
        return self.cache.touch(key, timeout)

    def ttl(self, key: str) -> float | Missing | None:
        """Forward :meth:`CacheBackend.ttl`."""
        return self.cache.ttl(key)

    def incr(self, key: str, delta: int = 1) -> int:
        """Forward :meth:`CacheBackend.incr`."""
        return self.cache.incr(key, delta)

    def set_entry(
        self, key: str, value: Any, timeout: Timeout = None, refs: Sequence[str] = ()
    ) -> None:
        """Forward :meth:`CacheBackend.set_entry`."""
        self.cache.set_entry(key, value, timeout, refs)

    def get_entry(self, key: str, claim: Claim | None = None) -> Entry:
        """Forward :meth:`CacheBackend.get_entry`."""
        return self.cache.get_entry(key, claim)

    def clear(self) -> None:
        """Forward :meth:`CacheBackend.clear`."""
        self.cache.clear()

    def cleanup_expired(self) -> int:
        """Forward :meth:`CacheBackend.cleanup_expired`."""
        return self.cache.cleanup_expired()

    # -- ordered key index ----------------------------------------------------

    def index_add(self, index: str, members: Mapping[str, float]) -> int:
        """Forward :meth:`CacheBackend.index_add`."""
        return self.cache.index_add(index, members)

    def index_remove(self, index: str, members: Iterable[str]) -> int:
        """Forward :meth:`CacheBackend.index_remove`."""
        return self.cache.index_remove(index, members)

    def index_prefix(self, index: str, prefix: str, limit: int | None = None) -> list[str]:
        """Forward :meth:`CacheBackend.index_prefix`."""
        return self.cache.index_prefix(index, prefix, limit)

    def index_scan(self, index: str, after: str = "", count: int = 1000) -> list[str]:
        """Forward :meth:`CacheBackend.index_scan`."""
        return self.cache.index_scan(index, after, count)

    def index_remove_below(self, index: str, cutoff: float) -> int:
        """Forward :meth:`CacheBackend.index_remove_below`."""
        return self.cache.index_remove_below(index, cutoff)

    def index_trim(self, index: str, max_size: int) -> int:
        """Forward :meth:`CacheBackend.index_trim`."""
        return self.cache.index_trim(index, max_size)

    def index_len(self, index: str) -> int:
        """Forward :meth:`CacheBackend.index_len`."""
        return self.cache.index_len(index)

    def index_score(self, index: str, member: str) -> float | None:
        """Forward :meth:`CacheBackend.index_score`."""
        return self.cache.index_score(index, member)

    # -- derived conveniences: the engine's own versions -----------------------

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Forward :meth:`CacheBackend.get_many`."""
        return self.cache.get_many(keys)

    def set_many(self, mapping: Mapping[str, Any], timeout: Timeout = None) -> None:
        """Forward :meth:`CacheBackend.set_many`."""
        self.cache.set_many(mapping, timeout)

    def delete_many(self, keys: Iterable[str]) -> int:
        """Forward :meth:`CacheBackend.delete_many`."""
        return self.cache.delete_many(keys)

    def has_key(self, key: str) -> bool:
        """Forward :meth:`CacheBackend.has_key`."""
        return self.cache.has_key(key)

    def __contains__(self, key: object) -> bool:
        return key in self.cache

    def decr(self, key: str, delta: int = 1) -> int:
        """Forward :meth:`CacheBackend.decr`."""
        return self.cache.decr(key, delta)

    def get_or_set(
        self, key: str, default: Callable[[], Any] | Any, timeout: Timeout = None
    ) -> Any:
        """Forward :meth:`CacheBackend.get_or_set`."""
        return self.cache.get_or_set(key, default, timeout)

    def index_iter(self, index: str, count: int = 1000) -> Iterator[str]:
        """Forward :meth:`CacheBackend.index_iter`."""
        return self.cache.index_iter(index, count)

    def info(self) -> dict[str, Any]:
        """Forward :meth:`CacheBackend.info`."""
        return self.cache.info()

    def close(self) -> None:
        """Forward :meth:`CacheBackend.close`."""
        self.cache.close()

    # -- async twins ----------------------------------------------------------

    async def aget(self, key: str, default: Any = None) -> Any:
        """Forward :meth:`CacheBackend.aget`."""
        return await self.cache.aget(key, default)

    async def aset(self, key: str, value: Any, timeout: Timeout = None) -> None:
        """Forward :meth:`CacheBackend.aset`."""
        await self.cache.aset(key, value, timeout)

    async def aadd(self, key: str, value: Any, timeout: Timeout = None) -> bool:
        """Forward :meth:`CacheBackend.aadd`."""
        return await self.cache.aadd(key, value, timeout)

    async def adelete(self, key: str) -> bool:
        """Forward :meth:`CacheBackend.adelete`."""
        return await self.cache.adelete(key)

    async def alease(self, key: str, token: str, timeout: float) -> bool:
        """Forward :meth:`CacheBackend.alease`."""
        return await self.cache.alease(key, token, timeout)

    async def adelete_if_equals(self, key: str, expected: Any) -> bool:
        """Forward :meth:`CacheBackend.adelete_if_equals`."""
        return await self.cache.adelete_if_equals(key, expected)

    async def aset_entry(
        self, key: str, value: Any, timeout: Timeout = None, refs: Sequence[str] = ()
    ) -> None:
        """Forward :meth:`CacheBackend.aset_entry`."""
        await self.cache.aset_entry(key, value, timeout, refs)

    async def aget_entry(self, key: str, claim: Claim | None = None) -> Entry:
        """Forward :meth:`CacheBackend.aget_entry`."""
        return await self.cache.aget_entry(key, claim)

    async def atouch(self, key: str, timeout: Timeout = None) -> bool:
        """Forward :meth:`CacheBackend.atouch`."""
        return await self.cache.atouch(key, timeout)

    async def aincr(self, key: str, delta: int = 1) -> int:
        """Forward :meth:`CacheBackend.aincr`."""
        return await self.cache.aincr(key, delta)

    async def adecr(self, key: str, delta: int = 1) -> int:
        """Forward :meth:`CacheBackend.adecr`."""
        return await self.cache.adecr(key, delta)

    async def attl(self, key: str) -> float | Missing | None:
        """Forward :meth:`CacheBackend.attl`."""
        return await self.cache.attl(key)

    async def aclear(self) -> None:
        """Forward :meth:`CacheBackend.aclear`."""
        await self.cache.aclear()

    async def acleanup_expired(self) -> int:
        """Forward :meth:`CacheBackend.acleanup_expired`."""
        return await self.cache.acleanup_expired()

    async def aget_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Forward :meth:`CacheBackend.aget_many`."""
        return await self.cache.aget_many(keys)

    async def aset_many(self, mapping: Mapping[str, Any], timeout: Timeout = None) -> None:
        """Forward :meth:`CacheBackend.aset_many`."""
        await self.cache.aset_many(mapping, timeout)

    async def adelete_many(self, keys: Iterable[str]) -> int:
        """Forward :meth:`CacheBackend.adelete_many`."""
        return await self.cache.adelete_many(keys)

    async def ahas_key(self, key: str) -> bool:
        """Forward :meth:`CacheBackend.ahas_key`."""
        return await self.cache.ahas_key(key)

    async def aget_or_set(
        self, key: str, default: Callable[[], Any] | Any, timeout: Timeout = None
    ) -> Any:
        """Forward :meth:`CacheBackend.aget_or_set`."""
        return await self.cache.aget_or_set(key, default, timeout)

    async def aindex_add(self, index: str, members: Mapping[str, float]) -> int:
        """Forward :meth:`CacheBackend.aindex_add`."""
        return await self.cache.aindex_add(index, members)

    async def aindex_remove(self, index: str, members: Iterable[str]) -> int:
        """Forward :meth:`CacheBackend.aindex_remove`."""
        return await self.cache.aindex_remove(index, members)

    async def aindex_prefix(self, index: str, prefix: str, limit: int | None = None) -> list[str]:
        """Forward :meth:`CacheBackend.aindex_prefix`."""
        return await self.cache.aindex_prefix(index, prefix, limit)

    async def aindex_scan(self, index: str, after: str = "", count: int = 1000) -> list[str]:
        """Forward :meth:`CacheBackend.aindex_scan`."""
        return await self.cache.aindex_scan(index, after, count)

    async def aindex_remove_below(self, index: str, cutoff: float) -> int:
        """Forward :meth:`CacheBackend.aindex_remove_below`."""
        return await self.cache.aindex_remove_below(index, cutoff)

    async def aindex_trim(self, index: str, max_size: int) -> int:
        """Forward :meth:`CacheBackend.aindex_trim`."""
        return await self.cache.aindex_trim(index, max_size)

    async def aindex_len(self, index: str) -> int:
        """Forward :meth:`CacheBackend.aindex_len`."""
        return await self.cache.aindex_len(index)

    async def aindex_score(self, index: str, member: str) -> float | None:
        """Forward :meth:`CacheBackend.aindex_score`."""
        return await self.cache.aindex_score(index, member)

    async def aclose(self) -> None:
        """Forward :meth:`CacheBackend.aclose`."""
        await self.cache.aclose()
