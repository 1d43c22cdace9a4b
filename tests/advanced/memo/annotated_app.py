"""A module other processes import: @cached functions whose return annotations name classes.

The default cache comes from ``CACHE_URL`` (``...?serializer=typed``). The
string annotations name ``Report``, defined below the functions: they are read
at the first call, not when decorating.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal

from cache import cached

calls = 0


@cached(timeout=60)
def report(day: str) -> Report:
    global calls  # noqa: PLW0603 - the test reads how many computations ran
    calls += 1
    return Report(dt.date.fromisoformat(day), [Line("tea", decimal.Decimal("2.50"))])


@cached(timeout=60)
async def areport(day: str) -> Report | None:
    return report.__wrapped__(day)  # type: ignore[attr-defined, no-any-return]


@dataclasses.dataclass
class Line:
    item: str
    price: decimal.Decimal


@dataclasses.dataclass
class Report:
    day: dt.date
    lines: list[Line]
