"""The invalidation messages of a near cache: one publisher and one listener per near cache.

A message is ``[publisher, sequence, keys]`` in JSON (``keys`` null: forget
everything). Two channels: one per database and namespace, for the keys, and
one per database, for ``flush_database``. Each publisher numbers its messages
per channel. The listener runs in a daemon thread:

- every subscription confirmation flushes the local tier before it goes live,
  since messages may have been missed while unsubscribed;
- a gap in a publisher's numbers, an unreadable message, a lost connection
  (the client's own reconnect-and-retry is switched off on the listener's
  connections, so that every reset is seen), the server ending the
  subscription, or three unanswered heartbeats flush it too, and the tier
  stays off (every read goes to Redis) until subscribed again.

On Redis Cluster the channels are shard channels (``SSUBSCRIBE``/``SPUBLISH``,
Redis 7.0+ and Valkey): their messages stay on the shard that owns their slot.
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

from redis.backoff import NoBackoff
from redis.retry import Retry

from cache.backend.near._tier import LocalTier

__all__ = ["Bus"]

log = logging.getLogger("cache.near")

_SUBSCRIBED = frozenset({"subscribe", "ssubscribe"})
_UNSUBSCRIBED = frozenset({"unsubscribe", "sunsubscribe"})
_MESSAGES = frozenset({"message", "smessage"})
#: Keys named in one message at most; more are sent as "forget everything".
_MOST_KEYS = 10_000
#: Publishers remembered at most; forgetting them flushes (a gap could hide).
_MOST_PUBLISHERS = 10_000


class _LostError(Exception):
    """The subscription can no longer be trusted to deliver every message."""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Bus:
    """Send and receive the invalidation messages of one near cache.

    Args:
        client: The engine's sync ``redis`` client.
        channels: The namespace's channel, then the database's.
        sharded: Use sharded pub/sub (a cluster).
        tier: The local tier the messages keep coherent.
        heartbeat: Seconds between pings of the listener's connection; none
            answered for three beats counts as a lost subscription.
        send_timeout: Seconds a message waits for the one before it to go out.
    """

    def __init__(
        self,
        client: Any,
        channels: tuple[str, str],
        *,
        sharded: bool,
        tier: LocalTier,
        heartbeat: float,
        send_timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client, self.channels, self.sharded = client, channels, sharded
        self.tier, self.heartbeat, self._clock = tier, heartbeat, clock
        self.send_timeout = send_timeout
        self.publisher = uuid.uuid4().hex[:16]
        self._sequences = dict.fromkeys(channels, 0)
        self._send = threading.Lock()
        self._last: dict[tuple[str, str], int] = {}
        #: Channels where a message failed and no later one went out.
        self.owed: set[str] = set()
        self._stop = threading.Event()
        self._subscribed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cache-near-listener", daemon=True)
        #: Messages received, gaps seen, subscriptions lost.
        self.received = self.gaps = self.lost = 0

    @property
    def channel(self) -> str:
        """The namespace's channel."""
        return self.channels[0]

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
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.tier.flush(live=False)

    @property
    def sequence(self) -> int:
        """The number of this publisher's last message on the namespace's channel."""
        return self._sequences[self.channel]

    def last_from(self, publisher: str, channel: str | None = None) -> int | None:
        """Return the number of the last message received from ``publisher``, if any."""
        return self._last.get((channel or self.channel, publisher))

    # -- sending ------------------------------------------------------------------

    def publish(self, keys: list[str] | None, everywhere: bool = False) -> None:
        """Tell every process to forget ``keys`` (None: everything). Raises the client's errors.

        ``everywhere``: on the database's channel, to every namespace. Sent in
        the order of their numbers: a lock keeps them so (a message waits
        ``send_timeout`` at most for the one before it). A message that failed
        may still arrive, or not: the next one then shows a gap, and until one
        goes out the listener keeps trying to send "forget everything" (the
        write it announced may have been applied when the server came back).
        """
        if keys is not None and len(keys) > _MOST_KEYS:
            keys = None  # one flush rather than a message larger than a subscriber may take
        channel = self.channels[1] if everywhere else self.channel
        if not self._send.acquire(timeout=self.send_timeout):
            raise TimeoutError(f"the message before this one has waited {self.send_timeout} s")
        try:
            self._sequences[channel] += 1
            message = [self.publisher, self._sequences[channel], keys]
            payload = json.dumps(message, separators=(",", ":"))
            if self.sharded:
                self.client.spublish(channel, payload)
            else:
                self.client.publish(channel, payload)
        except BaseException:
            self.owed.add(channel)
            raise
        else:
            self.owed.discard(channel)
        finally:
            self._send.release()

    def _pay(self) -> None:
        """Send "forget everything" where a message failed, until it goes out."""
        for channel in list(self.owed):
            with contextlib.suppress(Exception):
                self.publish(None, everywhere=channel != self.channel)

    # -- listening ----------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.05
        while not self._stop.is_set():
            pubsub = None
            try:
                pubsub = self.client.pubsub()
                if self.sharded:
                    pubsub.ssubscribe(*self.channels)
                else:
                    pubsub.subscribe(*self.channels)
                self._listen(pubsub)
                backoff = 0.05
            except Exception as exc:  # any failure ends this subscription
                if not self._stop.is_set():
                    self.lost += 1
                    log.warning("near cache: subscription to %s lost: %r", self.channel, exc)
                    self._rediscover()
            finally:
                self._subscribed.clear()
                self.tier.flush(live=False)
                if pubsub is not None:
                    _close(pubsub)
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 1.0)

    def _rediscover(self) -> None:
        """On a cluster, learn the slots again: the channel's may have moved."""
        if self.sharded:
            with contextlib.suppress(Exception):
                self.client.nodes_manager.initialize()

    def _listen(self, pubsub: Any) -> None:
        pinged = answered = self._clock()
        read = pubsub.get_sharded_message if self.sharded else pubsub.get_message
        while not self._stop.is_set():
            message = read(timeout=min(0.1, self.heartbeat))
            now = self._clock()
            if message is not None:
                answered = now
                self._handle(message, pubsub)
            if now - pinged >= self.heartbeat:
                _ping(pubsub)
                pinged = now
                if self.owed:
                    self._pay()
            if now - answered > 3 * self.heartbeat:
                raise _LostError(f"no reply to the heartbeat for {now - answered:.1f} s")

    def _handle(self, message: dict[str, Any], pubsub: Any) -> None:
        kind = _text(message.get("type", ""))
        if kind in _SUBSCRIBED:
            # Subscribed (again): what was published meanwhile is lost, so
            # nothing local is kept. A reset from now on must reach _run.
            _no_retries(pubsub)
            self._last.clear()
            self.tier.flush(live=True)
            self._subscribed.set()
        elif kind in _UNSUBSCRIBED:
            raise _LostError(f"the server ended the subscription ({kind})")
        elif kind in _MESSAGES:
            self.received += 1
            self._deliver(_text(message.get("channel", "")), message.get("data"))

    def _deliver(self, channel: str, data: Any) -> None:
        try:
            publisher, sequence, keys = json.loads(data)
            if not isinstance(sequence, int) or not (keys is None or isinstance(keys, list)):
                raise ValueError("not [publisher, sequence, keys]")
        except (TypeError, ValueError) as exc:
            log.warning("near cache: unreadable message on %s (%r): flushed", channel, exc)
            self.tier.flush()
            return
        previous = self._last.get((channel, publisher))
        self._last[(channel, publisher)] = sequence
        if len(self._last) > _MOST_PUBLISHERS:  # forget the old ones, and what they may hide
            self._last = {(channel, publisher): sequence}
            self.tier.flush()
        if previous is not None and sequence != previous + 1:
            self.gaps += 1
            log.warning("near cache: gap in the messages of %s: flushed", publisher)
            self.tier.flush()
        elif publisher == self.publisher:
            return  # this near cache forgot the keys itself, before and after its write
        elif keys is None:
            self.tier.flush()
        else:
            self.tier.invalidate(str(key) for key in keys)


def _node_pubsubs(pubsub: Any) -> list[Any]:
    """Return the pub/sub objects holding connections: one per shard on a cluster."""
    mapping = getattr(pubsub, "node_pubsub_mapping", None)
    return [pubsub] if mapping is None else list(mapping.values())


def _ping(pubsub: Any) -> None:
    for node in _node_pubsubs(pubsub):
        node.ping()


_ORIGINAL_RETRY = "_cache_near_retry"


def _no_retries(pubsub: Any) -> None:
    """Let a reset of the listener's connections raise instead of reconnecting quietly."""
    for node in _node_pubsubs(pubsub):
        connection = getattr(node, "connection", None)
        if connection is not None and not hasattr(connection, _ORIGINAL_RETRY):
            setattr(connection, _ORIGINAL_RETRY, connection.retry)
            connection.retry = Retry(NoBackoff(), 0)


def _close(pubsub: Any) -> None:
    """Close ``pubsub``; its connections get their retry policy back (they go back to the pool)."""
    for node in _node_pubsubs(pubsub):
        connection = getattr(node, "connection", None)
        if connection is not None and hasattr(connection, _ORIGINAL_RETRY):
            connection.retry = getattr(connection, _ORIGINAL_RETRY)
            delattr(connection, _ORIGINAL_RETRY)
    with contextlib.suppress(Exception):  # the connection is gone already
        pubsub.close()
