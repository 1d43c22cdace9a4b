"""What to do with a request given the response stored for it (RFC 9111 section 4).

:func:`decide` is the state machine the adapters drive: serve the stored
response, serve it stale while it is refreshed, validate it with the app
first, or fetch a new one. It reads numbers and flags, never the store.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from cache.web.rfc9111.directives import Directives, delta_seconds

__all__ = ["Action", "Decision", "Stored", "decide"]


class Action(enum.Enum):
    """The adapters' next step."""

    #: Serve the stored response.
    SERVE = "serve"
    #: Serve it stale and refresh it in the background (RFC 5861 stale-while-revalidate).
    SERVE_STALE = "serve-stale"
    #: Ask the app with the stored validators; a 304 freshens and serves the stored one.
    VALIDATE = "validate"
    #: Ask the app without validators.
    FETCH = "fetch"
    #: Answer 504: the client asked for a stored response only (``only-if-cached``).
    GATEWAY_TIMEOUT = "gateway-timeout"


@dataclass(frozen=True, slots=True)
class Stored:
    """The numbers about a stored response that decisions read."""

    #: Wall-clock second it stops being fresh.
    fresh_until: float
    #: Wall-clock second its stale-while-revalidate window ends.
    stale_until: float
    #: Seconds past ``stale_until`` it may stand in for a failure.
    stale_if_error: float
    #: ``no-cache``: validate on every use.
    revalidate: bool
    #: It carries an ETag or Last-Modified to validate with.
    validators: bool
    #: Its age at ``now`` (section 4.2.3).
    age: float
    #: ``must-revalidate`` and the like: never served stale (section 4.2.4).
    strict: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """An action, and whether the stored response may stand in if the app fails."""

    action: Action
    #: Seconds it stays fresh (negative: stale for that long).
    ttl: float
    #: The stored response may answer instead of an error (stale-if-error).
    fallback: bool
    #: The request's own directives forced the trip to the app (Cache-Status ``fwd=request``).
    by_request: bool = False


def decide(stored: Stored | None, now: float, request: Directives | None = None) -> Decision:
    """Return what to do with a request when ``stored`` (or nothing) is held for it.

    ``request``: the request's Cache-Control, when the configuration honours
    it (section 5.2.1); None ignores it.
    """
    if stored is None:
        only = request is not None and "only-if-cached" in request
        return Decision(Action.GATEWAY_TIMEOUT if only else Action.FETCH, 0.0, False)
    ttl = stored.fresh_until - now
    fallback = now < stored.stale_until + stored.stale_if_error
    fetch = Action.VALIDATE if stored.validators else Action.FETCH
    if stored.revalidate:  # section 5.2.2.4: no-cache
        return Decision(fetch, ttl, False)
    if request is not None:
        forced = _request_forces(stored, ttl, request)
        if forced is not None:
            action = Action.GATEWAY_TIMEOUT if "only-if-cached" in request else fetch
            return Decision(action if forced else Action.SERVE, ttl, fallback, by_request=forced)
    if ttl > 0:
        return Decision(Action.SERVE, ttl, fallback)
    if now < stored.stale_until:
        return Decision(Action.SERVE_STALE, ttl, fallback)
    return Decision(fetch, ttl, fallback)


def _request_forces(stored: Stored, ttl: float, request: Directives) -> bool | None:
    """Return whether the request's directives rule the stored response out.

    True: they do; False: they allow it (stale included); None: they change nothing.
    """
    if "no-cache" in request:
        return True
    max_age = delta_seconds(request, "max-age")
    if max_age is not None and stored.age > max_age:
        return True
    min_fresh = delta_seconds(request, "min-fresh")
    if min_fresh is not None and ttl < min_fresh:
        return True
    if "max-stale" in request and ttl <= 0 and not stored.strict:
        if request["max-stale"] is None:
            return False  # a bare max-stale accepts any staleness
        limit = delta_seconds(request, "max-stale")
        return limit is None or -ttl > limit
    return True if ttl <= 0 and "only-if-cached" in request else None
