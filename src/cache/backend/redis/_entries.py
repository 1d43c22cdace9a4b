"""RedisCache entries with refs: the value, its refs' values and a claim in one round trip."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Any

from cache._types import MISSING, Timeout
from cache.backend.base import Claim, Entry, check_claim
from cache.backend.redis import _header as header
from cache.backend.redis._connection import RedisConnection
from cache.backend.redis._sides import Call, Side
from cache.backend.validation import check_key, check_keys

__all__ = ["RedisEntries"]


class RedisEntries(RedisConnection):
    """The ``set_entry``/``get_entry`` part of :class:`~cache.backend.redis.RedisCache`."""

    def _set_entry(self, key: str, value: Any, timeout: Timeout, refs: Sequence[str]) -> Call:
        k = self._k(check_key(key))
        names = [self._k(r) for r in check_keys(refs, "refs")]
        ttl = self._ttl_ms(timeout)
        if ttl is False:  # a timeout of 0 or less removes the key
            return lambda side: side.client.unlink(k)
        data = header.encode(names, self._dump(value))
        return lambda side: side.client.set(k, data, px=ttl)

    def set_entry(
        self, key: str, value: Any, timeout: Timeout = None, refs: Sequence[str] = ()
    ) -> None:
        """Store ``value`` with the keys it depends on, in a header before the value."""
        self._run("set_entry", self._set_entry(key, value, timeout, refs), None)

    async def aset_entry(
        self, key: str, value: Any, timeout: Timeout = None, refs: Sequence[str] = ()
    ) -> None:
        """Async :meth:`set_entry`."""
        await self._arun("set_entry", self._set_entry(key, value, timeout, refs), None)

    def _claim_args(self, key: str, claim: Claim | None) -> tuple[list[str], list[Any]]:
        k, claim = self._k(check_key(key)), check_claim(claim)
        if claim is None:
            return [k, k], [b"", 0, -1]
        return [k, self._k(check_key(claim.key, "claim"))], [
            self._dump(claim.token),
            max(1, math.ceil(claim.timeout * 1000)),
            max(0, math.floor(claim.when_ttl_below * 1000)),
        ]

    def _entry(self, key: str, reply: Any) -> Entry:
        if reply is None:
            return Entry(MISSING)
        raw, ref_raws, claimed = reply
        value = self._load(raw, key)
        if value is MISSING:
            return Entry(value, {}, bool(claimed))
        names = [n[len(self._prefix) :] for n in header.decode(raw)[0]]
        found = {}
        for name, ref_raw in zip(names, ref_raws or [None] * len(names), strict=True):
            ref = self._load(ref_raw, name)
            if ref is not MISSING:
                found[name] = ref
        return Entry(value, found, bool(claimed))

    def get_entry(self, key: str, claim: Claim | None = None) -> Entry:
        """Read ``key``, its refs and try ``claim``: one script, one round trip.

        On a cluster the refs live in other slots: the entry and its TTL come
        in one round trip, the refs in one per slot, the claim in one more.
        """
        keys, args = self._claim_args(key, claim)
        if self.cluster:
            return self._get_entry_cluster(key, keys, args)
        call: Call = lambda side: side.scripts["get_entry"](keys=keys, args=args)  # noqa: E731
        return self._entry(key, self._run("get_entry", call, None))

    async def aget_entry(self, key: str, claim: Claim | None = None) -> Entry:
        """Async :meth:`get_entry`."""
        keys, args = self._claim_args(key, claim)
        if self.cluster:
            return await asyncio.to_thread(self._get_entry_cluster, key, keys, args)
        call: Call = lambda side: side.scripts["get_entry"](keys=keys, args=args)  # noqa: E731
        return self._entry(key, await self._arun("get_entry", call, None))

    def _get_entry_cluster(self, key: str, keys: list[str], args: list[Any]) -> Entry:
        def read(side: Side) -> Any:
            pipe = side.client.pipeline(transaction=False)
            pipe.get(keys[0])
            pipe.pttl(keys[0])
            return pipe.execute()

        raw, ttl = self._run("get_entry", read, [None, -2])
        if raw is None:
            return Entry(MISSING)
        names = header.decode(raw)[0]
        ref_raws: list[Any] = []
        if names:
            ref_raws = self._run("get_entry", lambda side: side.mget(names), [None] * len(names))
        claimed = 0
        if args[2] >= 0 and 0 <= ttl <= args[2]:
            claim = lambda side: side.client.set(keys[1], args[0], nx=True, px=args[1])  # noqa: E731
            claimed = bool(self._run("get_entry", claim, False))
        return self._entry(key, [raw, ref_raws, claimed])
