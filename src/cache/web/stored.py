"""The stored HTTP response: its record format, and the headers a cached answer carries.

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

__all__ = ["DROP", "Captured", "build_response"]

#: Not forwarded from a stored response: per-connection, or for this cache only.
DROP = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "surrogate-key",
        "cache-tag",
        "date",
        "age",
        "cache-status",
    }
)


@dataclass
class Captured:
    """A complete response held in memory."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    #: When it was stored, if it was read back from the cache.
    stored_at: float | None = None
    #: The request headers its variant is keyed on, if it was read back from the cache.
    vary: list[str] = field(default_factory=list)

    def record(self, vary: list[str], stored_at: float) -> dict[str, Any]:
        """Return the stored form, keyed on the request headers ``vary`` names."""
        return {
            "s": self.status,
            "h": self.headers,
            "b": base64.b64encode(self.body).decode(),
            "v": vary,
            "t": stored_at,
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


#: The keys of a stored record: status, headers, body (base64), vary, stored at.
_FIELDS = frozenset({"s", "h", "b", "v", "t"})


def build_response(
    captured: Captured,
    request_headers: h.Headers,
    policy: CachePolicy,
    status: str,
    age: float,
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Return (status code, headers, body) of an answer from ``captured``.

    Adds the ETag (strong, from the body), the policy's Cache-Control when the
    app sent none, Vary, Age and Cache-Status; answers a matching conditional
    request with 304.
    """
    out = [(k, v) for k, v in captured.headers if k.lower() not in DROP]
    etag = h.get_header(out, "etag")
    if etag is None:
        etag = h.strong_etag(captured.body)
        out.append(("etag", etag))
    if h.get_header(out, "cache-control") is None and policy.cache_control:
        out.append(("cache-control", policy.cache_control))
    vary = h.merge_vary(policy.vary_on, captured.headers)
    out = [(k, v) for k, v in out if k.lower() != "vary"]
    if vary:
        out.append(("vary", ", ".join(vary)))
    out += [("age", str(int(age))), ("cache-status", status)]
    body = captured.body
    code = captured.status
    if code == 200 and h.not_modified(request_headers, etag, h.get_header(out, "last-modified")):
        code, body = 304, b""
        out = [(k, v) for k, v in out if k.lower() not in ("content-length", "content-type")]
    elif h.get_header(out, "content-length") is None:
        out.append(("content-length", str(len(body))))
    return code, out, body
