"""HTTP caching rules as pure functions (RFC 9111 shared cache, RFC 9211 Cache-Status).

Headers are lists of ``(name, value)`` str pairs, names in any case.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
from collections.abc import Iterable, Sequence

__all__ = [
    "CACHEABLE_STATUSES",
    "Headers",
    "cache_status",
    "get_header",
    "get_headers",
    "merge_vary",
    "not_modified",
    "parse_cache_control",
    "response_ttl",
    "split_list",
    "storable_response",
    "strong_etag",
]

Headers = Sequence[tuple[str, str]]

#: Statuses a shared cache may store without explicit freshness (RFC 9110 section 15.1).
CACHEABLE_STATUSES = frozenset({200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501})


def get_headers(headers: Headers, name: str) -> list[str]:
    """Return every value of header ``name`` (case-insensitive), in order."""
    wanted = name.lower()
    return [value for key, value in headers if key.lower() == wanted]


def get_header(headers: Headers, name: str) -> str | None:
    """Return the values of ``name`` joined with ", ", or None if absent."""
    values = get_headers(headers, name)
    return ", ".join(values) if values else None


def split_list(values: Iterable[str], separators: str = ",") -> list[str]:
    """Split comma- (or other) separated header values into stripped, non-empty items."""
    items: list[str] = []
    for value in values:
        text = value
        for sep in separators[1:]:
            text = text.replace(sep, separators[0])
        items += [item.strip() for item in text.split(separators[0]) if item.strip()]
    return items


def parse_cache_control(value: str | None) -> dict[str, str | None]:
    """Parse a Cache-Control value into ``{directive: argument or None}`` (lower-case names)."""
    directives: dict[str, str | None] = {}
    for item in split_list([value or ""]):
        name, _, arg = item.partition("=")
        directives[name.strip().lower()] = arg.strip().strip('"') if arg else None
    return directives


def _seconds(directives: dict[str, str | None], name: str) -> int | None:
    arg = directives.get(name)
    if arg is None:
        return None
    try:
        return max(0, int(arg))
    except ValueError:
        return 0  # an unparsable age is stale (RFC 9111 section 4.2.1)


def storable_response(status: int, headers: Headers) -> str | None:
    """Return why a shared cache must not store this response, or None if it may."""
    if status not in CACHEABLE_STATUSES:
        return "status"
    if get_headers(headers, "set-cookie"):
        return "set-cookie"
    cc = parse_cache_control(get_header(headers, "cache-control"))
    for directive in ("no-store", "private", "no-cache"):
        if directive in cc:
            return directive
    if _seconds(cc, "s-maxage") == 0 or ("s-maxage" not in cc and _seconds(cc, "max-age") == 0):
        return "max-age=0"
    if "*" in split_list(get_headers(headers, "vary")):
        return "vary-star"
    return None


def response_ttl(headers: Headers, policy_timeout: float) -> float:
    """Return seconds to keep a response: the app's s-maxage or max-age, else the policy's."""
    cc = parse_cache_control(get_header(headers, "cache-control"))
    for name in ("s-maxage", "max-age"):
        seconds = _seconds(cc, name)
        if seconds is not None:
            return float(seconds)
    return policy_timeout


def merge_vary(names: Iterable[str], headers: Headers) -> list[str]:
    """Return the union of ``names`` and the response's Vary, lower-cased, sorted."""
    found = {n.lower() for n in names}
    found.update(n.lower() for n in split_list(get_headers(headers, "vary")))
    return sorted(found)


def strong_etag(body: bytes) -> str:
    """Return a strong ETag from the body's SHA-256: the same in every process."""
    digest = hashlib.sha256(body).digest()[:18]
    return '"' + base64.urlsafe_b64encode(digest).decode().rstrip("=") + '"'


def not_modified(request_headers: Headers, etag: str | None, last_modified: str | None) -> bool:
    """Return True if the conditional request can be answered with 304 (RFC 9110 section 13)."""
    inm = get_header(request_headers, "if-none-match")
    if inm is not None:
        if etag is None:
            return False
        tags = split_list([inm])
        weak = etag.removeprefix("W/")
        return "*" in tags or any(t.removeprefix("W/") == weak for t in tags)
    ims = get_header(request_headers, "if-modified-since")
    if ims is None or last_modified is None:
        return False
    try:
        since = email.utils.parsedate_to_datetime(ims)
        modified = email.utils.parsedate_to_datetime(last_modified)
    except (TypeError, ValueError):
        return False
    return modified <= since


def cache_status(
    hit: bool, *, ttl: float | None = None, fwd: str | None = None, detail: str | None = None
) -> str:
    """Build a Cache-Status value (RFC 9211) for this cache, named "cache"."""
    parts = ["cache"]
    if hit:
        parts.append("hit")
    elif fwd:
        parts.append(f"fwd={fwd}")
    if ttl is not None:
        parts.append(f"ttl={int(ttl)}")
    if detail:
        parts.append(f"detail={detail}")
    return "; ".join(parts)
