"""Header lists and the validators of this cache's answers, as pure functions.

Headers are lists of ``(name, value)`` str pairs, names in any case. The
caching rules themselves (what is stored, for how long, what is served) are
in :mod:`cache.web.rfc9111`.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
from collections.abc import Iterable, Sequence

__all__ = [
    "Headers",
    "get_header",
    "get_headers",
    "index",
    "merge_vary",
    "not_modified",
    "split_list",
    "strong_etag",
]

Headers = Sequence[tuple[str, str]]


def get_headers(headers: Headers, name: str) -> list[str]:
    """Return every value of header ``name`` (case-insensitive), in order."""
    wanted = name.lower()
    return [value for key, value in headers if key.lower() == wanted]


def index(headers: Headers) -> dict[str, list[str]]:
    """Return ``{lower-cased name: values in order}``: one pass for many look-ups."""
    found: dict[str, list[str]] = {}
    for key, value in headers:
        found.setdefault(key.lower(), []).append(value)
    return found


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


def merge_vary(names: Iterable[str], headers: Headers) -> list[str]:
    """Return the union of ``names`` and the response's Vary, lower-cased, sorted (for keys)."""
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
