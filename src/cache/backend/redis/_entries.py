"""RedisCache entries with refs (the value, its refs' values and a claim in one round trip); leases.

A lock taken here carries the caller's deadline, the wall-clock time its
socket timeout ends: a command that reaches a hung server after its caller
gave up takes no lock (issue 4: such locks were left with no holder).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Sequence
from typing import Any

from cache._types import MISSING, Timeout
from cache.backend.base import Claim, Entry, check_claim, check_lease
from cache.backend.redis import _header as header
from cache.backend.redis._connection import RedisConnection
from cache.backend.redis._sides import Call, Side
from cache.backend.validation import check_key, check_keys

__all__ = ["RedisEntries"]


def _socket_timeout(client: Any) -> float | None:
    """Return the seconds a command of ``client`` waits for its reply (None: forever)."""
    manager = getattr(client, "nodes_manager", None)  # a cluster client
    kwargs = manager.connection_kwargs if manager is not None else client.get_connection_kwargs()
    timeout = kwargs.get("socket_timeout")
    return None if timeout is None else float(timeout)


class RedisEntries(RedisConnection):
    """The ``set_entry``/``get_entry`` and ``lease`` part of :class:`RedisCache`."""

    @functools.cached_property
    def _reply_wait(self) -> float | None:
        return _socket_timeout(self._sync.client)

    def _deadline(self) -> int:
        """Return the unix ms past which a lock request is refused (0: never)."""
        wait = self._reply_wait
        return 0 if wait is None else math.ceil((time.time() + wait) * 1000)

    def _lease(self, key: str, token: str, timeout: float) -> Call:
        key, token, seconds = check_lease(key, token, timeout)
        keys = [self._k(key)]
        args = [self._dump(token), max(1, math.ceil(seconds * 1000)), self._deadline()]
        return lambda side: side.scripts["lease"](keys=keys, args=args)

    def lease(self, key: str, token: str, timeout: float) -> bool:
        """Take the lock ``key`` for ``token`` or extend it (one script); False when down."""
        return bool(self._run("lease", self._lease(key, token, timeout), 0, keys=[self._k(key)]))

    async def alease(self, key: str, token: str, timeout: float) -> bool:
        """Async :meth:`lease`."""
        call, k = self._lease(key, token, timeout), [self._k(key)]
        return bool(await self._arun("lease", call, 0, keys=k))

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
        call = self._set_entry(key, value, timeout, refs)
        self._run("set_entry", call, None, keys=[self._k(key)])

    async def aset_entry(
        self, key: str, value: Any, timeout: Timeout = None, refs: Sequence[str] = ()
    ) -> None:
        """Async :meth:`set_entry`."""
        call = self._set_entry(key, value, timeout, refs)
        await self._arun("set_entry", call, None, keys=[self._k(key)])

    def _claim_args(self, key: str, claim: Claim | None) -> tuple[list[str], list[Any]]:
        k, claim = self._k(check_key(key)), check_claim(claim)
        if claim is None:
            return [k, k], [b"", 0, -1, 0]
        return [k, self._k(check_key(claim.key, "claim"))], [
            self._dump(claim.token),
            max(1, math.ceil(claim.timeout * 1000)),
            max(0, math.floor(claim.when_ttl_below * 1000)),
            self._deadline(),
        ]

    def _entry(self, key: str, reply: Any) -> Entry:
        if reply is None:
            return Entry(MISSING)
        raw, ref_raws, claimed = reply
        value = self._load(raw, key)
        if value is MISSING:
            return Entry(value, {}, bool(claimed))
        names = [n[len(self._prefix) :] for n in header.decode(raw)[0]]
        found, absent = {}, []
        for name, ref_raw in zip(names, ref_raws or [None] * len(names), strict=True):
            ref = self._load(ref_raw, name)
            if ref is MISSING:
                absent.append(name)
            else:
                found[name] = ref
        return Entry(value, found, bool(claimed), tuple(absent))

    def get_entry(self, key: str, claim: Claim | None = None) -> Entry:
        """Read ``key``, its refs and try ``claim``: one script, one round trip.

        On a cluster the refs live in other slots: the entry and its TTL come
        in one round trip, the refs in one per slot, the claim in one more.
        """
        keys, args = self._claim_args(key, claim)
        if self.cluster:
            return self._get_entry_cluster(key, keys, args)
        call: Call = lambda side: side.scripts["get_entry"](keys=keys, args=args)  # noqa: E731
        return self._entry(key, self._run("get_entry", call, None, keys=keys))

    async def aget_entry(self, key: str, claim: Claim | None = None) -> Entry:
        """Async :meth:`get_entry` (on a cluster too: no thread waits on a node)."""
        keys, args = self._claim_args(key, claim)
        if self.cluster:
            return await self._aget_entry_cluster(key, keys, args)
        call: Call = lambda side: side.scripts["get_entry"](keys=keys, args=args)  # noqa: E731
        return self._entry(key, await self._arun("get_entry", call, None, keys=keys))

    def _claim_call(self, keys: list[str], args: list[Any], ttl: int) -> Call | None:
        """Return the lease a cluster read takes (None: no claim, or the entry is not due)."""
        if args[2] < 0 or not 0 <= ttl <= args[2]:
            return None
        # The token is not held yet: the lease script takes the lock only if free.
        lease = [args[0], args[1], self._deadline()]
        return lambda side: side.scripts["lease"](keys=[keys[1]], args=lease)

    def _get_entry_cluster(self, key: str, keys: list[str], args: list[Any]) -> Entry:
        raw, ttl = self._run("get_entry", _with_ttl(keys[0]), [None, -2], keys=keys[:1])
        if raw is None:
            return Entry(MISSING)
        names = header.decode(raw)[0]
        ref_raws: list[Any] = []
        if names:
            refs: Call = lambda side: side.mget(names)  # noqa: E731
            ref_raws = self._run("get_entry", refs, [None] * len(names), keys=names)
        claim = self._claim_call(keys, args, ttl)
        claimed = claim is not None and bool(self._run("get_entry", claim, False, keys=keys[1:]))
        return self._entry(key, [raw, ref_raws, claimed])

    async def _aget_entry_cluster(self, key: str, keys: list[str], args: list[Any]) -> Entry:
        """Async :meth:`_get_entry_cluster`."""
        raw, ttl = await self._arun("get_entry", _with_ttl(keys[0]), [None, -2], keys=keys[:1])
        if raw is None:
            return Entry(MISSING)
        names = header.decode(raw)[0]
        ref_raws: list[Any] = []
        if names:
            refs: Call = lambda side: side.mget(names)  # noqa: E731
            ref_raws = await self._arun("get_entry", refs, [None] * len(names), keys=names)
        claim = self._claim_call(keys, args, ttl)
        claimed = claim is not None and bool(
            await self._arun("get_entry", claim, False, keys=keys[1:])
        )
        return self._entry(key, [raw, ref_raws, claimed])


def _with_ttl(key: str) -> Call:
    """Return the command reading ``key`` and its TTL in one round trip (a pipeline)."""

    def read(side: Side) -> Any:
        pipe = side.client.pipeline(transaction=False)
        pipe.get(key)
        pipe.pttl(key)
        return pipe.execute()

    return read
