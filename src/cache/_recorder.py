"""The recorder interface engines and features report to; the default records nothing.

It lives below both layers so that engines (``cache.backend``) and features
(``cache.advanced``) report through it without either importing the other.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["NULL_RECORDER", "NullRecorder", "Recorders", "StatsRecorder"]


class StatsRecorder(Protocol):
    """What engines and features call to report what happened."""

    def record_hit(self, duration: float = 0.0) -> None:
        """Record a hit that took ``duration`` seconds (0: not timed, left out of latencies)."""
        ...

    def record_miss(self, duration: float = 0.0) -> None:
        """Record a miss that took ``duration`` seconds, generation included (0: not timed)."""
        ...

    def record_set(self) -> None:
        """Record a write."""
        ...

    def record_delete(self) -> None:
        """Record a removal."""
        ...

    def record_stale(self) -> None:
        """Record a stale value served while a refresh runs."""
        ...

    def record_error(self) -> None:
        """Record a failure (a generator that raised, a backend error)."""
        ...


class NullRecorder:
    """A recorder that records nothing."""

    def record_hit(self, duration: float = 0.0) -> None:
        """Do nothing."""

    def record_miss(self, duration: float = 0.0) -> None:
        """Do nothing."""

    def record_set(self) -> None:
        """Do nothing."""

    def record_delete(self) -> None:
        """Do nothing."""

    def record_stale(self) -> None:
        """Do nothing."""

    def record_error(self) -> None:
        """Do nothing."""


NULL_RECORDER = NullRecorder()


class Recorders:
    """Send every record to several recorders (e.g. CacheStatistics and Prometheus)."""

    def __init__(self, *recorders: StatsRecorder) -> None:
        self.recorders = recorders

    def record_hit(self, duration: float = 0.0) -> None:
        """Record a hit everywhere."""
        for r in self.recorders:
            r.record_hit(duration)

    def record_miss(self, duration: float = 0.0) -> None:
        """Record a miss everywhere."""
        for r in self.recorders:
            r.record_miss(duration)

    def record_stale(self) -> None:
        """Record a stale serve everywhere."""
        for r in self.recorders:
            r.record_stale()

    def record_set(self) -> None:
        """Record a write everywhere."""
        for r in self.recorders:
            r.record_set()

    def record_delete(self) -> None:
        """Record a removal everywhere."""
        for r in self.recorders:
            r.record_delete()

    def record_error(self) -> None:
        """Record a failure everywhere."""
        for r in self.recorders:
            r.record_error()
