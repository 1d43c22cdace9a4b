"""The record InMemoryCache keeps per key, shared by its dict and its eviction policy."""

from __future__ import annotations

from typing import Any, TypeAlias

__all__ = ["EXPIRES", "FREQ", "KEY", "SIZE", "SLOT", "VALUE", "Record"]

#: One list per key, mutated in place so that the dict and the policy's queues
#: hold the same object: [value, expires_at or None, hits since the policy last
#: looked, key, where the policy keeps it] and, only when the cache bounds its
#: bytes, the value's size. The engine bumps ``FREQ`` on a hit without calling
#: the policy; the policy alone reads and resets it.
Record: TypeAlias = list[Any]
VALUE, EXPIRES, FREQ, KEY, SLOT, SIZE = range(6)
