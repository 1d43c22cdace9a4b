"""The layer every part of RedisCache stands on: sides, keys, value format, outage policy.

Each operation builds its command once, as a :data:`Call` of a side (the sync
client or the running loop's asyncio one, with their scripts); ``_run`` and
``_arun`` execute it under the outage policy. So the sync and async twins
share every line of wire logic.
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

from redis.exceptions import RedisError, ResponseError

from cache._types import MISSING, Timeout
from cache.backend.redis import _header as header
from cache.backend.redis._client import (
    ClientOptions,
    OutagePolicy,
    close_sync_client,
    make_sync_client,
)
from cache.backend.redis._sides import AsyncSides, Call, Side
from cache.backend.serializers import Serializer
from cache.backend.validation import check_encodable, resolve_timeout
from cache.errors import SerializationError

__all__ = ["RedisConnection"]

log = logging.getLogger("cache.backend.redis")

_DIGITS = frozenset(b"-0123456789")


class RedisConnection:
    """The sides of a Redis engine, its key prefix, value format and outage policy.

    Args:
        options: How to reach Redis; the sync client is built from them
            unless ``client`` is given.
        client: An existing sync client.
        async_client: Its asyncio counterpart; without one (and with a
            ``client`` given), async calls run the sync client in a thread.
    """

    def __init__(
        self,
        options: ClientOptions,
        client: Any,
        async_client: Any,
        *,
        prefix: str,
        default_timeout: float | None,
        serializer: Serializer,
        outage: OutagePolicy,
    ) -> None:
        self._prefix = prefix
        self.default_timeout = default_timeout
        self.serializer = serializer
        self.outage = outage
        self.cluster = options.cluster
        built = client is None
        self._sync = Side(make_sync_client(options) if built else client, options.cluster)
        self._async = AsyncSides(async_client, options if built else None, options.cluster)

    def _k(self, key: str) -> str:
        if not key.isascii():  # O(1) in CPython: the hot path pays one call (issue 9)
            check_encodable(key)
        return self._prefix + key

    def _ttl_ms(self, timeout: Timeout) -> int | bool | None:
        """Return ms to live, None for no expiry, False for "do not store"."""
        ttl = self.default_timeout if timeout is None else resolve_timeout(timeout, None)
        if ttl is None:
            return None
        if ttl <= 0:
            return False
        return max(1, math.ceil(ttl * 1000))

    def _dump(self, value: Any) -> bytes:
        if type(value) is int:
            return str(value).encode()  # raw, so that INCRBY stays atomic (issue 4)
        return self.serializer.dumps(value)

    def _load(self, raw: Any, key: str) -> Any:
        if raw is None:
            return MISSING
        try:
            if (
                raw[:1] == header.MARK
            ):  # inline: a call per get costs ~80 ns (of ~4 us off the wire)
                raw = header.strip(raw)
            if raw[0] in _DIGITS:
                return int(raw)
            return self.serializer.loads(raw)
        except (SerializationError, ValueError) as exc:
            log.warning("unreadable value under %r served as a miss: %s", key, exc)
            self.outage.stats.record_error()
            return MISSING

    def _run(self, name: str, call: Call, fallback: Any, replies: bool = False) -> Any:
        """Run ``call`` on the sync client; ``replies``: let error replies raise."""
        if not self.outage.allow():
            return fallback
        try:
            result = call(self._sync)
        except RedisError as exc:
            if replies and isinstance(exc, ResponseError):
                raise  # the server answered: a refused command is not an outage
            self.outage.failed(name, exc)
            return fallback
        self.outage.succeeded()
        return result

    async def _arun(self, name: str, call: Call, fallback: Any, replies: bool = False) -> Any:
        """Async :meth:`_run`, on this loop's asyncio client (or the sync one in a thread)."""
        side = await self._async.current()
        if side is None:
            return await asyncio.to_thread(self._run, name, call, fallback, replies)
        if not self.outage.allow():
            return fallback
        try:
            result = await call(side)
        except RedisError as exc:
            if replies and isinstance(exc, ResponseError):
                raise
            self.outage.failed(name, exc)
            return fallback
        self.outage.succeeded()
        return result

    def close(self) -> None:
        """Close the sync client's connections."""
        close_sync_client(self._sync.client)

    async def aclose(self) -> None:
        """Close the sync client and the running loop's asyncio client."""
        close_sync_client(self._sync.client)
        await self._async.close_current()
