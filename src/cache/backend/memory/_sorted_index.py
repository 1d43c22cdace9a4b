"""In-memory ordered key index: members ordered by name and by score."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sortedcontainers import SortedList

__all__ = ["SortedIndex"]


class SortedIndex:
    """Members with scores; prefix ranges in O(log n + k), age cleanup in O(log n + k).

    Not thread-safe on its own: the engine calls it under its write lock.
    """

    __slots__ = ("_by_name", "_by_score", "_scores")

    def __init__(self) -> None:
        self._scores: dict[str, float] = {}
        self._by_name: SortedList = SortedList()
        self._by_score: SortedList = SortedList()

    def __len__(self) -> int:
        return len(self._scores)

    def add(self, members: Mapping[str, float]) -> int:
        """Add or rescore members; return how many are new."""
        new = 0
        for member, score in members.items():
            old = self._scores.get(member)
            if old is None:
                new += 1
                self._by_name.add(member)
            else:
                self._by_score.remove((old, member))
            self._scores[member] = score
            self._by_score.add((score, member))
        return new

    def remove(self, members: Iterable[str]) -> int:
        """Remove members; return how many were present."""
        removed = 0
        for member in members:
            score = self._scores.pop(member, None)
            if score is not None:
                removed += 1
                self._by_name.remove(member)
                self._by_score.remove((score, member))
        return removed

    def prefix(self, prefix: str, limit: int | None) -> list[str]:
        """Return members starting with ``prefix``, in order."""
        out: list[str] = []
        for member in self._by_name.irange(minimum=prefix):
            if not member.startswith(prefix) or (limit is not None and len(out) >= limit):
                break
            out.append(member)
        return out

    def scan(self, after: str, count: int) -> list[str]:
        """Return up to ``count`` members strictly greater than ``after``."""
        out: list[str] = []
        for member in self._by_name.irange(minimum=after, inclusive=(False, True)):
            if len(out) >= count:
                break
            out.append(member)
        return out

    def remove_below(self, cutoff: float) -> int:
        """Remove members scored below ``cutoff``."""
        doomed = [m for _, m in self._by_score.irange(maximum=(cutoff,), inclusive=(True, False))]
        return self.remove(doomed)

    def trim(self, max_size: int) -> int:
        """Remove the lowest-scored members beyond ``max_size``."""
        excess = len(self._scores) - max_size
        if excess <= 0:
            return 0
        return self.remove([m for _, m in self._by_score[:excess]])

    def score(self, member: str) -> float | None:
        """Return a member's score or None."""
        return self._scores.get(member)
