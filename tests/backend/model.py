"""A model of the backend contract, checked against a real engine by a hypothesis state machine.

The model is a plain dict with deadlines on a fake clock, plus what the
features built on the protocol promise: a tagged entry (``set_entry`` with its
tags' version keys as refs, read back with ``get_entry``) is served while no
tag of it was invalidated; a stale-while-revalidate key is served fresh, then
stale while exactly one refresh replaces it, then regenerated.

An engine's test subclasses :class:`CacheVersusModel` with ``open_cache`` (and
``held_keys`` if it can list what it holds). Times sit on a grid of 2.5 s so
that a server keeping its own time (Redis, whose TTLs the fake clock shortens)
agrees with the model whatever the few milliseconds the test itself takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import hypothesis.strategies as st
from hypothesis import event
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from cache._types import MISSING
from cache.advanced import CacheTag, StaleWhileRevalidateCache
from cache.backend import CacheBackend
from cache.backend.validation import RESERVED_PREFIX, reserved_key
from cache.errors import CacheTypeError
from cache.testing import FakeClock

__all__ = ["CacheVersusModel", "reserved", "swr_lock_of_an_invalidated_entry_is_given_back"]

KEYS = ["a", "b", "c", "d"]
TAGGED = ["x", "y"]
TAGS = ["t1", "t2"]
#: SWR keys, each always read with one (timeout, stale_timeout, tags).
SWR = {"s1": (5.0, 10.0, ("t1",)), "s2": (5.0, 0.0, ("t1", "t2")), "s3": (2.5, 5.0, ())}

VALUES = st.one_of(
    st.none(),
    st.integers(-5, 5),
    st.text(max_size=3),
    st.just(False),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.sampled_from(["k", "1"]), st.integers(0, 3), max_size=2),
)
TIMEOUTS = st.sampled_from([None, 0, -1, 5, 10, 25])
SECONDS = st.sampled_from([2.5, 5.0, 10.0])


@dataclass
class Item:
    """What the model holds under one key."""

    value: Any
    deadline: float | None
    versions: dict[str, int] | None = None  # tag -> model version when written (tagged, SWR)
    fresh_until: float = 0.0  # SWR only


class CacheVersusModel(RuleBasedStateMachine):
    """Drive an engine and the model with the same calls; they must never disagree."""

    def open_cache(self, clock: FakeClock) -> CacheBackend:
        """Return an empty engine whose time moves with ``clock``."""
        raise NotImplementedError

    def held_keys(self) -> set[str] | None:
        """Return the keys the engine holds outside the reserved namespace, if it can tell."""
        return None

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.cache = self.open_cache(self.clock)
        self.tags = CacheTag(self.cache)
        self.swr = StaleWhileRevalidateCache(self.cache, tag_manager=self.tags, clock=self.clock)
        self.model: dict[str, Item] = {}
        self.versions = dict.fromkeys(TAGS, 0)
        self.generated = 0  # calls of the SWR generator, by the engine
        self.predicted = 0  # the same, by the model

    def teardown(self) -> None:
        self.swr.close()
        self.cache.close()

    # -- the model --------------------------------------------------------------

    def _deadline(self, timeout: float | None) -> float | None:
        return None if timeout is None else self.clock() + timeout

    def _live(self, key: str) -> Item | None:
        item = self.model.get(key)
        if item is not None and item.deadline is not None and item.deadline <= self.clock():
            del self.model[key]
            return None
        if item is not None and item.versions is not None and self._invalidated(item.versions):
            return None  # unreachable, though still stored until it expires
        return item

    def _invalidated(self, versions: dict[str, int]) -> bool:
        return any(self.versions[tag] != version for tag, version in versions.items())

    def _value(self, key: str) -> Any:
        item = self._live(key)
        return MISSING if item is None else item.value

    # -- key-value primitives ----------------------------------------------------

    @rule(key=st.sampled_from(KEYS), value=VALUES, timeout=TIMEOUTS)
    def set(self, key: str, value: Any, timeout: float | None) -> None:
        self.cache.set(key, value, timeout)
        if timeout is not None and timeout <= 0:
            self.model.pop(key, None)
        else:
            self.model[key] = Item(value, self._deadline(timeout))

    @rule(key=st.sampled_from(KEYS), value=VALUES, timeout=TIMEOUTS)
    def add(self, key: str, value: Any, timeout: float | None) -> None:
        absent = self._live(key) is None
        assert self.cache.add(key, value, timeout) is absent
        if absent and not (timeout is not None and timeout <= 0):
            self.model[key] = Item(value, self._deadline(timeout))

    @rule(key=st.sampled_from(KEYS))
    def delete(self, key: str) -> None:
        live = self._live(key) is not None
        assert self.cache.delete(key) is live
        self.model.pop(key, None)

    @rule(keys=st.lists(st.sampled_from(KEYS), max_size=3))
    def delete_many(self, keys: list[str]) -> None:
        live = {k for k in keys if self._live(k) is not None}
        assert self.cache.delete_many(keys) == len(live)
        for key in keys:
            self.model.pop(key, None)

    @rule(items=st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=3), timeout=TIMEOUTS)
    def set_many(self, items: dict[str, Any], timeout: float | None) -> None:
        self.cache.set_many(items, timeout)
        for key, value in items.items():
            self.set_in_model(key, value, timeout)

    def set_in_model(self, key: str, value: Any, timeout: float | None) -> None:
        if timeout is not None and timeout <= 0:
            self.model.pop(key, None)
        else:
            self.model[key] = Item(value, self._deadline(timeout))

    @rule(key=st.sampled_from(KEYS), timeout=TIMEOUTS)
    def touch(self, key: str, timeout: float | None) -> None:
        item = self._live(key)
        assert self.cache.touch(key, timeout) is (item is not None)
        if item is not None:
            self.set_in_model(key, item.value, timeout)

    @rule(key=st.sampled_from(KEYS), delta=st.integers(-3, 3))
    def incr(self, key: str, delta: int) -> None:
        item = self._live(key)
        if item is None:
            assert self.cache.incr(key, delta) == delta
            self.model[key] = Item(delta, None)
        elif type(item.value) is int:
            assert self.cache.incr(key, delta) == item.value + delta
            item.value += delta
        else:
            try:
                self.cache.incr(key, delta)
            except CacheTypeError:
                pass
            else:  # pragma: no cover - the assertion reports it
                raise AssertionError(f"incr accepted {item.value!r}")

    @rule(key=st.sampled_from(KEYS))
    def ttl(self, key: str) -> None:
        item = self._live(key)
        left = self.cache.ttl(key)
        if item is None:
            assert left is MISSING
        elif item.deadline is None:
            assert left is None
        else:
            assert isinstance(left, float)
            assert abs(left - (item.deadline - self.clock())) < 1.0  # a server's own time runs

    @rule(seconds=SECONDS)
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def cleanup(self) -> None:
        self.cache.cleanup_expired()
        for key in list(self.model):
            self._live(key)  # drops the expired ones
        held = self.held_keys()
        if held is not None:
            assert held == set(self.model)

    @rule()
    def clear(self) -> None:
        self.cache.clear()
        self.model.clear()  # tag versions go too: the next read creates new ones

    # -- tagged entries: set_entry with the tags' version keys as refs ------------

    @rule(key=st.sampled_from(TAGGED), value=VALUES, tags=st.sets(st.sampled_from(TAGS)))
    def set_tagged(self, key: str, value: Any, tags: set[str]) -> None:
        versions = self.tags.get_versions(tags)
        self.cache.set_entry(key, [value, versions], 25, refs=self.tags.refs(versions))
        self.model[key] = Item(value, self._deadline(25), {t: self.versions[t] for t in tags})

    @rule(tag=st.sampled_from(TAGS))
    def invalidate_tag(self, tag: str) -> None:
        self.tags.invalidate_tag(tag)
        self.versions[tag] += 1

    # -- stale-while-revalidate ----------------------------------------------------

    def _generate(self) -> str:
        self.generated += 1
        return f"gen-{self.generated}"

    def _swr_store(self, key: str) -> str:
        timeout, stale, tags = SWR[key]
        self.predicted += 1
        now = self.clock()
        versions = {t: self.versions[t] for t in tags}
        value = f"gen-{self.predicted}"
        self.model[key] = Item(value, now + timeout + stale, versions, now + timeout)
        return value

    @rule(key=st.sampled_from(sorted(SWR)), later=st.sampled_from([0.0, 2.5, 5.0]))
    def get_with_swr(self, key: str, later: float) -> None:
        self.clock.advance(later)  # time passing since the last read makes stale reads common
        timeout, stale, tags = SWR[key]
        got = self.swr.get_with_swr(key, self._generate, timeout, stale, tags=tags)
        self.swr.wait()  # the background refresh, if one started, is done
        item = self._live(key)
        if item is None:
            event("swr: generated in the caller")
            expected = (self._swr_store(key), False)
        elif self.clock() < item.fresh_until:
            event("swr: fresh hit")
            expected = (item.value, False)
        else:
            event("swr: stale, refreshed in the background")
            expected = (item.value, True)
            self._swr_store(key)  # one refresh replaced it
        assert got == expected
        assert self.generated == self.predicted

    # -- what must hold after every step ------------------------------------------

    @invariant()
    def agrees_with_model(self) -> None:
        for key in KEYS:
            assert self.cache.get(key, MISSING) == self._value(key), key
        assert self.cache.get_many(KEYS) == {
            k: v for k in KEYS if (v := self._value(k)) is not MISSING
        }
        for key in TAGGED:
            entry = self.cache.get_entry(key)
            served = MISSING
            if entry.value is not MISSING:
                value, recorded = entry.value
                if self.tags.matches(recorded, entry.refs):
                    served = value
                else:
                    event("tagged: stored but invalidated")
            assert served == self._value(key), key

    @invariant()
    def no_refresh_lock_is_left(self) -> None:
        for key in SWR:
            assert self.cache.get(reserved_key("swr", key), MISSING) is MISSING


def swr_lock_of_an_invalidated_entry_is_given_back(cache: CacheBackend, clock: FakeClock) -> None:
    """Found by the model: a stale read of an entry whose tag was invalidated took the refresh
    lock, then filled as a miss without giving it back (the fill waited lock_timeout for it)."""
    tags = CacheTag(cache)
    # The engine's time is the fake clock: a lock left behind stays (a server's would expire).
    swr = StaleWhileRevalidateCache(cache, tag_manager=tags, clock=clock, lock_timeout=1)
    try:
        calls = iter(["first", "second"])
        assert swr.get_with_swr("s", lambda: next(calls), 5, 10, tags=["t"]) == ("first", False)
        tags.invalidate_tag("t")
        clock.advance(5)  # stale by time, and invalid by its tag: a miss
        assert swr.get_with_swr("s", lambda: next(calls), 5, 10, tags=["t"]) == ("second", False)
        assert cache.get(reserved_key("swr", "s"), MISSING) is MISSING
    finally:
        swr.close()


def reserved(key: str) -> bool:
    """Return True for a key the features write for themselves (versions, locks)."""
    return key.startswith(RESERVED_PREFIX)
