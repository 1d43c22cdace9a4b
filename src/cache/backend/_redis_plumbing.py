"""What the parts of RedisCache (index, entries, batch) need of it, defined in redis.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cache.backend.redis import Call

__all__ = ["RedisPlumbing"]


class RedisPlumbing:
    """Declarations of the plumbing :class:`~cache.backend.redis.RedisCache` defines."""

    _prefix: str
    cluster: bool

    def _k(self, key: str) -> str:
        raise NotImplementedError

    def _run(self, name: str, call: Call, fallback: Any, replies: bool = False) -> Any:
        raise NotImplementedError

    async def _arun(self, name: str, call: Call, fallback: Any, replies: bool = False) -> Any:
        raise NotImplementedError
