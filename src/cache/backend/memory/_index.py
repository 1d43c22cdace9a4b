"""InMemoryCache's ordered key index: named SortedIndex objects under the write lock."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from cache.backend.memory._locks import WriteLock
from cache.backend.memory._sorted_index import SortedIndex
from cache.backend.validation import (
    check_count,
    check_cutoff,
    check_index_name,
    check_key,
    check_keys,
    check_scores,
)
from cache.errors import CacheTypeError

__all__ = ["MemoryIndexMixin"]


class MemoryIndexMixin:
    """The index half of :class:`~cache.backend.memory.InMemoryCache`."""

    _lock: WriteLock
    _indexes: dict[str, SortedIndex]

    def _index(self, index: str) -> SortedIndex:
        found = self._indexes.get(index)
        if found is None:
            found = self._indexes[index] = SortedIndex()
        return found

    def index_add(self, index: str, members: Mapping[str, float]) -> int:
        """Add members with scores; return how many are new."""
        index = check_index_name(index)
        checked = check_scores(members)
        with self._lock:
            return self._index(index).add(checked)

    def index_remove(self, index: str, members: Iterable[str]) -> int:
        """Remove members; return how many were present."""
        index = check_index_name(index)
        checked = check_keys(members, "members")
        with self._lock:
            found = self._indexes.get(index)
            return 0 if found is None else found.remove(checked)

    def index_prefix(self, index: str, prefix: str, limit: int | None = None) -> list[str]:
        """Return members starting with ``prefix`` in order, at most ``limit``."""
        index = check_index_name(index)
        if not isinstance(prefix, str):
            raise CacheTypeError(f"prefix must be a str, got {type(prefix).__name__}")
        limit = check_count(limit, "limit", allow_none=True)
        with self._lock:
            found = self._indexes.get(index)
            return [] if found is None else found.prefix(prefix, limit)

    def index_scan(self, index: str, after: str = "", count: int = 1000) -> list[str]:
        """Return up to ``count`` members after ``after`` in lexical order."""
        index = check_index_name(index)
        if not isinstance(after, str):
            raise CacheTypeError(f"after must be a str, got {type(after).__name__}")
        checked = check_count(count, "count")
        assert checked is not None
        with self._lock:
            found = self._indexes.get(index)
            return [] if found is None else found.scan(after, checked)

    def index_remove_below(self, index: str, cutoff: float) -> int:
        """Remove members scored below ``cutoff``; return how many."""
        index = check_index_name(index)
        cutoff = check_cutoff(cutoff)
        with self._lock:
            found = self._indexes.get(index)
            return 0 if found is None else found.remove_below(float(cutoff))

    def index_trim(self, index: str, max_size: int) -> int:
        """Remove the lowest-scored members beyond ``max_size``; return how many."""
        index = check_index_name(index)
        checked = check_count(max_size, "max_size")
        assert checked is not None
        with self._lock:
            found = self._indexes.get(index)
            return 0 if found is None else found.trim(checked)

    def index_len(self, index: str) -> int:
        """Return how many members ``index`` has."""
        index = check_index_name(index)
        found = self._indexes.get(index)
        return 0 if found is None else len(found)

    def index_score(self, index: str, member: str) -> float | None:
        """Return the score of ``member`` or None."""
        index = check_index_name(index)
        member = check_key(member, "member")
        found = self._indexes.get(index)
        return None if found is None else found.score(member)
