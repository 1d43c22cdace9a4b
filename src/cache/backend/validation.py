"""Key and timeout validation: the one place every engine checks its arguments."""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Mapping

from cache._types import Timeout
from cache.errors import (
    CacheTypeError,
    CacheValueError,
    InvalidKeyError,
    InvalidPatternError,
    InvalidTimeoutError,
)

__all__ = [
    "MAX_KEY_LENGTH",
    "RESERVED_PREFIX",
    "check_count",
    "check_default_timeout",
    "check_index_name",
    "check_key",
    "check_scores",
    "check_seconds",
    "compile_pattern",
    "reserved_key",
    "resolve_timeout",
]

#: Longest key accepted, in characters: long enough for any templated key,
#: short enough that a runaway key (a whole request body) is caught early.
MAX_KEY_LENGTH = 1024

#: Keys the package itself writes (tag versions, locks, claims) start with this.
RESERVED_PREFIX = "__cache__:"


def check_key(key: object, name: str = "key") -> str:
    """Return ``key`` if it is a usable cache key, else raise naming the argument."""
    if type(key) is not str:
        if isinstance(key, str):  # a str subclass: accept, store as plain str
            return str(key)
        raise CacheTypeError(
            f"{name} must be a str, got {type(key).__name__} {key!r:.80}; "
            f"convert it first, e.g. {name}=str(...)"
        )
    if not key:
        raise InvalidKeyError(f"{name} must be a non-empty string")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKeyError(
            f"{name} is {len(key)} characters long, the limit is {MAX_KEY_LENGTH}; "
            f"hash long keys first (e.g. with hashlib.sha256)"
        )
    return key


def check_index_name(index: object) -> str:
    """Return ``index`` if it is a usable name for an ordered key index."""
    return check_key(index, "index")


def _seconds(timeout: object, name: str) -> float:
    if isinstance(timeout, datetime.timedelta):
        return timeout.total_seconds()
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise CacheTypeError(
            f"{name} must be a number of seconds or a datetime.timedelta, "
            f"got {type(timeout).__name__} {timeout!r:.80}"
        )
    if math.isnan(timeout):
        raise InvalidTimeoutError(f"{name} must be a number of seconds, got nan")
    return float(timeout)


def resolve_timeout(timeout: Timeout, default: float | None) -> float | None:
    """Turn a caller's ``timeout`` into seconds to live.

    ``None`` means the engine's ``default``; the result ``None`` means "never
    expires" (also for ``math.inf``); a result ``<= 0`` means "do not store,
    expire now".
    """
    if timeout is None:
        return default
    seconds = _seconds(timeout, "timeout")
    return None if seconds == math.inf else seconds


def check_default_timeout(timeout: Timeout) -> float | None:
    """Validate an engine's ``default_timeout``: ``None`` (never) or a positive duration."""
    if timeout is None:
        return None
    seconds = _seconds(timeout, "default_timeout")
    if seconds <= 0:
        raise InvalidTimeoutError(
            f"default_timeout must be positive or None (never expire), got {timeout!r}"
        )
    return None if seconds == math.inf else seconds


def reserved_key(*parts: str) -> str:
    """Build a key in the package's reserved namespace from ``parts``."""
    return RESERVED_PREFIX + ":".join(parts)


def check_seconds(value: object, name: str, allow_zero: bool) -> float:
    """Return a duration (a number of seconds or a timedelta) as float seconds, else raise."""
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CacheTypeError(
            f"{name} must be a number of seconds or a timedelta, got {type(value).__name__}"
        )
    if math.isnan(value) or math.isinf(value) or value < 0 or (value == 0 and not allow_zero):
        need = "0 or more" if allow_zero else "positive"
        raise InvalidTimeoutError(
            f"{name} must be a {need} finite number of seconds, got {value!r}"
        )
    return float(value)


def check_scores(members: Mapping[str, float]) -> dict[str, float]:
    """Validate an ``index_add`` mapping before anything is written."""
    if not isinstance(members, Mapping):
        raise CacheTypeError(
            f"members must be a mapping of member to score, got {type(members).__name__}"
        )
    checked: dict[str, float] = {}
    for member, score in members.items():
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            raise CacheTypeError(
                f"score of member {member!r} must be a number, got {type(score).__name__}"
            )
        checked[check_key(member, "member")] = float(score)
    return checked


def check_count(value: object, name: str, allow_none: bool = False) -> int | None:
    """Validate a count or size argument (a non-negative int)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise CacheTypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise CacheValueError(f"{name} must be 0 or more, got {value}")
    return value


def compile_pattern(pattern: object, name: str = "pattern") -> re.Pattern[str]:
    """Return ``pattern`` compiled (a str or an ``re.Pattern``), else raise naming the argument."""
    if isinstance(pattern, re.Pattern):
        return pattern
    if not isinstance(pattern, str):
        raise CacheTypeError(
            f"{name} must be a regular expression (str or re.Pattern), got {type(pattern).__name__}"
        )
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise InvalidPatternError(
            f"{name} {pattern!r} is not a valid regular expression ({exc}): "
            "escape literal characters with re.escape()"
        ) from None
