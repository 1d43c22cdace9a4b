"""Cache keys of HTTP requests, as pure functions.

A key has two levels: the URL key (scheme, host, path), under which every
variant of the URL lives, so that one prefix invalidation removes them all;
and the variant (query, with parameters in a canonical order, and the values
of the Vary and ``vary_on`` headers, an absent header told apart from an
empty one). Components are JSON-encoded before hashing, so no
value can be confused with a delimiter.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

from cache.web.headers import Headers

__all__ = [
    "normalize_host",
    "normalize_query",
    "url_key",
    "url_pattern",
    "url_tag",
    "variant_key",
    "vary_values",
    "without_port",
]


def _digest(parts: object, size: int = 24) -> str:
    data = json.dumps(parts, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(data).hexdigest()[:size]


def normalize_host(host: str | None, scheme: str) -> str:
    """Lower-case a Host value and drop the scheme's default port."""
    if not host:
        return ""
    host = host.strip().lower()
    default = {"http": ":80", "https": ":443"}.get(scheme)
    if default and host.endswith(default):
        host = host[: -len(default)]
    return host


def without_port(host: str) -> str:
    """Return ``host`` without its ``:port`` (an IPv6 literal keeps its brackets)."""
    name, colon, port = host.rpartition(":")
    if colon and port.isdigit() and (not name.startswith("[") or name.endswith("]")):
        return name
    return host


def normalize_query(query_string: bytes | str) -> str:
    """Return the query with its parameters sorted by name, as sent otherwise.

    Only the order of differently named parameters changes (every framework
    reads ``?a=1&b=2`` and ``?b=2&a=1`` alike); repeated names keep their
    order (``?a=2&a=1`` is not ``?a=1&a=2``) and nothing is decoded, so two
    requests an app could tell apart never share a key.
    """
    if isinstance(query_string, bytes):
        query_string = query_string.decode("latin-1")
    if not query_string:
        return ""
    pairs = query_string.split("&")
    return "&".join(sorted(pairs, key=lambda pair: pair.partition("=")[0]))


def vary_values(headers: Headers, names: Iterable[str]) -> list[tuple[str, str | None]]:
    """Return ``(name, value)`` for each header name, lower-cased; None if absent.

    Values are whitespace-normalised (RFC 9111 section 4.1 allows it); an
    absent header never matches an empty one.
    """
    wanted = {n.lower() for n in names}
    found: dict[str, list[str]] = {}
    for key, value in headers:  # one pass over the request's lines, whatever the names
        low = key.lower()
        if low in wanted:
            found.setdefault(low, []).append(value)
    out: list[tuple[str, str | None]] = []
    for name in sorted(wanted):
        lines = found.get(name)
        out.append((name, " ".join(", ".join(lines).split()) if lines else None))
    return out


def url_key(content_type: str, scheme: str, host: str, path: str) -> str:
    """Return the readable key prefix shared by every variant of one URL.

    ``http:<type>:<scheme>://<host><path>``, the path percent-encoded so that
    it holds no ``|``: prefix and pattern invalidation can name URLs. A very
    long URL is hashed instead.
    """
    key = f"http:{content_type}:{scheme}://{host}{quote(path, safe='/:@!$&()*+,;=-._~')}"
    if len(key) > 900:
        key = f"http:{content_type}:{scheme}://{host}/#{_digest(path, 32)}"
    return key


def url_tag(url: str) -> str:
    """Return the tag every stored variant of ``url`` (a URL key) carries.

    An unsafe request invalidates it, so that a response fetched before the
    request and stored after it is already out of date (its version was read
    before the app was asked).
    """
    return f"http-url:{_digest(url, 24)}"


def variant_key(url: str, query: str, varied: list[tuple[str, str | None]]) -> str:
    """Return the key of one variant of ``url``: ``<url key>|<digest of query and headers>``."""
    return f"{url}|{_digest([query, varied], 16)}"


def url_pattern(name: str) -> re.Pattern[str] | None:
    """Return the pattern of the stored HTTP keys of a URL or URL key, or None if it is neither.

    ``http://host/posts/1`` and ``http:post:http://host/posts/1`` name every
    stored variant of that URL (``...|<digest>``); the URL is spelt as the
    middleware spells it (``cache.web.keys``: host lower-cased, default port
    dropped, path percent-encoded). A query is ignored: it is in the digest.
    """
    kind, url = r"http:[^:|]+:", name
    if name.startswith("http:") and not name.startswith("http://") and "|" not in name:
        kind, _, url = name.partition(":")[2].partition(":")
        kind = re.escape(f"http:{kind}:")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    host = normalize_host(parts.netloc, parts.scheme)
    spelt = url_key("-", parts.scheme, host, parts.path or "/").removeprefix("http:-:")
    return re.compile(f"^{kind}{re.escape(spelt)}\\|")
