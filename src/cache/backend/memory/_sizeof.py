"""The default ``sizeof`` of ``InMemoryCache(max_bytes=...)``: a fast estimate of memory."""

from __future__ import annotations

import sys
import types
from collections import deque
from typing import Any

__all__ = ["estimate"]

_getsizeof = sys.getsizeof
#: Values that hold no other Python objects: their size is their own.
_LEAVES = frozenset({str, bytes, int, float, bool, type(None), complex, bytearray})
#: Objects counted by their own size only: walking a class's or a module's
#: ``__dict__`` would count what the value merely refers to (its code, its module).
_OPAQUE = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
)
_SEQUENCES = (list, tuple, set, frozenset, deque)


def _slot_values(obj: Any) -> list[Any]:
    values = []
    for cls in type(obj).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__") and hasattr(obj, name):
                values.append(getattr(obj, name))
    return values


def estimate(value: Any) -> int:
    """Return ``sys.getsizeof`` of ``value`` and of every object it reaches, each counted once.

    Containers (lists, tuples, sets, dicts, deques) are walked, and so are
    instances through their ``__dict__`` and ``__slots__`` (dataclasses,
    Pydantic models); classes, modules and functions count their own size
    only. An estimate, not a measure: shared objects such as interned strings
    count in every value that holds them, so the sum errs on the high side.
    A bytes value (what ``CopyingCache`` stores) costs one call.
    """
    if type(value) in _LEAVES:
        return _getsizeof(value)
    leaves, seen = _LEAVES, set()
    total, stack = 0, [value]
    while stack:
        obj = stack.pop()
        if type(obj) in leaves:
            total += _getsizeof(obj)
            continue
        if id(obj) in seen:  # a cycle, or one object held twice
            continue
        seen.add(id(obj))  # every object seen stays alive in ``value``: its id is not reused
        total += _getsizeof(obj)
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, _SEQUENCES):
            stack.extend(obj)
        elif not isinstance(obj, _OPAQUE):
            attributes = getattr(obj, "__dict__", None)
            if type(attributes) is dict:
                stack.append(attributes)
            stack.extend(_slot_values(obj))
    return total
