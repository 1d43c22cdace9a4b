"""The declared type of @cached functions: what mypy sees is what is there at run time."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typing_extensions import get_protocol_members

from cache import cached
from cache.advanced.memo import BoundCached, Cached
from cache.backend import InMemoryCache

#: Every member the declared type promises, read from it: a member added later is checked too.
CACHED_MEMBERS = sorted(get_protocol_members(Cached))
#: What a cached method bound to its instance declares: its public members and the call.
BOUND_MEMBERS = sorted(
    {name for name in vars(BoundCached) if not name.startswith("_")} | {"__call__", "__self__"}
)
#: Members that are settings, with their type; every other one is callable.
SETTINGS = {"timeout": float, "stale_while_revalidate": float, "tags": tuple}


def lookup(number: int, verbose: bool = False) -> str:
    return f"{number} {verbose}"


async def alookup(number: int, verbose: bool = False) -> str:
    return f"{number} {verbose}"


class Directory:
    def lookup(self, number: int, verbose: bool = False) -> str:
        return f"{number} {verbose}"

    @staticmethod
    def slookup(number: int, verbose: bool = False) -> str:
        return f"{number} {verbose}"

    @classmethod
    def clookup(cls, number: int, verbose: bool = False) -> str:
        return f"{number} {verbose}"


def decorated(kind: str) -> tuple[Any, Callable[..., Any]]:
    """Return a @cached function of this kind, as users reach it, and the function it wraps."""
    decorate = cached(timeout=60, tags=["n:{number}"], stale_while_revalidate=5)
    if kind == "sync":
        return decorate(lookup), lookup
    if kind == "async":
        return decorate(alookup), alookup
    namespace: dict[str, Any] = {
        "lookup": decorate(Directory.__dict__["lookup"]),
        "slookup": decorate(Directory.__dict__["slookup"]),
        "clookup": decorate(Directory.__dict__["clookup"]),
    }
    owner = type("Owner", (), namespace)
    if kind == "method from the class":
        return owner.lookup, Directory.lookup
    if kind == "staticmethod":
        return owner().slookup, Directory.slookup
    if kind == "method bound":
        return owner().lookup, Directory.lookup
    return owner().clookup, Directory.__dict__["clookup"].__func__


@pytest.mark.parametrize("member", CACHED_MEMBERS)
@pytest.mark.parametrize("kind", ["sync", "async", "method from the class", "staticmethod"])
def test_every_member_cached_declares_is_there(kind: str, member: str) -> None:
    function, wrapped = decorated(kind)
    assert isinstance(function, Cached)
    value = getattr(function, member)  # an AttributeError here is a broken promise
    if member in SETTINGS:
        assert isinstance(value, SETTINGS[member])
    elif member == "__wrapped__":
        assert value is wrapped
    elif member in ("__name__", "__qualname__"):
        assert value == getattr(wrapped, member)
    else:
        assert callable(value)
    assert function.timeout == 60.0 and function.tags == ("n:{number}",)
    assert function.stale_while_revalidate == 5.0


@pytest.mark.parametrize("member", BOUND_MEMBERS)
@pytest.mark.parametrize("kind", ["method bound", "classmethod"])
def test_every_member_a_bound_method_declares_is_there(kind: str, member: str) -> None:
    function, _ = decorated(kind)
    assert isinstance(function, BoundCached)
    assert hasattr(function, member)


def test_the_declared_members_are_read_from_the_types() -> None:
    assert {"timeout", "key", "invalidate", "refresh", "__call__", "__wrapped__"} <= set(
        CACHED_MEMBERS
    )
    assert {"key", "invalidate", "ainvalidate", "refresh", "__self__"} <= set(BOUND_MEMBERS)


def test_functions_stay_functions_and_coroutine_functions() -> None:
    function, wrapped = decorated("sync")
    afunction, _ = decorated("async")
    assert inspect.isfunction(function) and not inspect.iscoroutinefunction(function)
    assert inspect.iscoroutinefunction(afunction)
    assert inspect.signature(function) == inspect.signature(wrapped)


def test_the_settings_forwarded_are_the_ones_in_use() -> None:
    backend = InMemoryCache()

    @cached(timeout=7, cache=backend)
    def f(n: int) -> int:
        return n

    f(1)
    assert f.timeout == 7.0 and 0 < backend.ttl(f.key(1)) <= 7  # type: ignore[operator]


def test_mypy_keeps_the_signature(tmp_path: Path) -> None:
    from mypy import api

    good = Path(__file__).parent / "decorator_usage.py"
    out, _, status = api.run(["--strict", "--no-incremental", str(good)])
    assert status == 0, out
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from cache import cached\n"
        "@cached(timeout=5)\n"
        "def f(user_id: int) -> str:\n"
        "    return str(user_id)\n"
        "f('one')\n"
        "x: int = f(1)\n"
        "f.timeout = 1.0\n"
    )
    out, _, status = api.run(["--strict", "--no-incremental", str(bad)])
    assert status == 1
    assert 'Argument 1 to "__call__" of "Cached" has incompatible type "str"' in out
    assert 'Incompatible types in assignment (expression has type "str"' in out
    assert 'Property "timeout" defined in "Cached" is read-only' in out


def test_the_function_s_own_attributes_do_not_replace_the_settings() -> None:
    def f(n: int) -> int:
        return n

    f.timeout = "soon"  # type: ignore[attr-defined]  # as another decorator might set
    memoized = cached(timeout=5, cache=InMemoryCache())(f)
    assert memoized.timeout == 5.0 and memoized(1) == 1
