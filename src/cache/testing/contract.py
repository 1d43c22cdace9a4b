"""The backend contract suite every engine passes (needs pytest: the ``dev`` extra).

To run it on an engine, subclass :class:`BackendContract` in a test module and
provide two fixtures: ``backend`` (a fresh, empty engine) and ``advance`` (a
callable that moves the engine's time forward by some seconds).
"""

from __future__ import annotations

import asyncio
import datetime
import math
import threading
from collections.abc import Callable
from typing import Any

import pytest

from cache._types import MISSING
from cache.backend.base import CacheBackend, Claim
from cache.errors import CacheTypeError, CacheValueError, InvalidKeyError, InvalidTimeoutError

__all__ = ["BAD_KEYS", "BAD_TIMEOUTS", "BackendContract"]


#: Keys every engine must refuse, with the error they must raise.
BAD_KEYS: list[tuple[Any, type[Exception]]] = [
    (123, CacheTypeError),
    (None, CacheTypeError),
    (b"bytes", CacheTypeError),
    (["list"], CacheTypeError),
    ("", InvalidKeyError),
    ("x" * 5000, InvalidKeyError),
]
#: Timeouts every engine must refuse.
BAD_TIMEOUTS: list[tuple[Any, type[Exception]]] = [
    ("soon", CacheTypeError),
    (True, CacheTypeError),
    (object(), CacheTypeError),
    (math.nan, InvalidTimeoutError),
]
FALSY_VALUES: list[Any] = [None, 0, 0.0, "", [], {}, False]


class BackendContract:
    """Tests of the protocol's semantics; subclass with ``backend`` and ``advance`` fixtures."""

    #: True for engines whose server drops expired keys itself, so that
    #: ``cleanup_expired`` finds none left to remove.
    native_expiry = False

    # -- get / set --------------------------------------------------------------

    def test_miss_returns_default(self, backend: CacheBackend) -> None:
        assert backend.get("absent") is None
        assert backend.get("absent", "dflt") == "dflt"
        assert backend.get("absent", MISSING) is MISSING

    def test_set_then_get(self, backend: CacheBackend) -> None:
        backend.set("k", {"a": [1, 2]})
        assert backend.get("k") == {"a": [1, 2]}
        backend.set("k", "replaced")
        assert backend.get("k") == "replaced"

    @pytest.mark.parametrize("value", FALSY_VALUES)
    def test_falsy_value_is_a_hit(self, backend: CacheBackend, value: Any) -> None:
        backend.set("k", value)
        assert backend.get("k", MISSING) == value
        assert backend.get("k", MISSING) is not MISSING
        assert backend.has_key("k")

    def test_timeout_expires(self, backend: CacheBackend, advance: Callable[[float], None]) -> None:
        backend.set("short", 1, timeout=1)
        backend.set("long", 2, timeout=datetime.timedelta(seconds=30))
        backend.set("forever", 3, timeout=math.inf)
        assert backend.get("short") == 1
        advance(1.5)
        assert backend.get("short", MISSING) is MISSING
        assert backend.get("long") == 2
        assert backend.get("forever") == 3

    @pytest.mark.parametrize("timeout", [0, -1, -0.5, datetime.timedelta(seconds=-3)])
    def test_non_positive_timeout_stores_nothing_and_removes(
        self, backend: CacheBackend, timeout: Any
    ) -> None:
        backend.set("k", "old")
        backend.set("k", "new", timeout=timeout)
        assert backend.get("k", MISSING) is MISSING
        backend.set("other", "v", timeout=timeout)
        assert backend.get("other", MISSING) is MISSING

    # -- add / delete / touch ------------------------------------------------

    def test_add_only_when_absent(
        self, backend: CacheBackend, advance: Callable[[float], None]
    ) -> None:
        assert backend.add("k", 1, timeout=1) is True
        assert backend.add("k", 2) is False
        assert backend.get("k") == 1
        advance(1.5)
        assert backend.add("k", 3) is True
        assert backend.get("k") == 3

    def test_add_is_atomic_across_threads(self, backend: CacheBackend) -> None:
        wins: list[int] = []
        barrier = threading.Barrier(8)

        def claim(i: int) -> None:
            barrier.wait()
            if backend.add("claim", i, timeout=30):
                wins.append(i)

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(wins) == 1
        assert backend.get("claim") == wins[0]

    def test_delete(self, backend: CacheBackend, advance: Callable[[float], None]) -> None:
        backend.set("k", 1)
        assert backend.delete("k") is True
        assert backend.delete("k") is False
        assert backend.get("k", MISSING) is MISSING
        backend.set("e", 1, timeout=1)
        advance(1.5)
        assert backend.delete("e") is False

    def test_delete_if_equals(self, backend: CacheBackend) -> None:
        assert backend.delete_if_equals("lock", "me") is False
        backend.set("lock", "token-a", timeout=30)
        assert backend.delete_if_equals("lock", "token-b") is False
        assert backend.get("lock") == "token-a"
        assert backend.delete_if_equals("lock", "token-a") is True
        assert backend.get("lock", MISSING) is MISSING

    def test_entries_with_refs(
        self, backend: CacheBackend, advance: Callable[[float], None]
    ) -> None:
        backend.set("ver:a", "1")
        backend.set_entry("page", {"html": "<p>"}, timeout=100, refs=["ver:a", "ver:b"])
        assert backend.get("page") == {"html": "<p>"}  # a plain get sees the value alone
        entry = backend.get_entry("page")
        assert entry.value == {"html": "<p>"}
        assert entry.refs == {"ver:a": "1"}  # ver:b holds nothing
        assert entry.claimed is False
        backend.set("ver:b", 2)
        assert backend.get_entry("page").refs == {"ver:a": "1", "ver:b": 2}
        assert backend.get_entry("absent").value is MISSING
        # A claim is taken only when the entry has little time left, and only once.
        claim = Claim("lock:page", "token-1", timeout=30, when_ttl_below=10)
        assert backend.get_entry("page", claim).claimed is False
        advance(95)
        assert backend.get_entry("page", claim).claimed is True
        other = Claim("lock:page", "token-2", timeout=30, when_ttl_below=10)
        assert backend.get_entry("page", other).claimed is False
        assert backend.delete_if_equals("lock:page", "token-1") is True
        with pytest.raises(CacheTypeError, match="refs"):
            backend.set_entry("x", 1, refs=[3])  # type: ignore[list-item]

    async def test_entries_async(self, backend: CacheBackend) -> None:
        await backend.aset_entry("e", [1, 2], timeout=60, refs=["r"])
        await backend.aset("r", "v")
        entry = await backend.aget_entry("e")
        assert (entry.value, entry.refs) == ([1, 2], {"r": "v"})

    def test_touch(self, backend: CacheBackend, advance: Callable[[float], None]) -> None:
        assert backend.touch("absent", 10) is False
        backend.set("k", 1, timeout=1)
        assert backend.touch("k", 10) is True
        advance(1.5)
        assert backend.get("k") == 1
        assert backend.touch("k", 0) is True
        assert backend.get("k", MISSING) is MISSING

    def test_ttl(self, backend: CacheBackend, advance: Callable[[float], None]) -> None:
        assert backend.ttl("absent") is MISSING
        backend.set("k", 1, timeout=10)
        left = backend.ttl("k")
        assert isinstance(left, float) and 9 < left <= 10
        advance(4)
        left = backend.ttl("k")
        assert isinstance(left, float) and 5 < left <= 6
        advance(7)
        assert backend.ttl("k") is MISSING
        if getattr(backend, "default_timeout", None) is None:  # no default: no expiry
            backend.set("forever", 1)
            assert backend.ttl("forever") is None

    # -- incr ---------------------------------------------------------------------

    def test_incr(self, backend: CacheBackend) -> None:
        assert backend.incr("n") == 1
        assert backend.incr("n", 5) == 6
        assert backend.decr("n", 2) == 4
        assert backend.get("n") == 4

    def test_incr_refuses_non_int_and_keeps_value(self, backend: CacheBackend) -> None:
        backend.set("s", "text")
        with pytest.raises(CacheTypeError, match="int"):
            backend.incr("s")
        assert backend.get("s") == "text"
        with pytest.raises(CacheTypeError, match="delta"):
            backend.incr("n", "1")  # type: ignore[arg-type]
        assert backend.get("n", MISSING) is MISSING

    def test_incr_loses_no_update_across_threads(self, backend: CacheBackend) -> None:
        def bump() -> None:
            for _ in range(200):
                backend.incr("counter")

        threads = [threading.Thread(target=bump) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert backend.get("counter") == 800

    # -- batches and conveniences ----------------------------------------------

    def test_many(self, backend: CacheBackend) -> None:
        backend.set_many({"a": 1, "b": None, "c": 3})
        assert backend.get_many(["a", "b", "c", "zz"]) == {"a": 1, "b": None, "c": 3}
        assert backend.delete_many(["a", "c", "zz"]) == 2
        assert backend.get_many(["a", "b", "c"]) == {"b": None}

    def test_set_many_with_a_bad_key_stores_nothing(self, backend: CacheBackend) -> None:
        with pytest.raises(CacheTypeError):
            backend.set_many({"good": 1, 5: 2})  # type: ignore[dict-item]
        assert backend.get("good", MISSING) is MISSING

    def test_get_or_set(self, backend: CacheBackend) -> None:
        calls: list[int] = []

        def make() -> str:
            calls.append(1)
            return "made"

        assert backend.get_or_set("k", make) == "made"
        assert backend.get_or_set("k", make) == "made"
        assert calls == [1]
        assert "k" in backend

    def test_clear_and_cleanup(
        self, backend: CacheBackend, advance: Callable[[float], None]
    ) -> None:
        backend.set("a", 1, timeout=1)
        backend.set("b", 2, timeout=1)
        backend.set("c", 3)
        advance(1.5)
        assert backend.cleanup_expired() == (0 if self.native_expiry else 2)
        assert backend.get_many(["a", "b", "c"]) == {"c": 3}
        backend.index_add("ix", {"m": 1.0})
        backend.clear()
        assert backend.get("c", MISSING) is MISSING
        assert backend.index_len("ix") == 0

    # -- bad input ------------------------------------------------------------------

    @pytest.mark.parametrize(("key", "error"), BAD_KEYS)
    def test_bad_key_is_refused_and_nothing_lost(
        self, backend: CacheBackend, key: Any, error: type[Exception]
    ) -> None:
        backend.set("keep", "safe")
        backend.set("n", 1)
        calls: list[Callable[[], object]] = [
            lambda: backend.get(key),
            lambda: backend.set(key, 1),
            lambda: backend.add(key, 1),
            lambda: backend.delete(key),
            lambda: backend.delete_if_equals(key, "safe"),
            lambda: backend.touch(key, 5),
            lambda: backend.incr(key),
            lambda: backend.get_many(["keep", key]),
            lambda: backend.index_remove("ix", [key]),
            lambda: backend.index_score("ix", key),
        ]
        for call in calls:
            with pytest.raises(error, match=r"key|member"):
                call()
        assert backend.get("keep") == "safe"
        assert backend.get("n") == 1

    @pytest.mark.parametrize(("timeout", "error"), BAD_TIMEOUTS)
    def test_bad_timeout_is_refused_and_nothing_lost(
        self, backend: CacheBackend, timeout: Any, error: type[Exception]
    ) -> None:
        backend.set("keep", "safe", timeout=60)
        for call in (
            lambda: backend.set("keep", "clobbered", timeout=timeout),
            lambda: backend.add("new", 1, timeout=timeout),
            lambda: backend.touch("keep", timeout),
        ):
            with pytest.raises(error, match="timeout"):
                call()
        assert backend.get("keep") == "safe"
        assert backend.get("new", MISSING) is MISSING

    # -- ordered key index -------------------------------------------------------

    def test_index_add_prefix_scan(self, backend: CacheBackend) -> None:
        members = {f"page:{i:03d}": float(i) for i in range(30)}
        members.update({"post:1": 100.0, "pag": 1.0, "page;": 1.0})
        assert backend.index_add("reg", members) == 33
        assert backend.index_add("reg", {"post:1": 200.0}) == 0  # rescored, not new
        assert backend.index_score("reg", "post:1") == 200.0
        assert backend.index_score("reg", "absent") is None
        assert backend.index_len("reg") == 33
        found = backend.index_prefix("reg", "page:")
        assert found == [f"page:{i:03d}" for i in range(30)]
        assert backend.index_prefix("reg", "page:", limit=3) == found[:3]
        assert list(backend.index_iter("reg", count=7)) == sorted(members)
        assert backend.index_scan("reg", after="page;", count=5) == ["post:1"]
        assert backend.index_len("other") == 0
        assert backend.index_prefix("other", "") == []

    def test_index_remove_below_and_trim(self, backend: CacheBackend) -> None:
        backend.index_add("reg", {f"k{i}": float(i) for i in range(10)})
        assert backend.index_remove_below("reg", 3.0) == 3
        assert backend.index_prefix("reg", "k") == [f"k{i}" for i in range(3, 10)]
        assert backend.index_trim("reg", 4) == 3
        assert backend.index_prefix("reg", "k") == ["k6", "k7", "k8", "k9"]
        assert backend.index_remove("reg", ["k6", "k6", "zz"]) == 1
        assert backend.index_len("reg") == 3

    def test_index_bad_arguments(self, backend: CacheBackend) -> None:
        backend.index_add("reg", {"a": 1.0})
        with pytest.raises(CacheTypeError, match="score"):
            backend.index_add("reg", {"b": "old"})  # type: ignore[dict-item]
        with pytest.raises(CacheTypeError, match="index"):
            backend.index_len(3)  # type: ignore[arg-type]
        with pytest.raises(CacheValueError, match="count"):
            backend.index_scan("reg", count=-1)
        assert backend.index_prefix("reg", "") == ["a"]

    # -- async twins ------------------------------------------------------------

    async def test_async_twins(self, backend: CacheBackend) -> None:
        await backend.aset("k", "v", timeout=60)
        assert await backend.aget("k") == "v"
        assert await backend.aadd("k", "w") is False
        assert await backend.aincr("n", 2) == 2
        assert await backend.adecr("n") == 1
        assert await backend.atouch("k", 30) is True
        left = await backend.attl("k")
        assert isinstance(left, float) and 29 < left <= 30
        assert await backend.attl("absent") is MISSING
        await backend.aset_many({"x": 1, "y": 2})
        assert await backend.aget_many(["x", "y"]) == {"x": 1, "y": 2}
        assert await backend.adelete_many(["x", "y"]) == 2
        assert await backend.ahas_key("k") is True
        assert await backend.aget_or_set("g", lambda: 7) == 7

        async def eight() -> int:
            return 8

        assert await backend.aget_or_set("h", eight) == 8  # an async default is awaited
        assert await backend.aindex_add("ix", {"m:1": 1.0, "m:2": 2.0}) == 2
        assert await backend.aindex_prefix("ix", "m:") == ["m:1", "m:2"]
        assert await backend.aindex_scan("ix") == ["m:1", "m:2"]
        assert await backend.aindex_score("ix", "m:2") == 2.0
        assert await backend.aindex_remove_below("ix", 2.0) == 1
        assert await backend.aindex_trim("ix", 0) == 1
        assert await backend.aindex_add("ix", {"m:3": 3.0}) == 1
        assert await backend.aindex_remove("ix", ["m:3"]) == 1
        assert await backend.aindex_len("ix") == 0
        assert await backend.adelete_if_equals("k", "other") is False
        assert await backend.adelete("k") is True
        assert await backend.acleanup_expired() == 0
        await backend.aclear()
        assert await backend.aget("g") is None

    async def test_async_add_has_one_winner(self, backend: CacheBackend) -> None:
        results = await asyncio.gather(*(backend.aadd("lock", i, timeout=30) for i in range(10)))
        assert results.count(True) == 1
