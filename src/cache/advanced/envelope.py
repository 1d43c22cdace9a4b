"""The stored form of an entry written by the features: value, deadlines, tag versions.

Kept as a plain list so that any serializer (JSON, msgpack) can carry it
between processes; deadlines are wall-clock seconds for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Envelope"]

_MARK = "__cache_envelope__"
_VERSION = 1


@dataclass(frozen=True, slots=True)
class Envelope:
    """A value with the deadlines and tag versions it was written under."""

    value: Any
    fresh_until: float
    stale_until: float
    tags: dict[str, str] = field(default_factory=dict)
    #: Seconds the generator took to produce ``value`` (for early refresh).
    duration: float = 0.0

    def dump(self) -> list[Any]:
        """Return the plain-list form stored in the backend."""
        return [
            _MARK,
            _VERSION,
            self.value,
            self.fresh_until,
            self.stale_until,
            self.tags,
            self.duration,
        ]

    @classmethod
    def load(cls, raw: Any) -> Envelope | None:
        """Return the envelope stored as ``raw``, or None if ``raw`` is not one."""
        if type(raw) is not list or len(raw) != 7 or raw[0] != _MARK or raw[1] != _VERSION:
            return None
        _, _, value, fresh, stale, tags, duration = raw
        return cls(value, float(fresh), float(stale), dict(tags), float(duration))

    def is_fresh(self, now: float) -> bool:
        """Return True before the fresh deadline."""
        return now < self.fresh_until

    def is_servable(self, now: float) -> bool:
        """Return True before the stale deadline (fresh or stale-but-usable)."""
        return now < self.stale_until
