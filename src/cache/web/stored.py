"""The stored HTTP response: its record format, and the answers made from it.

One codec for every reader of the record: the ASGI middleware, the Django
adapter and the ``cache inspect`` command. The record is the value of an
:class:`~cache.advanced.envelope.Envelope` (which holds the deadlines and tag
versions); it is a plain dict so that any serializer can carry it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cache.advanced.policies import CachePolicy
from cache.web import headers as h
from cache.web.rfc9111 import exchange
from cache.web.rfc9111.decide import Stored
from cache.web.rfc9111.freshness import Defaults, freshness, response_directives

__all__ = ["KEEP_FOR_VALIDATION", "Captured", "Plan", "build_response", "plan_store"]

#: Seconds (at least) a stored response with a validator outlives its windows:
#: a stale copy that can be revalidated with a 304 saves sending the body again.
KEEP_FOR_VALIDATION = 600.0


@dataclass
class Captured:
    """A complete response held in memory, and what the cache decided about it when stored."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    #: When it was received (stored), if it was read back from the cache.
    stored_at: float | None = None
    #: The request headers its variant is keyed on, if it was read back from the cache.
    vary: list[str] = field(default_factory=list)
    #: Its corrected age when received (RFC 9111 section 4.2.3).
    age: float = 0.0
    #: ``no-cache``: validated on every use.
    revalidate: bool = False
    #: Seconds past its stale-while-revalidate window it may stand in for a failure.
    stale_if_error: float = 0.0
    #: Never served stale beyond what its own stale-* directives allow.
    strict: bool = False

    def record(self, vary: list[str], stored_at: float) -> dict[str, Any]:
        """Return the stored form, keyed on the request headers ``vary`` names."""
        return {
            "s": self.status,
            "h": self.headers,
            "b": base64.b64encode(self.body).decode(),
            "v": vary,
            "t": stored_at,
            "a": self.age,
            "r": self.revalidate,
            "e": self.stale_if_error,
            "m": self.strict,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Captured:
        """Return the response stored as ``record`` (written by :meth:`record`)."""
        return cls(
            int(record["s"]),
            [(k, v) for k, v in record["h"]],
            base64.b64decode(record["b"]),
            float(record["t"]),
            list(record.get("v", ())),
            float(record.get("a", 0.0)),
            bool(record.get("r", False)),
            float(record.get("e", 0.0)),
            bool(record.get("m", False)),
        )

    @classmethod
    def load(cls, value: Any) -> Captured | None:
        """Return the response stored as ``value``, or None if ``value`` is not such a record."""
        if not isinstance(value, Mapping) or not value.keys() >= _FIELDS:
            return None
        try:
            return cls.from_record(value)
        except (TypeError, ValueError, binascii.Error):
            return None

    def current_age(self, now: float) -> float:
        """Return its age at ``now`` (RFC 9111 section 4.2.3)."""
        return self.age + max(0.0, now - (self.stored_at or now))

    def usable(self, fresh_until: float, now: float) -> bool:
        """Return True if it may answer without a trip to the app: fresh, not ``no-cache``."""
        return now < fresh_until and not self.revalidate

    def facts(self, fresh_until: float, stale_until: float, now: float) -> Stored:
        """Return what decisions read about it, at ``now``."""
        return Stored(
            fresh_until=fresh_until,
            stale_until=stale_until,
            stale_if_error=self.stale_if_error,
            revalidate=self.revalidate,
            validators=bool(exchange.conditional_headers(self.headers)),
            age=self.current_age(now),
            strict=self.strict,
        )


@dataclass(frozen=True, slots=True)
class Plan:
    """How to store a response: the record to keep, its deadlines and its time to live."""

    captured: Captured
    fresh_until: float
    stale_until: float
    #: Seconds the backend keeps it: its windows, or longer if it can be validated;
    #: 0 if it could never be used again (not stored, but still the answer sent).
    keep: float


def plan_store(
    captured: Captured,
    *,
    requested: float,
    received: float,
    defaults: Defaults,
    targeted: tuple[str, ...],
) -> Plan:
    """Return how to store a storable response (``keep`` 0: not at all, it could never be used).

    ``captured.headers`` are the app's; the stored ones lose hop-by-hop
    fields and gain a Date. Freshness counts from ``received``, minus the age
    the response already had (RFC 9111 section 4.2.3).
    """
    # Freshness reads the app's own lines (its Age, its Date or none); the
    # stored lines lose the hop-by-hop ones and gain a Date.
    cc = response_directives(captured.headers, targeted)
    found = freshness(
        captured.status,
        captured.headers,
        cc,
        requested=requested,
        received=received,
        defaults=defaults,
    )
    headers = exchange.storable_headers(captured.headers, received)
    fresh_until = received + found.ttl
    stale_until = fresh_until + found.stale_while_revalidate
    validators = bool(exchange.conditional_headers(headers))
    keep = max(0.0, found.ttl) + found.stale_while_revalidate
    keep += max(found.stale_if_error, max(found.lifetime, KEEP_FOR_VALIDATION) if validators else 0)
    if found.ttl <= 0 and not validators and found.stale_while_revalidate <= 0:
        keep = 0.0
    stored = Captured(
        captured.status,
        headers,
        captured.body,
        received,
        age=found.age,
        revalidate=found.revalidate,
        stale_if_error=found.stale_if_error,
        strict=found.strict,
    )
    return Plan(stored, fresh_until, stale_until, keep)


#: The keys of a stored record: status, headers, body (base64), vary, stored at.
_FIELDS = frozenset({"s", "h", "b", "v", "t"})


def build_response(
    captured: Captured,
    request_headers: h.Headers,
    policy: CachePolicy,
    status: str,
    now: float,
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Return (status code, headers, body) of an answer from ``captured``.

    The stored header lines go out as stored (Date and Vary included), with
    the current Age (RFC 9111 section 4.2.3), an ETag (strong, from the body)
    if it had none, the policy's Cache-Control if it had none, the policy's
    ``vary_on`` names missing from its Vary, and Cache-Status. A matching
    conditional request gets 304; a single byte range of a 200, 206.
    """
    out = list(captured.headers)
    stored, asked = h.index(out), h.index(request_headers)  # one pass each: this is every hit
    etag = ", ".join(stored["etag"]) if "etag" in stored else None
    if etag is None:
        etag = h.strong_etag(captured.body)
        out.append(("etag", etag))
    if "cache-control" not in stored and policy.cache_control:
        out.append(("cache-control", policy.cache_control))
    listed = {n.lower() for n in h.split_list(stored.get("vary", ()))}
    extra = [n for n in policy.vary_on if n.lower() not in listed]
    if extra and "*" not in listed:
        out.append(("vary", ", ".join(extra)))
    out += [("age", str(int(captured.current_age(now)))), ("cache-status", status)]
    body, code = captured.body, captured.status
    modified = ", ".join(stored["last-modified"]) if "last-modified" in stored else None
    conditional = "if-none-match" in asked or "if-modified-since" in asked
    if code == 200 and conditional and h.not_modified(request_headers, etag, modified):
        out = [(k, v) for k, v in out if k.lower() not in ("content-length", "content-type")]
        return 304, out, b""
    if code == 200 and "range" in asked and "if-range" not in asked:
        try:
            span = exchange.byte_range(", ".join(asked["range"]), len(body))
        except ValueError:
            out = [(k, v) for k, v in out if k.lower() != "content-length"]
            out += [("content-range", f"bytes */{len(body)}"), ("content-length", "0")]
            return 416, out, b""
        if span is not None:
            first, last = span
            out = [(k, v) for k, v in out if k.lower() != "content-length"]
            out.append(("content-range", f"bytes {first}-{last}/{len(body)}"))
            code, body = 206, body[first : last + 1]
    out = [(k, v) for k, v in out if k.lower() != "content-length"]
    out.append(("content-length", str(len(body))))
    return code, out, body
