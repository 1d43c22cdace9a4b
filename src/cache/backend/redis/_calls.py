"""What the parts of RedisCache (index, entries, batch) need of it, defined in redis.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cache._types import Timeout

if TYPE_CHECKING:
    from cache.backend.redis.engine import Call

__all__ = ["RedisPlumbing"]


class RedisPlumbing:
    """Declarations of the plumbing :class:`~cache.backend.redis.RedisCache` defines."""

    _prefix: str
    cluster: bool

    def _k(self, key: str) -> str:
        raise NotImplementedError

    def _ttl_ms(self, timeout: Timeout) -> int | bool | None:
        raise NotImplementedError

    def _dump(self, value: Any) -> bytes:
        raise NotImplementedError

    def _load(self, raw: Any, key: str) -> Any:
        raise NotImplementedError

    def _run(self, name: str, call: Call, fallback: Any, replies: bool = False) -> Any:
        raise NotImplementedError

    async def _arun(self, name: str, call: Call, fallback: Any, replies: bool = False) -> Any:
        raise NotImplementedError
