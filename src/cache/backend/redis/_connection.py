"""The layer every part of RedisCache stands on: sides, keys, value format, outage policy.

Each operation builds its command once, as a :data:`Call` of a side (the sync
client or the running loop's asyncio one, with their scripts); ``_run`` and
``_arun`` execute it under the outage policy. So the sync and async twins
share every line of wire logic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
from collections.abc import Sequence
from typing import Any

import redis
from redis.crc import key_slot

from cache._types import MISSING, Timeout
from cache.backend.redis import _header as header
from cache.backend.redis._client import (
    FAILURES,
    ClientOptions,
    OutagePolicy,
    close_sync_client,
    is_exhausted,
    is_refusal,
    make_sync_client,
)
from cache.backend.redis._sides import AsyncSides, Call, Side
from cache.backend.serializers import Serializer
from cache.backend.validation import check_encodable, resolve_timeout
from cache.errors import InvalidKeyError

__all__ = ["RedisConnection"]

log = logging.getLogger("cache.backend.redis")

_DIGITS = frozenset(b"-0123456789")


def _unencodable(exc: UnicodeEncodeError) -> InvalidKeyError:
    """Return the error for a str argument the client could not encode (values are bytes).

    Keys are checked before (``_k``); this catches the rest where the client
    encodes them, nothing having been sent: index names, members, prefixes (issue 9).
    """
    text = exc.object if isinstance(exc.object, str) else ""
    return InvalidKeyError(
        f"a key, index, member or prefix {text!r:.80} holds a lone surrogate at position "
        f"{exc.start}, which UTF-8 cannot encode; decode bytes with errors='replace' "
        "or hash the name first"
    )


#: Where redis-py's modules are: the frames of the client.
_REDIS_PY = os.path.dirname(redis.__file__) + os.sep


def _raised_by_client(exc: BaseException) -> bool:
    """Return True if ``exc`` was raised inside redis-py (its innermost frame is the client's).

    redis.asyncio's cluster client, writing on a connection that a node's
    death reset, raises ``AttributeError`` (``'NoneType' object has no
    attribute 'writelines'``: the connection's writer is gone) instead of a
    ``ConnectionError``. That one is a connection failure; an AttributeError
    from anywhere else (the library's own code, a serializer) is a bug, and
    propagates.
    """
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_filename.startswith(_REDIS_PY)


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

    def _match(self, prefix: str = "") -> str:
        """Return the ``SCAN MATCH`` pattern of this namespace's keys starting with ``prefix``.

        Glob characters are escaped: a namespace or prefix "app*" is no glob (issue 7).
        """
        literal = self._prefix + prefix
        return "".join("\\" + c if c in "*?[]\\" else c for c in literal) + "*"

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
        """Return the value in ``raw`` read under ``key``; MISSING if absent or unreadable.

        Corrupt or foreign bytes are a miss, not an error nor an outage: counted
        (``corrupt`` in :meth:`info`, an error for the recorder), logged at a
        limited rate, and deleted if the key still holds them (issue 8).
        """
        if raw is None:
            return MISSING
        try:
            # inline test: a call per get costs ~80 ns (of ~4 us off the wire)
            raw_value = header.value(raw) if raw[:1] == header.MARK else raw
            if raw_value[:1] and raw_value[0] in _DIGITS:
                return int(raw_value)
            return self.serializer.loads(raw_value)
        except Exception as exc:  # any failure to decode stored bytes is a miss (issue 8)
            self.outage.corrupted(key, exc)
            self._drop(key, raw)
            return MISSING

    def _drop(self, key: str, raw: bytes) -> None:
        """Delete ``key`` if it still holds the corrupt ``raw`` (best effort, never raises).

        Runs on the sync client, also for async reads: corrupt data is rare
        and one round trip is cheaper than a second code path.
        """
        k = self._k(key)
        with contextlib.suppress(*FAILURES):  # the next read finds it again: still a miss
            self._sync.scripts["delete_if_equals"](keys=[k], args=[raw])

    def _scope(self, keys: Sequence[str]) -> str:
        """Return the circuit scope of a call on ``keys`` (prefixed names): their cluster node.

        A single server, or a call naming no key, has one scope: "". Keys on
        several nodes share the scope "*": a dead node's failures there never
        open the circuit of a node that answers.
        """
        if not self.cluster or not keys:
            return ""
        try:
            nodes = self._sync.client.nodes_manager
            found = {nodes.get_node_from_slot(key_slot(k.encode())).name for k in keys}
        except (*FAILURES, AttributeError, IndexError, KeyError):  # no map (yet): the one scope
            return ""
        return str(found.pop()) if len(found) == 1 else "*"

    def _run(
        self, name: str, call: Call, fallback: Any, replies: bool = False, keys: Sequence[str] = ()
    ) -> Any:
        """Run ``call`` on the sync client under the outage policy.

        ``replies``: let the server's refusals raise as they are (the caller
        turns them into its own errors). Otherwise a refusal is counted apart
        from outages; both raise if the engine is strict or ``name`` must
        apply (a removal), else the call returns ``fallback``. ``keys`` (the
        prefixed names the call touches) pick the circuit: their cluster node's.
        """
        scope = self._scope(keys)
        if not self.outage.allow(name, scope):
            return fallback
        try:
            result = call(self._sync)
        except UnicodeEncodeError as exc:
            raise _unencodable(exc) from None
        except FAILURES as exc:
            return self._failed(name, exc, fallback, replies, scope)
        self.outage.succeeded(scope)
        return result

    async def _arun(
        self, name: str, call: Call, fallback: Any, replies: bool = False, keys: Sequence[str] = ()
    ) -> Any:
        """Async :meth:`_run`, on this loop's asyncio client (or the sync one in a thread)."""
        side = await self._async.current()
        if side is None:
            return await asyncio.to_thread(self._run, name, call, fallback, replies, keys)
        scope = self._scope(keys)
        if not self.outage.allow(name, scope):
            return fallback
        try:
            result = await call(side)
        except UnicodeEncodeError as exc:
            raise _unencodable(exc) from None
        except FAILURES as exc:
            return self._failed(name, exc, fallback, replies, scope)
        except AttributeError as exc:
            if not (self.cluster and _raised_by_client(exc)):
                raise
            return self._failed(name, exc, fallback, replies, scope)
        self.outage.succeeded(scope)
        return result

    def _failed(
        self, name: str, exc: Exception, fallback: Any, replies: bool, scope: str = ""
    ) -> Any:
        if is_exhausted(exc):
            self.outage.exhausted(name, exc, scope)
        elif not is_refusal(exc):
            self.outage.failed(name, exc, scope)
        elif replies:
            raise exc
        else:
            self.outage.refusal(name, exc, scope)
        return fallback

    def close(self) -> None:
        """Close the sync client's connections."""
        close_sync_client(self._sync.client)

    async def aclose(self) -> None:
        """Close the sync client and the running loop's asyncio client."""
        close_sync_client(self._sync.client)
        await self._async.close_current()
