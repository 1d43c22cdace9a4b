"""Whether a response may be stored, and for how long it is fresh (RFC 9111 sections 3 and 4.2).

The origin's headers govern: ``s-maxage`` over ``max-age`` over ``Expires``
minus ``Date``; the policy's timeout is only the heuristic for a response
that states none. A policy never makes an origin's ``no-store``,
``private``, ``no-cache``, ``must-revalidate`` or past expiry looser.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cache.web.headers import Headers, get_headers
from cache.web.rfc9111.directives import (
    Directives,
    age_value,
    delta_seconds,
    http_date,
    parse_cache_control,
    split_items,
    targeted_directives,
)

__all__ = [
    "HEURISTIC_STATUSES",
    "UNDERSTOOD_STATUSES",
    "Defaults",
    "Freshness",
    "freshness",
    "response_directives",
    "store_reason",
]

#: Statuses whose responses may get a heuristic lifetime (RFC 9110 section 15.1).
HEURISTIC_STATUSES = frozenset({200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501})
#: Statuses whose caching rules this cache knows (for ``must-understand``, section 5.2.2.3).
UNDERSTOOD_STATUSES = HEURISTIC_STATUSES | {302, 303, 307, 400, 403, 500, 502, 503, 504}


@dataclass(frozen=True, slots=True)
class Defaults:
    """What the configuration supplies when the origin's headers say nothing."""

    #: The heuristic lifetime (the policy's timeout).
    lifetime: float
    #: The stale-while-revalidate window (the policy's).
    stale_while_revalidate: float
    #: The stale-if-error window (the middleware's).
    stale_if_error: float


@dataclass(frozen=True, slots=True)
class Freshness:
    """How long a stored response may be used, measured from when it was received."""

    #: Seconds fresh from its generation (section 4.2.1).
    lifetime: float
    #: Its corrected initial age when received (section 4.2.3).
    age: float
    #: Seconds past fresh it may be served while refreshed (RFC 5861).
    stale_while_revalidate: float
    #: Seconds past fresh (and the SWR window) it may stand in for a failure.
    stale_if_error: float
    #: ``no-cache``: every use must be validated with the origin first.
    revalidate: bool
    #: Whether the lifetime came from the origin rather than the heuristic.
    explicit: bool
    #: ``must-revalidate``, ``proxy-revalidate`` or ``no-cache``: never served
    #: stale; ``s-maxage``: only within the response's own stale-* windows.
    strict: bool

    @property
    def ttl(self) -> float:
        """Seconds it stays fresh from when it was received."""
        return self.lifetime - self.age


def response_directives(headers: Headers, targeted: Sequence[str]) -> Directives:
    """Return the directives this cache obeys: the first valid targeted field's, else Cache-Control.

    RFC 9213 section 2.1: a cache that recognises a targeted field (e.g.
    ``CDN-Cache-Control``) uses it instead of Cache-Control; an invalid one
    is ignored.
    """
    for name in targeted:
        lines = get_headers(headers, name)
        if lines:
            found = targeted_directives(lines)
            if found is not None:
                return found
    return parse_cache_control(get_headers(headers, "cache-control"))


def _explicit_lifetime(
    headers: Headers, cc: Directives, date: float | None, received: float
) -> float | None:
    """Return the lifetime the origin states, or None (section 4.2.1)."""
    for name in ("s-maxage", "max-age"):  # a shared cache prefers s-maxage
        seconds = delta_seconds(cc, name)
        if seconds is not None:
            return float(seconds)
    expires = get_headers(headers, "expires")
    if not expires:
        return None
    when = http_date(expires[0]) if len(expires) == 1 else None
    if when is None:
        return 0.0  # an invalid Expires means already expired (section 5.3)
    return max(0.0, when - (received if date is None else date))


def freshness(
    status: int,
    headers: Headers,
    cc: Directives,
    *,
    requested: float,
    received: float,
    defaults: Defaults,
) -> Freshness:
    """Return the freshness of a response requested at ``requested``, received at ``received``."""
    dates = get_headers(headers, "date")
    date = http_date(dates[0]) if len(dates) == 1 else None
    lifetime = _explicit_lifetime(headers, cc, date, received)
    explicit = lifetime is not None
    if lifetime is None:
        heuristic = status in HEURISTIC_STATUSES or "public" in cc
        lifetime = defaults.lifetime if heuristic else 0.0
    # Section 4.2.3: the age it already had, corrected for the time in transit.
    apparent = max(0.0, received - date) if date is not None else 0.0
    corrected = (age_value(get_headers(headers, "age")) or 0) + max(0.0, received - requested)
    age = max(apparent, corrected)
    # Section 4.2.4: these forbid serving it stale, whatever stale-* it also
    # carries; s-maxage forbids only the policy's windows (its own count, RFC 5861).
    strict = any(d in cc for d in ("must-revalidate", "proxy-revalidate", "no-cache"))
    swr = delta_seconds(cc, "stale-while-revalidate")
    sie = delta_seconds(cc, "stale-if-error")
    policy_may = not strict and "s-maxage" not in cc
    return Freshness(
        lifetime=lifetime,
        age=age,
        stale_while_revalidate=0.0
        if strict
        else float(swr)
        if swr is not None
        else (defaults.stale_while_revalidate if policy_may else 0.0),
        stale_if_error=0.0
        if strict
        else float(sie)
        if sie is not None
        else (defaults.stale_if_error if policy_may else 0.0),
        revalidate="no-cache" in cc,
        explicit=explicit,
        strict=not policy_may,
    )


def store_reason(
    status: int,
    headers: Headers,
    cc: Directives,
    *,
    authorized: bool,
) -> str | None:
    """Return why a shared cache must not store this response, or None if it may (section 3).

    ``authorized``: the request carried ``Authorization`` (section 3.5).
    """
    understood = status in UNDERSTOOD_STATUSES
    explicit = any(d in cc for d in ("max-age", "s-maxage", "public")) or bool(
        get_headers(headers, "expires")
    )
    checks = (
        # Interim, partial and not-modified responses are not stored whole.
        ("status", status < 200 or status in (206, 304)),
        ("must-understand", "must-understand" in cc and not understood),
        ("no-store", "no-store" in cc and not ("must-understand" in cc and understood)),
        ("private", "private" in cc),
        (
            "authorization",
            authorized and not any(d in cc for d in ("public", "s-maxage", "must-revalidate")),
        ),
        ("vary-star", "*" in split_items(get_headers(headers, "vary"))),
        ("status", not explicit and status not in HEURISTIC_STATUSES),
        # A cookie set for one visitor is shared only when the app said so with
        # explicit freshness; a lifetime from the policy alone never shares it.
        ("set-cookie", not explicit and bool(get_headers(headers, "set-cookie"))),
    )
    return next((reason for reason, applies in checks if applies), None)
