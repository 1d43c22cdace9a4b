"""ASGI types, the routes and cacheable requests of CacheMiddleware, header (de)coding."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cache.advanced.policies import CachePolicy
from cache.backend.validation import check_key, compile_pattern
from cache.errors import CacheTypeError
from cache.web import headers as h
from cache.web import keys

__all__ = [
    "ASGIApp",
    "Cacheable",
    "Message",
    "Receive",
    "Route",
    "Scope",
    "Send",
    "check_routes",
    "decode_headers",
    "encode_headers",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class Route:
    """Responses whose path fully matches ``pattern`` are cached under ``content_type``'s policy.

    The ``allow_*`` switches opt in to caching requests that are bypassed by
    default: with ``Authorization`` (a response is then shared only if it says
    ``public``, ``s-maxage`` or ``must-revalidate``, RFC 9111 section 3.5),
    with ``Cookie`` (every user then shares the response), or with a body.
    A ``Range`` request is answered from a stored complete response (206);
    on a miss it goes to the app as it is and the partial answer is not
    stored, unless ``allow_range`` asks the app for the whole response, which
    is then stored and the range cut from it.
    """

    pattern: str
    content_type: str
    allow_authorization: bool = False
    allow_range: bool = False
    allow_body: bool = False
    allow_cookies: bool = False
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", compile_pattern(self.pattern, "route pattern"))
        check_key(self.content_type, "content_type")  # a name given to register_policy


def check_routes(routes: object) -> list[Route]:
    """Return ``routes`` (a mapping of pattern to content type, or Routes) as a list of Route."""
    if isinstance(routes, Mapping):
        return [Route(pattern, content_type) for pattern, content_type in routes.items()]
    if not isinstance(routes, (str, bytes)) and isinstance(routes, Iterable):
        found = list(routes)
        if all(isinstance(route, Route) for route in found):
            return found
    raise CacheTypeError(
        f"routes must be a mapping of path pattern to content type, e.g. "
        f"{{'/posts/.*': 'post'}}, or a list of Route, got {type(routes).__name__} {routes!r:.60}"
    )


@dataclass(slots=True)
class Cacheable:
    """A GET or HEAD that may be answered from the cache: what its keys are built from."""

    scope: Scope
    route: Route
    policy: CachePolicy
    headers: h.Headers
    #: Request headers that are part of every key (``key_headers``).
    key_headers: tuple[str, ...] = ()

    #: The URL key, once computed (every variant of the URL shares it).
    url: str = field(default="", init=False)

    def __post_init__(self) -> None:
        scheme = self.scope.get("scheme", "http")
        host = keys.normalize_host(h.get_header(self.headers, "host"), scheme)
        self.url = keys.url_key(self.route.content_type, scheme, host, self.scope["path"])

    def keys(self, vary: Sequence[str]) -> tuple[str, str]:
        """Return the URL key and the key of the variant selected by the headers ``vary`` names."""
        query = keys.normalize_query(self.scope.get("query_string", b""))
        names = [*self.policy.vary_on, *vary, *self.key_headers]
        return self.url, keys.variant_key(self.url, query, keys.vary_values(self.headers, names))


def decode_headers(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw]


def encode_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
