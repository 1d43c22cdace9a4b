"""Exceptions raised by the package.

Every error derives from :class:`CacheError` and also from the built-in that
describes it, so ``except ValueError`` keeps working for callers who do not
know this package.
"""

from __future__ import annotations

__all__ = [
    "BackendUnavailableError",
    "CacheConfigError",
    "CacheError",
    "CacheTypeError",
    "CacheValueError",
    "InvalidKeyError",
    "InvalidPatternError",
    "InvalidTimeoutError",
    "SerializationError",
    "UnknownContentTypeError",
    "UnknownWarmingTaskError",
    "ValueTooLargeError",
]


class CacheError(Exception):
    """Root of every error raised by the package."""


class CacheTypeError(CacheError, TypeError):
    """An argument or a stored value has the wrong type for the call."""


class CacheValueError(CacheError, ValueError):
    """An argument has the right type but an unusable value."""


class ValueTooLargeError(CacheValueError):
    """A value is larger than the engine's whole bound (``InMemoryCache(max_bytes=...)``).

    Nothing was stored. ``@cached`` and the other features that store what
    they computed treat it as "not cached" and return the value.
    """


class InvalidKeyError(CacheValueError):
    """A key is not acceptable (empty, too long)."""


class InvalidTimeoutError(CacheValueError):
    """A timeout is not a usable number of seconds."""


class UnknownContentTypeError(CacheError, LookupError):
    """A content type has no registered policy."""


class UnknownWarmingTaskError(CacheError, LookupError):
    """A key has no registered warming task."""


class InvalidPatternError(CacheValueError):
    """A pattern is not a valid regular expression."""


class CacheConfigError(CacheValueError):
    """A cache URL or setting cannot be used; the message names the part at fault."""


class SerializationError(CacheError, ValueError):
    """Stored bytes could not be turned back into a value (corrupt, tampered, foreign)."""


class BackendUnavailableError(CacheError, ConnectionError):
    """The server could not be reached (raised only with ``strict=True``)."""
