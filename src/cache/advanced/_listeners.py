"""Callables told of each invalidation that was applied (the dashboard's markers, say)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from cache.errors import CacheTypeError

__all__ = ["Listener", "Listeners"]

log = logging.getLogger("cache")

#: ``listener(kind, value)``: kind is "tag", "prefix" or "pattern".
Listener = Callable[[str, str], None]


class Listeners:
    """A list of listeners; one that raises is logged, never seen by the invalidating caller."""

    def __init__(self) -> None:
        self._items: list[Listener] = []

    def add(self, listener: Listener) -> None:
        """Call ``listener(kind, value)`` after each applied invalidation."""
        if not callable(listener):
            raise CacheTypeError(f"listener must be callable (kind, value), got {listener!r:.60}")
        self._items.append(listener)

    def remove(self, listener: Listener) -> None:
        """Stop calling ``listener`` (nothing happens if it was not added)."""
        if listener in self._items:
            self._items.remove(listener)

    def notify(self, kind: str, value: str) -> None:
        """Tell every listener; an invalidation that raised never gets here."""
        for listener in list(self._items):
            try:
                listener(kind, value)
            except Exception:  # a marker must never fail the invalidation it marks
                log.warning("an invalidation listener failed", exc_info=True)
