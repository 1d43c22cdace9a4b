"""RedisCache's ordered key index: two sorted sets and a marker per index, sharing a hash tag.

The by-name set (all scores 0) serves prefix ranges with ``ZRANGEBYLEX``; the
by-score set serves age cleanup. Scripts keep the two in step.

An index can be evicted (issue 2: ``maxmemory-policy allkeys-*``). The marker
tells an intact index from a lost or recreated one (``_scripts.STATE``); a
range read of a lost index also lists the live keys of the namespace in that
range (``SCAN``), so that what the index guarded is still found; that
complete pass also relearns the index (every live key of the namespace
becomes a member) and marks it intact, so later reads are fast again.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from cache.backend.redis import _scripts as lua
from cache.backend.redis._connection import RedisConnection
from cache.backend.redis._sides import Call, Side
from cache.backend.validation import (
    RESERVED_PREFIX,
    check_count,
    check_cutoff,
    check_encodable,
    check_index_name,
    check_key,
    check_keys,
    check_scores,
    reserved_key,
)
from cache.errors import CacheTypeError

__all__ = ["RedisIndex"]


def _decoded(names: Any) -> list[str]:
    found = []
    for name in names:
        try:
            found.append(name.decode() if isinstance(name, bytes) else name)
        except UnicodeDecodeError:  # not written by this engine: no key of it
            continue
    return found


def _script(name: str, keys: list[str], args: list[Any]) -> Call:
    return lambda side: side.scripts[name](keys=keys, args=args)


class RedisIndex(RedisConnection):
    """The index part of :class:`~cache.backend.redis.RedisCache`."""

    def _ix(self, index: str) -> list[str]:
        name = self._prefix + reserved_key("idx", "{" + check_index_name(index) + "}")
        return [name + ":lex", name + ":age", name + ":gen"]

    def _index_add(self, index: str, members: Mapping[str, float]) -> Call:
        keys, checked = self._ix(index), check_scores(members)
        args: list[Any] = []
        for member, score in checked.items():
            args += [repr(score), member]
        return lambda side: side.scripts["index_add"](keys=keys, args=args)

    def index_add(self, index: str, members: Mapping[str, float]) -> int:
        """Add members with scores; return how many are new."""
        if not members:
            return 0
        return int(self._run("index_add", self._index_add(index, members), 0))

    async def aindex_add(self, index: str, members: Mapping[str, float]) -> int:
        """Async :meth:`index_add`."""
        if not members:
            return 0
        return int(await self._arun("index_add", self._index_add(index, members), 0))

    def _index_remove(self, index: str, members: Iterable[str]) -> Call | None:
        keys, args = self._ix(index), check_keys(members, "members")
        if not args:
            return None
        return lambda side: side.scripts["index_remove"](keys=keys, args=args)

    def index_remove(self, index: str, members: Iterable[str]) -> int:
        """Remove members; return how many were present."""
        call = self._index_remove(index, members)
        return 0 if call is None else int(self._run("index_remove", call, 0))

    async def aindex_remove(self, index: str, members: Iterable[str]) -> int:
        """Async :meth:`index_remove`."""
        call = self._index_remove(index, members)
        return 0 if call is None else int(await self._arun("index_remove", call, 0))

    def _range(self, index: str, low: bytes, high: bytes, limit: int | None) -> Call:
        keys, args = self._ix(index), [low, high, -1 if limit is None else limit]
        return lambda side: side.scripts["index_range"](keys=keys, args=args)

    def _prefix_call(self, index: str, prefix: str, limit: int | None) -> Call:
        if not isinstance(prefix, str):
            raise CacheTypeError(f"prefix must be a str, got {type(prefix).__name__}")
        limit = check_count(limit, "limit", allow_none=True)
        if not prefix:
            return self._range(index, b"(", b"+", limit)  # "(": past the member ''
        # Bytes: every UTF-8 string starting with prefix sorts below
        # prefix + 0xFF, a byte UTF-8 never uses (a str would encode it as two).
        raw = check_encodable(prefix, "prefix").encode()
        return self._range(index, b"[" + raw, b"(" + raw + b"\xff", limit)

    def _live_keys(self, side: Side, prefix: str) -> list[str]:
        """Return the keys of this namespace starting with ``prefix``, reserved ones apart."""
        match = self._match(prefix)
        names = _decoded(side.client.scan_iter(match=match, count=1000))
        reserved, cut = self._prefix + RESERVED_PREFIX, len(self._prefix)
        return [n[cut:] for n in names if not n.startswith(reserved)]

    def _answer(
        self, index: str, reply: Any, prefix: str, after: str, limit: int | None
    ) -> list[str]:
        """Return the members of a range reply; for a lost index, with the live keys in range."""
        if not reply:
            return []
        state, members = reply
        members = _decoded(members)
        if state not in (b"lost", "lost"):
            return members
        live = [k for k in self._relearn(index) if k.startswith(prefix)]
        merged = sorted({*members, *(k for k in live if k > after)})
        return merged if limit is None else merged[:limit]

    def _relearn(self, index: str) -> list[str]:
        """Return the live keys of the namespace (a ``SCAN``), relearned as the index's members.

        The pass is complete, so the index then holds every key it may have
        held and is marked intact again: later reads take the fast path
        (unless it was evicted again meanwhile). Best effort: a failed step
        leaves it lost, and the next read tries again.
        """
        keys, token = self._ix(index), uuid.uuid4().hex
        began = self._run("index_add", _script("index_begin", keys, [token]), 0, keys=keys[:1])
        live: list[str] = self._run("index_scan", lambda side: self._live_keys(side, ""), [])
        score = repr(time.time())
        for start in range(0, max(len(live), 1), lua.BATCH):
            if not began:
                break
            last = "1" if start + lua.BATCH >= len(live) else "0"
            args = [token, score, last, *live[start : start + lua.BATCH]]
            began = self._run("index_add", _script("index_relearn", keys, args), 0, keys=keys[:1])
        return live

    def index_prefix(self, index: str, prefix: str, limit: int | None = None) -> list[str]:
        """Return members starting with ``prefix`` (``ZRANGEBYLEX``), at most ``limit``.

        If the index was lost, also the live keys of the namespace starting
        with ``prefix`` (a ``SCAN``): the members it may have had.
        """
        call = self._prefix_call(index, prefix, limit)
        return self._answer(index, self._run("index_prefix", call, None), prefix, "", limit)

    async def aindex_prefix(self, index: str, prefix: str, limit: int | None = None) -> list[str]:
        """Async :meth:`index_prefix`."""
        call = self._prefix_call(index, prefix, limit)
        reply = await self._arun("index_prefix", call, None)
        return await asyncio.to_thread(self._answer, index, reply, prefix, "", limit)

    def _scan_call(self, index: str, after: str, count: int) -> Call:
        if not isinstance(after, str):
            raise CacheTypeError(f"after must be a str, got {type(after).__name__}")
        checked = check_count(count, "count")
        return self._range(index, b"(" + check_encodable(after, "after").encode(), b"+", checked)

    def index_scan(self, index: str, after: str = "", count: int = 1000) -> list[str]:
        """Return up to ``count`` members after ``after`` in lexical order.

        If the index was lost, the live keys of the namespace count as members.
        """
        call = self._scan_call(index, after, count)
        return self._answer(index, self._run("index_scan", call, None), "", after, count)

    async def aindex_scan(self, index: str, after: str = "", count: int = 1000) -> list[str]:
        """Async :meth:`index_scan`."""
        call = self._scan_call(index, after, count)
        reply = await self._arun("index_scan", call, None)
        return await asyncio.to_thread(self._answer, index, reply, "", after, count)

    def _script(self, name: str, index: str, arg: Any) -> Call:
        keys = self._ix(index)
        return lambda side: side.scripts[name](keys=keys, args=[arg, lua.BATCH])

    def _batched(self, name: str, index: str, arg: Any) -> int:
        call, total = self._script(name, index, arg), 0
        while True:
            done = int(self._run(name, call, 0))
            total += done
            if done < lua.BATCH:
                return total

    async def _abatched(self, name: str, index: str, arg: Any) -> int:
        call, total = self._script(name, index, arg), 0
        while True:
            done = int(await self._arun(name, call, 0))
            total += done
            if done < lua.BATCH:
                return total

    @staticmethod
    def _cutoff(cutoff: float) -> str:
        return repr(check_cutoff(cutoff))

    def index_remove_below(self, index: str, cutoff: float) -> int:
        """Remove members scored below ``cutoff``, a batch per script call."""
        return self._batched("index_remove_below", index, self._cutoff(cutoff))

    async def aindex_remove_below(self, index: str, cutoff: float) -> int:
        """Async :meth:`index_remove_below`."""
        return await self._abatched("index_remove_below", index, self._cutoff(cutoff))

    def index_trim(self, index: str, max_size: int) -> int:
        """Remove the lowest-scored members beyond ``max_size``."""
        return self._batched("index_trim", index, check_count(max_size, "max_size"))

    async def aindex_trim(self, index: str, max_size: int) -> int:
        """Async :meth:`index_trim`."""
        return await self._abatched("index_trim", index, check_count(max_size, "max_size"))

    def _len(self, index: str) -> Call:
        key = self._ix(index)[0]
        return lambda side: side.client.zlexcount(key, "(", "+")  # the member '' apart

    def index_len(self, index: str) -> int:
        """Return how many members ``index`` has (a lost index: how many since)."""
        return int(self._run("index_len", self._len(index), 0))

    async def aindex_len(self, index: str) -> int:
        """Async :meth:`index_len`."""
        return int(await self._arun("index_len", self._len(index), 0))

    def _score(self, index: str, member: str) -> Call:
        key, member = self._ix(index)[1], check_key(member, "member")
        return lambda side: side.client.zscore(key, member)

    def index_score(self, index: str, member: str) -> float | None:
        """Return the score of ``member`` or None."""
        score = self._run("index_score", self._score(index, member), None)
        return None if score is None else float(score)

    async def aindex_score(self, index: str, member: str) -> float | None:
        """Async :meth:`index_score`."""
        score = await self._arun("index_score", self._score(index, member), None)
        return None if score is None else float(score)
