"""What the sync and async sides of the near cache share: local reads, fills and messages."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from cache._types import MISSING, Timeout
from cache.backend.base import Claim, Entry
from cache.backend.near._tier import LocalTier, Stored, cacheable
from cache.backend.proxy import ProxyBackend
from cache.backend.validation import resolve_timeout
from cache.errors import BackendUnavailableError

if TYPE_CHECKING:
    from cache.backend.near._bus import Bus
    from cache.backend.redis.engine import RedisCache

__all__ = ["NearBase", "removes"]

log = logging.getLogger("cache.near")


def removes(timeout: Timeout, default: float | None) -> bool:
    """Return True if ``timeout`` means "remove" (0 or less), as a write's timeout."""
    seconds = resolve_timeout(timeout, default)
    return seconds is not None and seconds <= 0


class NearBase(ProxyBackend):
    """The local tier's side of every call; :class:`NearCache` builds the calls on it."""

    cache: RedisCache
    tier: LocalTier
    bus: Bus
    local_ttl: float
    _clock: Callable[[], float]

    # -- reads ----------------------------------------------------------------------

    def _local_many(self, keys: list[str]) -> tuple[dict[str, Any], list[str]]:
        found: dict[str, Any] = {}
        wanted: list[str] = []
        for key in keys:
            record = self.tier.record(key) if cacheable(key) else None
            if record is None:
                wanted.append(key)
            else:
                found[key] = self.tier.value(record)
        return found, wanted

    def _fill_many(
        self, ticket: int | None, read: Mapping[str, tuple[Any, float | None]], started: float
    ) -> dict[str, Any]:
        """Keep what was read (values with their seconds left); return the values.

        ``started``: when the read was sent, so that a copy expires no later
        than Redis's, however long the reply took to come and be handled.
        """
        found = {}
        for key, (value, left) in read.items():  # one by one: an invalidated key spoils no other
            found[key] = value
            if cacheable(key):
                deadline = None if left is None else started + left
                self.tier.fill(ticket, {key: self.tier.encode(value, deadline=deadline)})
        return found

    def _local_entry(self, key: str, claim: Claim | None) -> Entry | None:
        record = self.tier.record(key) if cacheable(key) else None
        if record is None or record.refs is None:
            return None
        if claim is not None:  # the claim is Redis's to grant once the entry is stale
            left = None if record.deadline is None else record.deadline - self._clock()
            if left is None or left <= claim.when_ttl_below:
                return None
        refs = self.tier.ref_values(record.refs)
        return None if refs is None else Entry(self.tier.value(record), refs)

    def _entry_records(
        self, key: str, entry: Entry, ttl: Any, started: float
    ) -> dict[str, Stored] | None:
        """Return the local records of an entry read from Redis (None: not to be kept).

        An entry with a ref that held nothing is not kept: its readers find
        it invalid and store it again, and a ref kept as "nothing" would have
        to be told apart from a miss on every read.
        """
        if entry.value is MISSING or entry.absent or ttl is MISSING:
            return None
        if not all(cacheable(ref) for ref in entry.refs):
            return None
        deadline = None if ttl is None else started + ttl
        records = {key: self.tier.encode(entry.value, tuple(entry.refs), deadline=deadline)}
        for ref, value in entry.refs.items():
            records[ref] = self.tier.encode(value)
        return records

    # -- messages -------------------------------------------------------------------

    def _mine(self, keys: Iterable[str]) -> list[str]:
        return [key for key in keys if cacheable(key)]

    def _announce(
        self, keys: list[str] | None, removal: bool, failed: bool = False, everywhere: bool = False
    ) -> None:
        """Tell the other processes to forget ``keys``; raise if a removal cannot be told.

        ``failed``: the write itself raised (it may still have been applied):
        told all the same, and a failure to tell is only counted and logged.
        """
        try:
            self.bus.publish(keys, everywhere)
        except Exception as exc:
            self.cache.outage.errors += 1
            what = "everything" if keys is None else f"{len(keys)} key(s), e.g. {keys[0]!r}"
            log.warning("near cache: could not tell other processes to forget %s: %r", what, exc)
            if not failed and (removal or self.cache.outage.strict):
                done = "removed" if removal else "written"
                raise BackendUnavailableError(
                    f"{done} in Redis, but other processes could not be told to forget {what}: "
                    f"their local copies may be served up to local_ttl={self.local_ttl} s more. "
                    "Retry the call."
                ) from exc
