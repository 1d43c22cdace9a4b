"""Locks in the backend: the claim a read may take, and the checks of lock arguments."""

from __future__ import annotations

from dataclasses import dataclass

from cache.backend.validation import check_key, check_seconds
from cache.errors import CacheTypeError

__all__ = ["Claim", "check_claim", "check_lease"]


@dataclass(frozen=True)
class Claim:
    """Ask :meth:`CacheBackend.get_entry` to take a lock when an entry nears expiry.

    The lock ``key`` is added (only if absent) with ``token`` for ``timeout``
    seconds when the entry exists and has at most ``when_ttl_below`` seconds
    left to live. As with :meth:`CacheBackend.lease`, a network engine takes
    no lock for a read whose caller already gave up (issue 4).
    """

    key: str
    token: str
    timeout: float
    when_ttl_below: float


def check_claim(claim: object) -> Claim | None:
    """Return ``claim`` (None or a valid :class:`Claim`), else raise naming the field at fault."""
    if claim is None:
        return None
    if not isinstance(claim, Claim):
        raise CacheTypeError(
            f"claim must be a Claim(key, token, timeout, when_ttl_below) or None, "
            f"got {type(claim).__name__}"
        )
    check_key(claim.key, "claim.key")
    check_seconds(claim.timeout, "claim.timeout", allow_zero=False)
    check_seconds(claim.when_ttl_below, "claim.when_ttl_below", allow_zero=True)
    return claim


def check_lease(key: object, token: object, timeout: object) -> tuple[str, str, float]:
    """Return the arguments of ``CacheBackend.lease`` checked, else raise naming the bad one."""
    return (
        check_key(key),
        check_key(token, "token"),
        check_seconds(timeout, "timeout", allow_zero=False),
    )
