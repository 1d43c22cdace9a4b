"""RedisCache's batch operations: many keys in one round trip (``MGET``, a pipeline, ``UNLINK``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cache._types import MISSING, Timeout
from cache.backend.redis._connection import RedisConnection
from cache.backend.redis._sides import Call, Side
from cache.backend.validation import check_keys, check_mapping

__all__ = ["RedisBatch"]


class RedisBatch(RedisConnection):
    """The ``*_many`` part of :class:`~cache.backend.redis.RedisCache`."""

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Return the cached keys among ``keys`` (one ``MGET``, grouped by slot on a cluster)."""
        keys = check_keys(keys)
        if not keys:
            return {}
        names = [self._k(k) for k in keys]
        raws = self._run("get_many", lambda side: side.mget(names), [None] * len(keys), keys=names)
        return self._found(keys, raws)

    async def aget_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Async :meth:`get_many`."""
        keys = check_keys(keys)
        if not keys:
            return {}
        names = [self._k(k) for k in keys]
        call: Call = lambda side: side.mget(names)  # noqa: E731
        raws = await self._arun("get_many", call, [None] * len(keys), keys=names)
        return self._found(keys, raws)

    def _with_ttl(self, keys: Iterable[str]) -> tuple[list[str], Call]:
        keys = check_keys(keys)
        names = [self._k(k) for k in keys]

        def call(side: Side) -> Any:
            pipe = side.client.pipeline(transaction=False)
            for name in names:
                pipe.get(name)
                pipe.pttl(name)
            return pipe.execute()

        return keys, call

    def get_many_with_ttl(self, keys: Iterable[str]) -> dict[str, tuple[Any, float | None]]:
        """Return the cached keys among ``keys`` with the seconds each has left (None: no expiry).

        One pipelined round trip (per node on a cluster); what a near cache
        needs so that its copies never outlive Redis's.
        """
        keys, call = self._with_ttl(keys)
        if not keys:
            return {}
        replies = self._run(
            "get_many", call, [None, -2] * len(keys), keys=[self._k(k) for k in keys]
        )
        return self._found_with_ttl(keys, replies)

    async def aget_many_with_ttl(self, keys: Iterable[str]) -> dict[str, tuple[Any, float | None]]:
        """Async :meth:`get_many_with_ttl`."""
        keys, call = self._with_ttl(keys)
        if not keys:
            return {}
        names = [self._k(k) for k in keys]
        replies = await self._arun("get_many", call, [None, -2] * len(keys), keys=names)
        return self._found_with_ttl(keys, replies)

    def _found_with_ttl(
        self, keys: list[str], replies: list[Any]
    ) -> dict[str, tuple[Any, float | None]]:
        found = {}
        for key, raw, pttl in zip(keys, replies[::2], replies[1::2], strict=True):
            value = self._load(raw, key)
            if value is not MISSING and int(pttl) != -2:
                found[key] = (value, None if int(pttl) < 0 else int(pttl) / 1000)
        return found

    def _found(self, keys: list[str], raws: list[Any]) -> dict[str, Any]:
        found = {}
        for key, raw in zip(keys, raws, strict=True):
            value = self._load(raw, key)
            if value is not MISSING:
                found[key] = value
        return found

    def _set_many(self, mapping: Mapping[str, Any], timeout: Timeout) -> Call | None:
        mapping = check_mapping(mapping)
        items = [(self._k(k), self._dump(v)) for k, v in mapping.items()]
        ttl = self._ttl_ms(timeout)
        if ttl is False:
            return None

        def call(side: Side) -> Any:
            pipe = side.client.pipeline(transaction=False)
            for name, data in items:
                pipe.set(name, data, px=ttl)
            return pipe.execute()

        return call

    def set_many(self, mapping: Mapping[str, Any], timeout: Timeout = None) -> None:
        """Store every item in one pipelined round trip."""
        call = self._set_many(mapping, timeout)
        if call is None:
            self.delete_many(mapping)
        elif mapping:
            self._run("set_many", call, None, keys=[self._k(k) for k in mapping])

    async def aset_many(self, mapping: Mapping[str, Any], timeout: Timeout = None) -> None:
        """Async :meth:`set_many`."""
        call = self._set_many(mapping, timeout)
        if call is None:
            await self.adelete_many(mapping)
        elif mapping:
            await self._arun("set_many", call, None, keys=[self._k(k) for k in mapping])

    def delete_many(self, keys: Iterable[str]) -> int:
        """Remove ``keys`` (one ``UNLINK``); return how many existed."""
        names = [self._k(k) for k in check_keys(keys)]
        if not names:
            return 0
        return int(self._run("delete_many", lambda side: side.client.unlink(*names), 0, keys=names))

    async def adelete_many(self, keys: Iterable[str]) -> int:
        """Async :meth:`delete_many`."""
        names = [self._k(k) for k in check_keys(keys)]
        if not names:
            return 0
        call: Call = lambda side: side.client.unlink(*names)  # noqa: E731
        return int(await self._arun("delete_many", call, 0, keys=names))
