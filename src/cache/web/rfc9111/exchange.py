"""The messages around a stored response: what is kept, validated, updated, invalidated.

Pure functions over header lists (``(name, value)`` pairs, names in any case).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from cache.web.headers import Headers, get_header, get_headers, index
from cache.web.rfc9111.directives import format_http_date, parse_cache_control, split_items

__all__ = [
    "FORWARDED_HEADERS",
    "HOP_BY_HOP",
    "METHOD_OVERRIDES",
    "PRECONDITIONS",
    "SAFE_METHODS",
    "bypass_reason",
    "byte_range",
    "cache_status",
    "conditional_headers",
    "invalidation_targets",
    "storable_headers",
    "updated_headers",
]

#: Methods that do not change the resource; any other invalidates (RFC 9111 section 4.4).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

#: Never stored: per-connection fields (RFC 9110 section 7.6.1), proxy credentials
#: (RFC 9111 section 3.1), the cache's own and the upstream Age (recomputed).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "transfer-encoding",
        "upgrade",
        "proxy-authenticate",
        "proxy-authentication-info",
        "proxy-authorization",
        "trailer",
        "age",
        "cache-status",
        "surrogate-key",
        "cache-tag",
    }
)

#: Request headers that apps commonly reflect into responses (absolute links,
#: redirects) although they are not part of the URL. They join every key by
#: default: a value an attacker sends is stored under that value only, never
#: served to requests without it (cache poisoning), and caching keeps working
#: behind a proxy that sets them on every request.
FORWARDED_HEADERS = (
    "forwarded",
    "x-forwarded-host",
    "x-forwarded-scheme",
    "x-forwarded-proto",
    "x-forwarded-port",
    "x-forwarded-prefix",
    "x-original-url",
    "x-rewrite-url",
    "x-host",
)

#: Request headers that make a GET act as another method in many frameworks: a
#: request carrying one goes to the app uncached by default.
METHOD_OVERRIDES = ("x-http-method-override", "x-http-method", "x-method-override")

#: Request fields whose answer depends on the resource's current state (RFC 9110
#: section 13): the app must judge them, so such requests bypass the cache.
PRECONDITIONS = ("if-match", "if-unmodified-since", "if-range")

#: Not taken from a 304 into the stored response (RFC 9111 section 3.2).
_NOT_UPDATED = frozenset({"content-length", "content-encoding", "content-range"})

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def bypass_reason(
    headers: Headers,
    *,
    bypass: Sequence[str],
    authorization: bool = False,
    cookies: bool = False,
    body: bool = False,
) -> str | None:
    """Return why a GET or HEAD must go to the app uncached, or None.

    ``authorization``, ``cookies``, ``body``: the route allows caching requests
    that carry them. ``bypass``: header names whose presence bypasses.
    """
    found = index(headers)  # a hit runs this: one pass over the request's lines
    length = found.get("content-length")
    has_body = (length is not None and length != ["0"]) or "transfer-encoding" in found
    request_cc = parse_cache_control(found.get("cache-control", ()))
    checks = (
        ("authorization", not authorization and "authorization" in found),
        ("cookie", not cookies and "cookie" in found),
        ("body", not body and has_body),
        ("no-store", "no-store" in request_cc),
        ("precondition", any(n in found for n in PRECONDITIONS)),
        ("bypass-header", any(n in found for n in bypass)),
    )
    return next((reason for reason, applies in checks if applies), None)


def storable_headers(headers: Headers, received: float) -> list[tuple[str, str]]:
    """Return the header lines to store: no hop-by-hop ones, a Date (RFC 9110 section 6.6.1)."""
    listed = {item.lower() for item in split_items(get_headers(headers, "connection"))}
    kept = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP and k.lower() not in listed]
    if not get_headers(kept, "date"):
        kept.append(("date", format_http_date(received)))
    return kept


def conditional_headers(stored: Headers) -> list[tuple[str, str]]:
    """Return the validators to send when revalidating ``stored`` (RFC 9111 section 4.3.1)."""
    found = []
    etag = get_header(stored, "etag")
    if etag is not None:
        found.append(("if-none-match", etag))
    modified = get_header(stored, "last-modified")
    if modified is not None:
        found.append(("if-modified-since", modified))
    return found


def updated_headers(stored: Headers, fresh: Headers, received: float) -> list[tuple[str, str]]:
    """Return ``stored`` updated with the fields of a 304 received at ``received`` (3.2).

    Every field the 304 carries replaces the stored lines of that name,
    except the framing fields, which describe the stored body. A 304 without
    a Date gets one for when it was received (RFC 9110 section 6.6.1), so the
    freshened response's age starts again.
    """
    incoming = [
        (k, v) for k, v in storable_headers(fresh, received) if k.lower() not in _NOT_UPDATED
    ]
    names = {k.lower() for k, _ in incoming}
    return [(k, v) for k, v in stored if k.lower() not in names] + incoming


def invalidation_targets(path: str, host: str, response_headers: Headers) -> list[str]:
    """Return the paths an unsafe request invalidates (RFC 9111 section 4.4).

    Its own, and those of ``Location`` and ``Content-Location`` when they
    name the same host (never another origin's, to stop denial of service).
    """
    targets = [path]
    for name in ("location", "content-location"):
        value = get_header(response_headers, name)
        if not value:
            continue
        parts = urlsplit(value.strip())
        if parts.netloc and parts.netloc.lower() != host:
            continue
        target = parts.path
        if not target.startswith("/"):  # relative to the request's path
            target = path.rsplit("/", 1)[0] + "/" + target
        if target not in targets:
            targets.append(target)
    return targets


def byte_range(value: str | None, length: int) -> tuple[int, int] | None:
    """Return the one byte range ``value`` asks of ``length`` bytes, as (first, last).

    None if there is no range to serve from it (absent, several ranges, or
    another unit): the whole response is then sent, as a server may
    (RFC 9110 section 14.2). Raises ValueError if it cannot be satisfied.
    """
    if value is None:
        return None
    match = _RANGE.fullmatch(value.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first:
        if not last:
            return None
        start = max(0, length - int(last))
        end = length - 1
    else:
        start = int(first)
        end = min(int(last), length - 1) if last else length - 1
    if start > end or start >= length:
        raise ValueError(f"range {value!r} is outside the {length} bytes")
    return start, end


def cache_status(
    *,
    hit: bool = False,
    fwd: str | None = None,
    fwd_status: int | None = None,
    ttl: float | None = None,
    stored: bool = False,
    collapsed: bool = False,
    detail: str | None = None,
    name: str = "cache",
) -> str:
    """Return a Cache-Status member for this cache (RFC 9211 section 2).

    ``fwd``: why the request went to the app (``bypass``, ``method``,
    ``uri-miss``, ``vary-miss``, ``miss``, ``request``, ``stale``);
    ``ttl`` may be negative (stale).
    """
    parts: list[str] = [name]
    if hit:
        parts.append("hit")
    elif fwd:
        parts.append(f"fwd={fwd}")
        if fwd_status is not None:
            parts.append(f"fwd-status={fwd_status}")
    if ttl is not None:
        parts.append(f"ttl={int(ttl) if ttl >= 0 else -int(-ttl + 0.999999)}")
    if stored:
        parts.append("stored")
    if collapsed:
        parts.append("collapsed")
    if detail:
        parts.append(f'detail="{detail}"' if not _TOKEN.fullmatch(detail) else f"detail={detail}")
    return "; ".join(parts)


_TOKEN = re.compile(r"[A-Za-z*][A-Za-z0-9!#$%&'*+.^_`|~:/-]*")
