"""Type aliases and the MISSING marker shared by every layer."""

from __future__ import annotations

import datetime
import enum
from typing import TypeAlias

__all__ = ["MISSING", "Key", "Missing", "Timeout"]


class Missing(enum.Enum):
    """The type of :data:`MISSING`, so that type checkers can narrow it away."""

    MISSING = "MISSING"

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


#: Returned by ``get(key, default=MISSING)`` when nothing is cached, so that a
#: cached ``None`` (or any falsy value) can be told apart from a miss.
MISSING = Missing.MISSING

Key: TypeAlias = str
#: Seconds as int or float, a ``timedelta``, or ``None`` for the engine's default.
Timeout: TypeAlias = "int | float | datetime.timedelta | None"
#: A length of time: seconds as int or float, or a ``timedelta``.
Duration: TypeAlias = "int | float | datetime.timedelta"
