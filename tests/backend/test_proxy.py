"""ProxyBackend forwards every method of the protocol to the engine it wraps.

The walk below lists the methods from ``CacheBackend`` itself: a method added
to the protocol fails here until ``ProxyBackend`` forwards it and ``CALLS``
says how to call it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from cache.backend import CacheBackend, InMemoryCache, ProxyBackend, RedisCache
from cache.errors import CacheTypeError
from cache.testing import FakeClock
from cache.testing.contract import BackendContract
from cache.testing.redis_server import RedisServer

#: Every public method of the protocol (``key in cache`` included), sync and async.
METHODS = sorted(
    name
    for name, member in vars(CacheBackend).items()
    if inspect.isfunction(member) and (not name.startswith("_") or name == "__contains__")
)
ASYNC = {name for name in METHODS if inspect.iscoroutinefunction(getattr(CacheBackend, name))}

#: One call of each sync method, every argument given, on an engine holding
#: what ``seed`` stores; an async twin is called with the arguments of its sync method.
CALLS: dict[str, tuple[Any, ...]] = {
    "get": ("k", "default"),
    "set": ("k", 2, 60),
    "add": ("new", 1, 60),
    "delete": ("k",),
    "delete_if_equals": ("k", 1),
    "lease": ("lock", "token", 5),
    "touch": ("k", 120),
    "ttl": ("k",),
    "incr": ("n", 2),
    "set_entry": ("e", 1, 60, ("k",)),
    "get_entry": ("k", None),
    "clear": (),
    "cleanup_expired": (),
    "index_add": ("i", {"c": 3.0}),
    "index_remove": ("i", ["a"]),
    "index_prefix": ("i", "a", 5),
    "index_scan": ("i", "", 10),
    "index_remove_below": ("i", 1.5),
    "index_trim": ("i", 1),
    "index_len": ("i",),
    "index_score": ("i", "a"),
    "index_iter": ("i", 10),
    "get_many": (["k", "absent"],),
    "set_many": ({"k": 2, "m": 3}, 60),
    "delete_many": (["k", "absent"],),
    "has_key": ("k",),
    "__contains__": ("k",),
    "decr": ("n", 2),
    "get_or_set": ("absent", 5, 60),
    "info": (),
    "close": (),
}


def call_args(name: str) -> tuple[Any, ...]:
    """Return the arguments ``CALLS`` gives ``name`` (or its sync method)."""
    sync = name[1:] if name in ASYNC else name
    assert sync in CALLS, f"CacheBackend.{sync} is new: add a call of it to CALLS"
    return CALLS[sync]


async def call(target: CacheBackend, name: str) -> Any:
    """Call ``name`` on ``target`` with its ``CALLS`` arguments; await it if async."""
    result = getattr(target, name)(*call_args(name))
    return await result if inspect.isawaitable(result) else result


def seed(engine: CacheBackend) -> None:
    """Store what the calls of ``CALLS`` find: a value, a counter, an index."""
    engine.set("k", 1, 60)
    engine.set("n", 5, 60)
    engine.index_add("i", {"a": 1.0, "b": 2.0})


def spied(engine_class: type[CacheBackend]) -> type[CacheBackend]:
    """Return a subclass of ``engine_class`` logging each protocol call in ``calls``.

    Each is logged with its arguments and its result, once it returned.
    """

    def spy(name: str) -> Callable[..., Any]:
        original = getattr(engine_class, name)
        if inspect.iscoroutinefunction(original):

            async def twin(self: Any, *args: Any) -> Any:
                result = await original(self, *args)
                self.calls.append((name, args, result))
                return result

            return twin

        def method(self: Any, *args: Any) -> Any:
            result = original(self, *args)
            self.calls.append((name, args, result))
            return result

        return method

    namespace: dict[str, Any] = {name: spy(name) for name in METHODS}
    namespace["calls"] = []
    return type(f"Spied{engine_class.__name__}", (engine_class,), namespace)


def test_every_method_of_the_protocol_is_forwarded() -> None:
    missing = [name for name in METHODS if name not in vars(ProxyBackend)]
    assert missing == [], f"forward these in ProxyBackend: {missing}"


def test_the_walk_sees_primitives_derived_methods_and_twins() -> None:
    assert {"get", "index_score", "get_many", "__contains__", "index_iter", "info", "close"} <= set(
        METHODS
    )
    assert {"aget", "aget_many", "aget_or_set", "aindex_score", "aclose"} <= ASYNC


@pytest.fixture
def memory_engine() -> Iterator[CacheBackend]:
    engine = spied(InMemoryCache)()
    yield engine
    engine.close()


@pytest.fixture
def redis_engine(redis_server: RedisServer, redis_client: redis.Redis) -> CacheBackend:
    return spied(RedisCache)(redis_server.url, namespace="proxy", strict=True)  # clear() needs one


@pytest.mark.parametrize("engine_fixture", ["memory_engine", "redis_engine"])
@pytest.mark.parametrize("name", METHODS)
async def test_a_call_reaches_the_same_method_of_the_engine(
    name: str, engine_fixture: str, request: pytest.FixtureRequest
) -> None:
    engine: Any = request.getfixturevalue(engine_fixture)
    try:
        seed(engine)
        engine.calls = []
        result = await call(ProxyBackend(engine), name)
        calls = [(args, returned) for called, args, returned in engine.calls if called == name]
        assert [args for args, _ in calls] == [call_args(name)], f"{name} was not forwarded"
        assert result is calls[0][1]  # the engine's answer, untouched
    finally:
        await engine.aclose()  # an async client belongs to this test's event loop


def test_a_wrapper_overrides_only_what_it_changes() -> None:
    class Prefixed(ProxyBackend):
        def get(self, key: str, default: Any = None) -> Any:
            return self.cache.get("p:" + key, default)

    engine = InMemoryCache()
    engine.set("p:k", "prefixed")
    engine.set("k", "plain")
    wrapper = Prefixed(engine)
    assert wrapper.get("k") == "prefixed"
    assert wrapper.get_many(["k"]) == {"k": "plain"}  # the engine's own get_many, unchanged
    assert wrapper.cache is engine


def test_the_wrapped_engine_must_be_a_backend() -> None:
    with pytest.raises(CacheTypeError, match="cache must be a CacheBackend, got dict"):
        ProxyBackend({})  # type: ignore[arg-type]


@pytest.fixture
def backend(clock: FakeClock) -> Iterator[CacheBackend]:
    engine = InMemoryCache(max_entries=100_000, clock=clock)
    yield ProxyBackend(engine)
    engine.close()


@pytest.fixture
def advance(clock: FakeClock) -> Callable[[float], None]:
    return clock.advance


class TestProxyContract(BackendContract):
    """The whole contract, through a proxy over the embedded engine."""
