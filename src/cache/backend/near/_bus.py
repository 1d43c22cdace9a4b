"""The invalidation messages of a near cache: one publisher and one listener per process.

A message is ``[publisher, sequence, keys]`` in JSON on one channel per
database and namespace (``keys`` null: forget everything). The listener runs
in a daemon thread:

- every subscription confirmation (the first, and each one the client sends
  again after reconnecting by itself) flushes the local tier before it goes
  live, since messages may have been missed while unsubscribed;
- a gap in a publisher's sequence, an unreadable message, a lost connection
  or a server that stops answering the heartbeat flushes it too; the tier
  stays off (every read goes to Redis) until subscribed again.

On Redis Cluster the channel is a shard channel (``SSUBSCRIBE``/``SPUBLISH``,
Redis 7.0+ and Valkey): its messages stay on the shard that owns its slot.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from cache.backend.near._tier import LocalTier

__all__ = ["Bus"]

log = logging.getLogger("cache.near")

_SUBSCRIBED = frozenset({"subscribe", "ssubscribe"})
_UNSUBSCRIBED = frozenset({"unsubscribe", "sunsubscribe"})
_MESSAGES = frozenset({"message", "smessage"})
#: Keys named in one message at most; more are sent as "forget everything".
_MOST_KEYS = 10_000


class LostError(Exception):
    """The subscription can no longer be trusted to deliver every message."""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Bus:
    """Send and receive the invalidation messages of one near cache.

    Args:
        client: The engine's sync ``redis`` client.
        channel: The channel (a shard channel when ``sharded``).
        sharded: Use sharded pub/sub (a cluster).
        tier: The local tier the messages keep coherent.
        heartbeat: Seconds between pings of the listener's connection; one
            unanswered for three beats counts as a lost subscription.
        clock: Monotonic seconds.
    """

    def __init__(
        self,
        client: Any,
        channel: str,
        *,
        sharded: bool,
        tier: LocalTier,
        heartbeat: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client, self.channel, self.sharded = client, channel, sharded
        self.tier, self.heartbeat, self._clock = tier, heartbeat, clock
        self.publisher = uuid.uuid4().hex[:16]
        self._sequence = 0
        self._send = threading.Lock()
        self._last: dict[str, int] = {}
        self._stop = threading.Event()
        self._subscribed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cache-near-listener", daemon=True)
        #: Messages received, gaps seen, subscriptions lost.
        self.received = self.gaps = self.lost = 0

    def start(self) -> None:
        """Start listening (in a daemon thread)."""
        self._thread.start()

    @property
    def running(self) -> bool:
        """True from :meth:`start` until :meth:`stop`."""
        return not self._stop.is_set()

    def wait_subscribed(self, timeout: float) -> bool:
        """Wait until the listener is subscribed; return True if it is."""
        return self._subscribed.wait(timeout)

    def stop(self) -> None:
        """Stop listening; the tier goes off."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.tier.flush(live=False)

    @property
    def sequence(self) -> int:
        """The number of this process's last message."""
        return self._sequence

    def last_from(self, publisher: str) -> int | None:
        """Return the number of the last message received from ``publisher``, if any."""
        return self._last.get(publisher)

    # -- sending ------------------------------------------------------------------

    def publish(self, keys: list[str] | None) -> None:
        """Tell every process to forget ``keys`` (None: everything). Raises the client's errors.

        Sent in sequence order: the lock keeps a process's messages in the
        order of their numbers. A message that failed may still arrive, or
        not: the next one then shows a gap, which flushes the listeners.
        """
        if keys is not None and len(keys) > _MOST_KEYS:
            keys = None  # one flush rather than a message larger than a subscriber may take
        with self._send:
            self._sequence += 1
            payload = json.dumps([self.publisher, self._sequence, keys], separators=(",", ":"))
            if self.sharded:
                self.client.spublish(self.channel, payload)
            else:
                self.client.publish(self.channel, payload)

    # -- listening ----------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.05
        while not self._stop.is_set():
            pubsub = None
            try:
                pubsub = self.client.pubsub()
                if self.sharded:
                    pubsub.ssubscribe(self.channel)
                else:
                    pubsub.subscribe(self.channel)
                self._listen(pubsub)
                backoff = 0.05
            except Exception as exc:  # any failure ends this subscription
                if not self._stop.is_set():
                    self.lost += 1
                    log.warning("near cache: subscription to %s lost: %r", self.channel, exc)
            finally:
                self._subscribed.clear()
                self.tier.flush(live=False)
                if pubsub is not None:
                    _close(pubsub)
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 1.0)

    def _listen(self, pubsub: Any) -> None:
        pinged = answered = self._clock()
        read = pubsub.get_sharded_message if self.sharded else pubsub.get_message
        while not self._stop.is_set():
            message = read(timeout=min(0.1, self.heartbeat))
            now = self._clock()
            if message is not None:
                answered = now
                self._handle(message)
            if now - pinged >= self.heartbeat:
                _ping(pubsub, self.sharded)
                pinged = now
            if now - answered > 3 * self.heartbeat:
                raise LostError(f"no reply to the heartbeat for {now - answered:.1f} s")

    def _handle(self, message: dict[str, Any]) -> None:
        kind = _text(message.get("type", ""))
        if kind in _SUBSCRIBED:
            # Subscribed again (also after the client reconnected by itself):
            # what was published meanwhile is lost, so nothing local is kept.
            self._last.clear()
            self.tier.flush(live=True)
            self._subscribed.set()
        elif kind in _UNSUBSCRIBED:
            raise LostError(f"the server ended the subscription ({kind})")
        elif kind in _MESSAGES:
            self.received += 1
            self._deliver(message.get("data"))

    def _deliver(self, data: Any) -> None:
        try:
            publisher, sequence, keys = json.loads(data)
            if not isinstance(sequence, int) or not (keys is None or isinstance(keys, list)):
                raise ValueError("not [publisher, sequence, keys]")
        except (TypeError, ValueError) as exc:
            log.warning("near cache: unreadable message on %s (%r): flushed", self.channel, exc)
            self.tier.flush()
            return
        previous = self._last.get(publisher)
        self._last[publisher] = sequence
        if len(self._last) > 10_000:  # publishers come and go: forget the old ones
            self._last = {publisher: sequence}
        if previous is not None and sequence != previous + 1:
            self.gaps += 1
            log.warning("near cache: gap in the messages of %s: flushed", publisher)
            self.tier.flush()
        elif publisher == self.publisher:
            return  # this process forgot the keys itself, before and after its write
        elif keys is None:
            self.tier.flush()
        else:
            self.tier.invalidate(str(key) for key in keys)


def _ping(pubsub: Any, sharded: bool) -> None:
    if sharded:  # one connection per shard: ping the one that holds the channel
        for node in list(pubsub.node_pubsub_mapping.values()):
            node.ping()
    else:
        pubsub.ping()


def _close(pubsub: Any) -> None:
    with contextlib.suppress(Exception):  # the connection is gone already
        pubsub.close()
