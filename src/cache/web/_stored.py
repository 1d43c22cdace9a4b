"""A stored response: its record format and the headers a cached answer carries.

Shared by the ASGI middleware and the Django adapter.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
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

    def record(self, vary: list[str], stored_at: float) -> dict[str, Any]:
        return {
            "s": self.status,
            "h": self.headers,
            "b": base64.b64encode(self.body).decode(),
            "v": vary,
            "t": stored_at,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Captured:
        return cls(
            int(record["s"]),
            [(k, v) for k, v in record["h"]],
            base64.b64decode(record["b"]),
            float(record["t"]),
        )


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
