"""@cached on every engine: keys, tags, SWR, single flight, errors, invalidate, the switch."""

from __future__ import annotations

import asyncio
import datetime
import inspect
import os
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest

import cache
from cache import cached, caching_disabled, set_caching_enabled, set_default_cache
from cache.advanced import CacheTag
from cache.backend import CacheBackend, InMemoryCache, RedisCache
from cache.errors import BackendUnavailableError, CacheTypeError, InvalidTimeoutError
from cache.testing import FakeClock
from cache.testing.redis_server import free_port

calls: Counter[str] = Counter()


@pytest.fixture(autouse=True)
def _reset() -> None:
    calls.clear()
    set_caching_enabled(True)


def test_sync_function_computes_once_and_caches_none(backend: CacheBackend) -> None:
    @cached(timeout=60, cache=backend)
    def find(name: str, exact: bool = True) -> str | None:
        calls[name] += 1
        return None if name == "nobody" else f"{name}!"

    assert find("ada") == "ada!" and find("ada") == "ada!"
    assert find(name="ada", exact=True) == "ada!"  # keywords and defaults: the same key
    assert calls["ada"] == 1
    assert find.key("ada") == find.key(name="ada") == f"{__name__}.{find.__qualname__}:'ada', True"
    assert find("nobody") is None and find("nobody") is None
    assert calls["nobody"] == 1  # a cached None is a hit
    assert find.__name__ == "find" and find.__wrapped__ is not None
    assert inspect.iscoroutinefunction(find) is False


def test_an_async_function_stays_a_coroutine_function() -> None:
    @cached(timeout=60)
    async def load(n: int) -> int:
        return n

    assert inspect.iscoroutinefunction(load)  # frameworks check this to decide to await
    assert load.key(3) == f"{__name__}.{load.__qualname__}:3"


def test_an_empty_cache_given_is_used_not_the_default() -> None:
    mine = InMemoryCache()  # empty, so falsy by len(): must still be the one used

    @cached(timeout=60, cache=mine)
    def f(n: int) -> int:
        return n

    f(1)
    assert mine.get(f.key(1)) == 1


async def test_async_function_computes_once(backend: CacheBackend) -> None:
    @cached(timeout=60, cache=backend)
    async def load(user_id: int) -> dict[str, int]:
        calls[f"load{user_id}"] += 1
        await asyncio.sleep(0.05)
        return {"id": user_id}

    results = await asyncio.gather(*(load(1) for _ in range(5)))  # single flight
    assert results == [{"id": 1}] * 5 and calls["load1"] == 1
    assert await load(1) == {"id": 1} and calls["load1"] == 1
    assert await load.ainvalidate(1) is True
    assert await load(1) == {"id": 1} and calls["load1"] == 2
    assert await load.refresh(1) == {"id": 1} and calls["load1"] == 3


class Users:
    def __init__(self, backend: CacheBackend) -> None:
        self.backend = backend

    @cached(timeout=60, prefix="users.get")
    def get(self, user_id: int) -> str:
        calls[f"user{user_id}"] += 1
        return f"user {user_id}"


def test_methods_leave_self_out_of_the_key(backend: CacheBackend) -> None:
    set_default_cache(backend)
    try:
        first, second = Users(backend), Users(backend)
        assert first.get(7) == "user 7" and second.get(7) == "user 7"
        assert calls["user7"] == 1
        assert first.get.key(7) == "users.get:7" == Users.get.key(first, 7)
        assert second.get.invalidate(7) is True
        assert first.get(7) == "user 7" and calls["user7"] == 2
        assert first.get.refresh(7) == "user 7" and calls["user7"] == 3
    finally:
        set_default_cache(None)


class Catalog:
    @cached(timeout=60, prefix="catalog.load")
    @classmethod
    def load(cls, sku: str) -> str:
        calls[f"{cls.__name__}:{sku}"] += 1
        return f"{cls.__name__} {sku}"

    @cached(timeout=60, prefix="catalog.price")
    @staticmethod
    def price(sku: str) -> int:
        calls[f"price:{sku}"] += 1
        return len(sku)

    @cached(timeout=60, prefix="catalog.aload")
    @classmethod
    async def aload(cls, sku: str) -> str:
        calls[f"a{cls.__name__}:{sku}"] += 1
        return sku


class Shop(Catalog):
    pass


async def test_classmethods_and_staticmethods(backend: CacheBackend) -> None:
    set_default_cache(backend)
    try:
        assert Catalog.load("ab") == "Catalog ab" == Catalog().load("ab")
        assert calls["Catalog:ab"] == 1
        key = Catalog.load.key("ab")
        assert key == f'catalog.load:[["type","{__name__}.Catalog"],"ab"]'
        assert Catalog.load.invalidate("ab") is True
        assert Catalog().load("ab") == "Catalog ab" and calls["Catalog:ab"] == 2
        assert Shop.load("ab") == "Shop ab" and calls["Shop:ab"] == 1  # cls is in the key
        assert Catalog.price("abc") == 3 == Catalog().price("abc") and calls["price:abc"] == 1
        assert Catalog().price.key("abc") == "catalog.price:'abc'"
        assert Catalog.price.invalidate("abc") is True
        assert Catalog.price("abc") == 3 and calls["price:abc"] == 2
        assert await Catalog.aload("x") == "x" == await Catalog().aload("x")
        assert calls["aCatalog:x"] == 1
        assert await Catalog.aload.ainvalidate("x") is True
        assert Catalog.__dict__["load"].__wrapped__.__name__ == "load"
    finally:
        set_default_cache(None)


def test_templated_keys_and_tags(backend: CacheBackend, clock: FakeClock) -> None:
    @cached(
        timeout=600,
        key="profile:{user_id}",
        tags=["user:{user_id}", "profiles"],
        cache=backend,
        clock=clock,
    )
    def profile(user_id: int, verbose: bool = False) -> str:
        calls[f"p{user_id}"] += 1
        return f"profile {user_id} #{calls[f'p{user_id}']}"

    assert profile.key(3) == "profile:3"
    assert profile(3) == "profile 3 #1" and profile(3, verbose=True) == "profile 3 #1"
    profile(4)
    CacheTag(backend).invalidate_tag("user:3")
    assert profile(3) == "profile 3 #2"  # its tag went
    assert profile(4) == "profile 4 #1"  # another user's did not
    CacheTag(backend).invalidate_tag("profiles")
    assert profile(4) == "profile 4 #2"
    assert profile.invalidate(4) is True and profile(4) == "profile 4 #3"


def test_argument_kinds_make_stable_keys(backend: CacheBackend) -> None:
    @cached(timeout=60, cache=backend, prefix="f")
    def f(*items: object, **options: object) -> int:
        calls["f"] += 1
        return len(items) + len(options)

    day = datetime.date(2026, 11, 24)
    assert f({"b": 1, "a": [1, 2]}, {3, 1, 2}, day, flag=None) == 4
    assert f({"a": [1, 2], "b": 1}, {2, 3, 1}, day, flag=None) == 4
    assert calls["f"] == 1  # dict order and set order do not change the key
    key = f.key({"b": 1, "a": [1, 2]}, {3, 1, 2}, day, flag=None)
    assert key == 'f:[[{"a":[1,2],"b":1},["set",[1,2,3]],["date","2026-11-24"]],{"flag":null}]'
    long_key = f.key("x" * 500)
    assert long_key.startswith("f:#") and len(long_key) == 3 + 64
    assert f.key(datetime.date) == 'f:[[["type","datetime.date"]],{}]'  # a class: its path


def test_keys_are_the_same_in_another_process() -> None:
    code = (
        "from cache import cached\n"
        "@cached(timeout=1, prefix='p')\n"
        "def f(a, b=2, *rest, **kw): return 1\n"
        "print(f.key('x', 1.5, frozenset({'q', 'r', 's'}), b'\\x00', k=(1, 'y')))\n"
        "print(f.key('a', True, None))\n"
    )
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        outputs.add(result.stdout)
    assert len(outputs) == 1, outputs
    assert outputs.pop() == (
        'p:["x",1.5,[["set",["q","r","s"]],["bytes","00"]],{"k":[1,"y"]}]\np:["a",true,[null],{}]\n'
    )


def test_stale_while_revalidate(backend: CacheBackend, clock: FakeClock) -> None:
    gate = threading.Event()
    gate.set()

    @cached(timeout=10, stale_while_revalidate=60, cache=backend, clock=clock)
    def report(day: str) -> str:
        calls[day] += 1
        gate.wait(5)
        return f"{day} v{calls[day]}"

    assert report("mon") == "mon v1"
    clock.advance(20)  # stale, within the window
    gate.clear()
    assert [report("mon") for _ in range(3)] == ["mon v1"] * 3  # at once, while it refreshes
    gate.set()
    report.wait_for_refreshes(5)
    assert calls["mon"] == 2  # one background refresh
    assert report("mon") == "mon v2"


def test_concurrent_threads_compute_once_and_share_an_exception(backend: CacheBackend) -> None:
    start = threading.Barrier(6)
    failing = [True]

    @cached(timeout=60, cache=backend)
    def slow(n: int) -> int:
        calls["slow"] += 1
        time.sleep(0.2)
        if failing[0]:
            raise ValueError("the database is down")
        return n * 2

    outcomes: list[object] = []

    def call() -> None:
        start.wait()
        try:
            outcomes.append(slow(21))
        except ValueError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls["slow"] == 1 and outcomes == ["the database is down"] * 6
    failing[0] = False
    assert slow(21) == 42 and calls["slow"] == 2  # the exception was not stored


async def test_async_waiters_get_the_exception(backend: CacheBackend) -> None:
    @cached(timeout=60, cache=backend)
    async def broken(n: int) -> int:
        calls["broken"] += 1
        await asyncio.sleep(0.05)
        raise RuntimeError(f"no {n}")

    results = await asyncio.gather(*(broken(1) for _ in range(4)), return_exceptions=True)
    assert calls["broken"] == 1
    assert [str(r) for r in results] == ["no 1"] * 4


@pytest.mark.parametrize("tagged", [False, True], ids=["plain", "tagged"])
async def test_store_if_keeps_unwanted_results_out(
    backend: CacheBackend, clock: FakeClock, tagged: bool
) -> None:
    found = {1: "ada"}
    tags = ["user:{user_id}"] if tagged else []

    @cached(timeout=60, cache=backend, tags=tags, clock=clock, store_if=lambda v: v is not None)
    def find(user_id: int) -> str | None:
        calls[f"find{user_id}"] += 1
        return found.get(user_id)

    @cached(timeout=60, cache=backend, tags=tags, clock=clock, store_if=lambda v: v is not None)
    async def afind(user_id: int) -> str | None:
        calls[f"afind{user_id}"] += 1
        return found.get(user_id)

    assert find(2) is None and find(2) is None
    assert calls["find2"] == 2  # not found: not stored, asked again
    assert find(1) == "ada" and find(1) == "ada" and calls["find1"] == 1
    assert find.refresh(2) is None and not backend.has_key(find.key(2))
    assert await afind(2) is None and await afind(2) is None and calls["afind2"] == 2
    assert await afind(1) == "ada" and await afind(1) == "ada" and calls["afind1"] == 1
    found[2] = "grace"
    assert find(2) == "grace" and find(2) == "grace" and calls["find2"] == 4


def test_store_if_must_be_callable() -> None:
    with pytest.raises(CacheTypeError, match="store_if must be callable"):
        cached(timeout=5, store_if=True)(lambda: 1)  # type: ignore[arg-type]


def test_the_global_switch(backend: CacheBackend) -> None:
    @cached(timeout=60, cache=backend)
    def f(n: int) -> int:
        calls["f"] += 1
        return n

    f(1)
    with caching_disabled():
        f(1)
        f(1)
    assert calls["f"] == 3
    f(1)
    assert calls["f"] == 3  # on again: a hit
    set_caching_enabled(False)
    try:
        f(1)
        assert calls["f"] == 4 and not cache.caching_enabled()
    finally:
        set_caching_enabled(True)  # the switch is process-wide: later tests need it on


def test_bad_arguments_are_refused_clearly() -> None:
    with pytest.raises(InvalidTimeoutError, match="timeout must be a positive"):
        cached(timeout=-1)(lambda: 1)
    with pytest.raises(CacheTypeError, match="stale_while_revalidate must be a number"):
        cached(stale_while_revalidate="60")(lambda: 1)  # type: ignore[arg-type]
    with pytest.raises(CacheTypeError, match=r"names \['uid'\], which are not arguments"):

        @cached(key="user:{uid}")
        def f(user_id: int) -> int:
            return user_id

    with pytest.raises(CacheTypeError, match="must name arguments"):
        cached(tags=["t:{}"])(lambda x: x)
    with pytest.raises(CacheTypeError, match="with parentheses"):
        cached(lambda: 1)  # type: ignore[arg-type]

    @cached(timeout=1, cache=InMemoryCache())
    def g(thing: object) -> int:
        return 1

    with pytest.raises(CacheTypeError, match=r"object, which has no stable key.*key="):
        g(object())
    with pytest.raises(TypeError, match="missing a required argument"):
        g()  # type: ignore[call-arg]


def test_the_default_cache_comes_from_cache_url(monkeypatch: pytest.MonkeyPatch) -> None:
    set_default_cache(None)
    monkeypatch.setenv("CACHE_URL", "memory://?max_entries=123")
    try:
        default = cache.get_default_cache()
        assert isinstance(default, InMemoryCache) and default.max_entries == 123
    finally:
        set_default_cache(None)


@pytest.mark.parametrize("tagged", [False, True], ids=["plain", "tagged"])
async def test_a_backend_outage_computes_instead_of_failing(tagged: bool) -> None:
    down = RedisCache(f"redis://127.0.0.1:{free_port()}/0", connect_timeout=0.05)
    tags = ["t:{n}"] if tagged else []

    @cached(timeout=60, cache=down, tags=tags, stale_while_revalidate=10 if tagged else 0)
    def double(n: int) -> int:
        calls[f"double{n}"] += 1
        return 2 * n

    @cached(timeout=60, cache=down, tags=tags)
    async def adouble(n: int) -> int:
        calls[f"adouble{n}"] += 1
        return 2 * n

    assert [double(4), double(4)] == [8, 8] and calls["double4"] == 2  # misses, no errors
    assert [await adouble(4), await adouble(4)] == [8, 8] and calls["adouble4"] == 2
    with pytest.raises(BackendUnavailableError, match="not applied"):
        double.invalidate(4)  # a lost invalidation is never a quiet False (issue 1)
    assert down.errors > 0  # counted
    await down.aclose()
