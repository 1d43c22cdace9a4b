"""The clock that time-dependent logic reads, injectable for tests."""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "system_clock"]


class Clock(Protocol):
    """A callable returning monotonic seconds as a float."""

    def __call__(self) -> float:
        """Return the current time in seconds."""
        ...


#: The default clock: monotonic, so a wall-clock jump never expires entries early.
system_clock: Clock = time.monotonic
