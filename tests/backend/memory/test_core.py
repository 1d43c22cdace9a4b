"""The compiled core (``_core.py``, bound by ``_native.py``): the pure engine's semantics, safely.

``scripts/test`` runs this folder twice: on the pure engine (the source tree)
and on a compiled build (``scripts/build-compiled``, ``PYTHONPATH``) with
``TAGCACHE_EXPECT_COMPILED=1``. Without that variable the compiled-only checks
are skipped; the core's semantics are still checked there, with the module
interpreted and bound by hand.
"""

from __future__ import annotations

import copy
import os
import pickle
import random
import subprocess
import sys
import threading
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import pytest

from cache.backend import InMemoryCache
from cache.backend.base import CacheBackend
from cache.backend.memory import _core, _native
from cache.backend.validation import MAX_KEY_LENGTH
from cache.errors import CacheError, CacheTypeError, InvalidKeyError
from cache.testing import FakeClock

COMPILED = _native.COMPILED
EXPECTED = os.environ.get("TAGCACHE_EXPECT_COMPILED", "")
needs_compiled = pytest.mark.skipif(not COMPILED, reason="the pure engine runs here")


def with_core(cache: InMemoryCache) -> InMemoryCache:
    """Return ``cache`` with a core's get and set bound, compiled or not."""
    if "get" not in vars(cache):
        vars(cache)["_core"] = _native.bind_core(cache, _core)
    return cache


def pure(cache: InMemoryCache) -> InMemoryCache:
    """Return ``cache`` with the class's own (pure-Python) get and set."""
    vars(cache).pop("get", None)
    vars(cache).pop("set", None)
    vars(cache)["_core"] = None
    return cache


def test_the_build_is_the_one_expected() -> None:
    if EXPECTED:
        assert COMPILED is (EXPECTED == "1")
    assert str(_core.__file__).endswith(".py") is not COMPILED or "TAGCACHE_PURE" in os.environ
    assert InMemoryCache(2).info()["compiled"] is COMPILED


def test_the_core_knows_the_key_limit() -> None:
    assert _core._MAX_KEY == MAX_KEY_LENGTH


@needs_compiled
def test_get_and_set_are_the_cores_own_c_methods() -> None:
    cache = InMemoryCache(4)
    assert type(cache.get).__name__ == "builtin_function_or_method"
    assert type(cache.set).__name__ == "builtin_function_or_method"
    assert type(cache._core).__name__ == "Core"


def test_the_pure_engine_can_be_forced() -> None:
    code = "from cache.backend import InMemoryCache; print(InMemoryCache(2).info()['compiled'])"
    env = {**os.environ, "TAGCACHE_PURE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def _run(cache: InMemoryCache, op: tuple[Any, ...]) -> Any:
    name, *args = op
    try:
        if name == "advance":
            cache._clock.advance(args[0])  # type: ignore[attr-defined]
            return None
        if name == "default_timeout":
            cache.default_timeout = args[0]
            return None
        return getattr(cache, name)(*args)
    except (CacheError, ReferenceError) as exc:
        return type(exc), str(exc)


KEYS = ["a", "b", "c", "d", "e", "f"]
BAD_KEYS: list[Any] = [1, None, b"a", "", "x" * (MAX_KEY_LENGTH + 1), [], ("a",)]
TIMEOUTS: list[Any] = [None, None, 1, 2.5, 0, -1, 0.0, True, float("inf"), 10**30, "1"]


def _ops(rng: random.Random, n: int) -> list[tuple[Any, ...]]:
    ops: list[tuple[Any, ...]] = []
    for _ in range(n):
        roll = rng.random()
        key = rng.choice(KEYS) if rng.random() > 0.05 else rng.choice(BAD_KEYS)
        if roll < 0.4:
            ops.append(("get", key, rng.choice([None, "dflt"])))
        elif roll < 0.8:
            ops.append(("set", key, rng.randrange(100), rng.choice(TIMEOUTS)))
        elif roll < 0.88:
            ops.append(("advance", rng.choice([0.5, 1.0, 3.0])))
        elif roll < 0.92:
            ops.append(("delete", rng.choice(KEYS)))
        elif roll < 0.95:
            ops.append(("default_timeout", rng.choice([None, 2.0])))
        else:
            ops.append(("incr", rng.choice(KEYS)))
    return ops


@pytest.mark.parametrize("bounded", [False, True], ids=["entries", "bytes"])
@pytest.mark.parametrize("seed", range(6))
def test_the_core_does_what_the_pure_engine_does(seed: int, bounded: bool) -> None:
    """Random calls on a cache with the core and one without; same results, same records."""

    def make() -> InMemoryCache:
        limits: dict[str, Any] = {"max_bytes": 2_000} if bounded else {}
        cache = InMemoryCache(4, clock=FakeClock(), **limits)
        cache._policy = type(cache._policy)(4, seed=seed)  # type: ignore[call-arg]  # same evictions
        return cache

    fast, slow = with_core(make()), pure(make())
    for op in _ops(random.Random(seed), 400):
        assert _run(fast, op) == _run(slow, op), op
        assert fast._data == slow._data, op
        assert fast.info() | {"compiled": None} == slow.info() | {"compiled": None}


def test_bad_keys_raise_the_librarys_errors() -> None:
    cache = with_core(InMemoryCache(4))
    for key in (123, None, b"k", [], {}, ("a",)):
        with pytest.raises(CacheTypeError):
            cache.get(key)  # type: ignore[arg-type]
        with pytest.raises(CacheTypeError):
            cache.set(key, 1)  # type: ignore[arg-type]
    for key in ("", "x" * (MAX_KEY_LENGTH + 1)):
        with pytest.raises(InvalidKeyError):
            cache.get(key)
        with pytest.raises(InvalidKeyError):
            cache.set(key, 1)
    cache.set("k", 1)

    class Key(str):
        pass

    assert cache.get(Key("k")) == 1  # a str subclass is a key, as on the pure engine
    cache.set(Key("j"), 2)
    assert type(next(k for k in cache._data if k == "j")) is str


def test_expiry_follows_the_injected_clock() -> None:
    clock = FakeClock()
    cache = with_core(InMemoryCache(8, default_timeout=5, clock=clock))
    cache.set("a", 1)
    cache.set("b", 2, timeout=20)
    cache.set("c", 3, timeout=None)
    clock.advance(4.9)
    assert cache.get("a") == 1
    clock.advance(0.2)
    assert cache.get("a", "gone") == "gone"
    assert "a" not in cache._data  # removed by the engine's own expiry path
    cache.default_timeout = 1  # the core sees the new default
    cache.set("d", 4)
    clock.advance(1.5)
    assert cache.get("d") is None
    assert cache.get("b") == 2
    assert cache._data["b"][2] >= 1  # a hit counted for the eviction policy


def _lives(cache_ref: Callable[[], object]) -> bool:
    return cache_ref() is not None


def test_a_weak_reference_dies_with_the_cache_at_once() -> None:
    for _ in range(200):
        cache = with_core(InMemoryCache(4))
        cache.set("a", [1])
        assert cache.get("a") == [1]
        ref = weakref.ref(cache)
        del cache
        assert not _lives(ref)  # no cycle: freed without a collection


def test_the_sweeper_runs_and_stops_with_its_cache() -> None:
    clock = FakeClock()
    cache = InMemoryCache(clock=clock, sweep_interval=0.01)
    cache.set("a", 1, timeout=1)
    clock.advance(2)
    done = threading.Event()
    for _ in range(500):
        if not cache._data:
            done.set()
            break
        threading.Event().wait(0.01)
    assert done.is_set()
    threads = {t for t in threading.enumerate() if t.name == "cache-sweeper"}
    ref = weakref.ref(cache)
    del cache
    assert ref() is None
    for thread in threads:
        thread.join(timeout=5)
    assert not any(t.is_alive() for t in threads if t not in threading.enumerate())


def test_isinstance_tells_this_engine_from_the_others() -> None:
    class Other(CacheBackend):  # abstract: never made, only checked
        pass

    assert issubclass(Other, CacheBackend)
    assert not issubclass(Other, InMemoryCache)
    assert isinstance(InMemoryCache(2), CacheBackend)
    assert not isinstance(object(), InMemoryCache)


def test_a_subclass_keeps_its_override_and_the_core_keeps_the_rest() -> None:
    class Counting(InMemoryCache):
        reads = 0

        def get(self, key: str, default: object = None) -> object:
            self.reads += 1
            return super().get(key, default)

    cache = Counting(4)
    cache.set("a", 1)
    assert cache.get("a") == 1
    assert "a" in cache
    assert cache.reads == 2
    assert "get" not in vars(cache)
    assert ("set" in vars(cache)) is COMPILED

    class Plain(InMemoryCache):
        pass

    plain = Plain(4)
    plain.set("a", 1)
    assert plain.get("a") == 1
    assert plain.info()["compiled"] is COMPILED


def test_copies_and_pickles_behave_as_on_the_pure_engine() -> None:
    cache = with_core(InMemoryCache(4))
    cache.set("a", [1])
    deep = copy.deepcopy(cache)
    deep.set("a", [2])
    deep.set("b", 3)
    assert cache.get("a") == [1] and cache.get("b") is None
    assert deep.get("a") == [2] and deep.get("b") == 3
    assert deep.info()["compiled"] is COMPILED
    shallow = copy.copy(cache)
    assert shallow.get("a") == [1] and shallow._data is cache._data
    for one in (cache, pure(InMemoryCache(4))):
        with pytest.raises(TypeError, match=r"cannot pickle '_thread\.lock' object"):
            pickle.dumps(one)


def test_threads_share_one_cache() -> None:
    cache = with_core(InMemoryCache(50))
    errors: list[BaseException] = []
    keys = [f"k{i}" for i in range(80)]  # more than it holds: eviction races with hits

    def work(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(20_000):
                key = rng.choice(keys)
                if rng.random() < 0.5:
                    value = cache.get(key)
                    assert value is None or value[0] == key
                else:
                    cache.set(key, (key, seed), rng.choice([None, 60]))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    assert len(cache) <= 50
    assert all(record[3] == key for key, record in cache._data.items())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_forked_child_uses_its_copy() -> None:
    cache = with_core(InMemoryCache(8))
    cache.set("a", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads
        pid = os.fork()
    if pid == 0:  # the child: report by exit status only
        ok = cache.get("a") == 1
        cache.set("a", 2)
        cache.set("b", 3)
        ok = ok and cache.get("a") == 2 and cache.get("b") == 3
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert cache.get("a") == 1 and cache.get("b") is None


def test_a_kept_bound_method_outlives_its_cache() -> None:
    """As a bound method keeps its object: the core's keep the entries, and free them after."""

    class Value:
        pass

    cache = with_core(InMemoryCache(2, clock=FakeClock()))
    cache.set("a", 1)
    clock = cache._clock
    get, set_ = cache.get, cache.set
    del cache
    assert get("a") == 1
    set_("a", 2)
    set_("b", 3, timeout=5)  # a new key: the engine's own insert
    assert [get(k) for k in "ab"] == [2, 3]
    set_("c", 4)  # and an eviction (max_entries=2)
    assert sum(get(k) is not None for k in "abc") == 2
    clock.advance(10)  # type: ignore[attr-defined]
    assert get("b", "expired") == "expired"  # the engine's own expiry path
    del get
    value = Value()
    set_("w", value)
    ref = weakref.ref(value)
    del value, set_
    assert ref() is None  # the last method gone: the entries go at once


def test_a_dropped_cache_frees_its_entries_at_once() -> None:
    class Value:
        pass

    for bound in (with_core, pure):
        cache = bound(InMemoryCache(4))
        value = Value()
        cache.set("a", value)
        assert cache.get("a") is value
        ref = weakref.ref(value)
        del cache, value
        assert ref() is None, bound


def test_a_subclass_shadowing_default_timeout_still_works() -> None:
    class Shadowing(InMemoryCache):
        default_timeout = 30  # a plain class attribute in place of the descriptor

    cache = with_core(Shadowing(4))
    cache.set("a", 1)
    assert cache.get("a") == 1


def test_info_says_compiled_only_where_the_core_runs() -> None:
    class Both(InMemoryCache):
        def get(self, key: str, default: Any = None) -> Any:
            return super().get(key, default)

        def set(self, key: str, value: Any, timeout: Any = None) -> Any:
            return super().set(key, value, timeout)

    assert Both(4).info()["compiled"] is False
    assert with_core(InMemoryCache(4)).info()["compiled"] is True


def test_a_copy_keeps_a_get_the_user_put_on_the_instance() -> None:
    cache = with_core(InMemoryCache(4))
    cache.get = lambda key, default=None: "wrapped"  # type: ignore[method-assign]
    assert copy.copy(cache).get("x") == "wrapped"
    assert copy.copy(with_core(InMemoryCache(4))).info()["compiled"] is COMPILED
