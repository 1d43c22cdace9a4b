"""The hot paths: the plain function ``@cached`` returns for a function, sync or async.

A function call costs less than an instance's ``__call__``, and an ``async
def`` stays one for frameworks that check ``inspect.iscoroutinefunction``.
A hit on simple positional arguments, every parameter given, costs one
``repr`` and one backend read; every other call goes to :class:`Memo`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

from cache._types import MISSING
from cache.advanced.memo._guard import MARK, MARK_END
from cache.advanced.memo._keys import SIMPLE
from cache.advanced.memo._memo import Memo
from cache.advanced.memo._protocol import FORWARDED, Cached
from cache.advanced.memo._state import State, get_default_cache

__all__ = ["plain_function"]

P = ParamSpec("P")
R = TypeVar("R")


def plain_function(memo: Memo[P, R]) -> Cached[P, R]:
    """Return a plain function doing what calling ``memo`` does, carrying its members."""
    wrapper = _async_function(memo) if memo.is_async else _sync_function(memo)
    functools.update_wrapper(wrapper, memo.func)
    for name in FORWARDED:
        setattr(wrapper, name, getattr(memo, name))
    # A function cannot be annotated with attributes; the tests check that it has
    # every member Cached declares.
    return cast("Cached[P, R]", wrapper)


def _simple_key(head: str, count: int) -> Callable[[tuple[Any, ...]], str | None]:
    """Return the key builder of calls whose arguments all have simple types (else None)."""
    simple = SIMPLE

    def simple_key(args: tuple[Any, ...]) -> str | None:
        if count == 1:
            return head + repr(args[0]) if type(args[0]) in simple else None
        for arg in args:
            if type(arg) not in simple:
                return None
        return head + ", ".join(map(repr, args))

    return simple_key


def _sync_function(memo: Memo[Any, Any]) -> Callable[..., Any]:
    call, head, count = memo.call, memo.key_head, memo.arg_count
    # No hit before the return annotation is read (see _returns.py): the first call does it.
    pending = memo.types_pending
    fast = memo.fast and not pending
    simple, missing, state, limit = SIMPLE, MISSING, State, memo.readable_max
    mark, past = MARK, MARK_END
    fixed_get = None if memo.cache is None else memo.cache.get
    simple_key = _simple_key(head, count)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal fast, pending
        if fast and not kwargs and len(args) == count and state.enabled:
            # Inlined simple_key: this is the path a sync hit takes.
            if count == 1:
                key = head + repr(args[0]) if type(args[0]) in simple else None
            else:
                key = simple_key(args)
            if key is not None and len(key) <= limit:
                get = fixed_get or get_default_cache().get
                value = get(key, missing)
                # Not an invalidation's mark (issue 11): two comparisons, cheaper than
                # startswith (+45 ns instead of +65 for the test alone, timeit); a hit
                # returning an int costs about +15 ns, a str about +90.
                if value is not missing and (type(value) is not str or not mark <= value < past):
                    return value
        if pending and state.enabled:
            memo.learn_types()
            pending, fast = False, memo.fast
        return call(args, kwargs)

    return wrapper


def _async_function(memo: Memo[Any, Any]) -> Callable[..., Any]:
    func, acall, count = memo.func, memo.acall, memo.arg_count
    pending = memo.types_pending
    fast = memo.fast and not pending
    missing, state, limit = MISSING, State, memo.readable_max
    mark, past = MARK, MARK_END
    fixed_aget = None if memo.cache is None else memo.cache.aget
    simple_key = _simple_key(memo.key_head, count)

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal fast, pending
        if fast and not kwargs and len(args) == count and state.enabled:
            key = simple_key(args)
            if key is not None and len(key) <= limit:
                aget = fixed_aget or get_default_cache().aget
                value = await aget(key, missing)
                if value is not missing and (type(value) is not str or not mark <= value < past):
                    return value
        if not state.enabled:
            return await func(*args, **kwargs)
        if pending:
            memo.learn_types()
            pending, fast = False, memo.fast
        return await acall(args, kwargs)

    return wrapper
