"""Key and timeout validation: the one place every engine checks its arguments."""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

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
    "MAX_SECONDS",
    "RESERVED_PREFIX",
    "check_count",
    "check_cutoff",
    "check_default_timeout",
    "check_delta",
    "check_encodable",
    "check_headers",
    "check_index_name",
    "check_key",
    "check_keys",
    "check_mapping",
    "check_number",
    "check_scores",
    "check_seconds",
    "compile_pattern",
    "reserved_key",
    "resolve_timeout",
]

#: Longest key accepted, in characters: long enough for any templated key,
#: short enough that a runaway key (a whole request body) is caught early.
MAX_KEY_LENGTH = 1024

#: Longest finite duration accepted (about 31,700 years): Redis refuses an
#: expiry past 2**63 ms, so 1e300 is refused here, before anything is sent,
#: not by the server as a failed call (issue 8). math.inf means "never".
MAX_SECONDS = 1e12

#: Keys the package itself writes (tag versions, locks, claims) start with this.
RESERVED_PREFIX = "__cache__:"


def check_key(key: object, name: str = "key", limit: int = MAX_KEY_LENGTH) -> str:
    """Return ``key`` if it is a usable cache key, else raise naming the argument.

    ``limit`` is lower than :data:`MAX_KEY_LENGTH` for a name the package
    embeds in a longer key of its own (a tag in its version key), so that the
    error names the caller's argument, not the key built from it (issue 9).
    """
    if type(key) is not str:
        if isinstance(key, str):  # a str subclass: accept, store as plain str
            return str(key)
        raise CacheTypeError(
            f"{name} must be a str, got {type(key).__name__} {key!r:.80}; "
            f"convert it first, e.g. {name}=str(...)"
        )
    if not key:
        raise InvalidKeyError(f"{name} must be a non-empty string")
    if len(key) > limit:
        raise InvalidKeyError(
            f"{name} is {len(key)} characters long, the limit is {limit}; "
            f"hash long keys first (e.g. with hashlib.sha256)"
        )
    return key


#: What is refused where an iterable of keys is expected: each is iterable,
#: but one by one it yields characters (or ints), never the keys meant (issue 9).
_NOT_KEY_LISTS = (str, bytes, bytearray, memoryview)


def check_keys(keys: object, name: str = "keys") -> list[str]:
    """Return ``keys`` (an iterable of keys) as a list of checked keys, else raise naming ``name``.

    A str is refused, not taken as its characters: ``delete_many("sentinel")``
    must not delete the key ``"s"``.
    """
    if isinstance(keys, _NOT_KEY_LISTS) or not isinstance(keys, Iterable):
        raise CacheTypeError(
            f"{name} must be an iterable of keys (a list, tuple or set of str), "
            f"got {type(keys).__name__} {keys!r:.60}; for one key write [{keys!r:.40}]"
        )
    checked = list(keys)
    for position, key in enumerate(checked):
        if type(key) is not str or not key or len(key) > MAX_KEY_LENGTH:
            checked[position] = check_key(key, f"{name}[{position}]")
    return checked


def check_mapping(mapping: object, name: str = "mapping") -> Mapping[str, Any]:
    """Return ``mapping`` if it is a Mapping of valid keys, else raise naming ``name``."""
    if not isinstance(mapping, Mapping):
        raise CacheTypeError(
            f"{name} must be a mapping of key to value (a dict), got "
            f"{type(mapping).__name__} {mapping!r:.60}; for (key, value) pairs write dict(pairs)"
        )
    for key in mapping:
        if type(key) is not str or not key or len(key) > MAX_KEY_LENGTH:
            check_key(key, f"a key of {name}")
    return mapping


def check_headers(headers: object, name: str = "headers") -> Mapping[str, str] | None:
    """Return ``headers`` (None or a Mapping of header name to value), else raise."""
    if headers is None or isinstance(headers, Mapping):
        return headers
    raise CacheTypeError(
        f"{name} must be a mapping of header name to value, e.g. {{'Accept': 'text/html'}}, "
        f"got {type(headers).__name__} {headers!r:.60}; for (name, value) pairs write dict(pairs)"
    )


def check_encodable(text: str, name: str = "key") -> str:
    """Return ``text`` if it can be encoded as UTF-8 (no lone surrogate), else raise.

    Only the engines that encode keys call it (Redis), after a cheap
    ``str.isascii()``, so that the shared check of every ``get`` stays as fast.
    """
    try:
        text.encode()
    except UnicodeEncodeError as exc:
        raise InvalidKeyError(
            f"{name} {text!r:.80} holds a lone surrogate {text[exc.start]!r} at position "
            f"{exc.start}, which UTF-8 cannot encode; decode bytes with errors='replace' "
            f"(or 'surrogatepass') or hash the key first"
        ) from None
    return text


def check_index_name(index: object) -> str:
    """Return ``index`` if it is a usable name for an ordered key index."""
    return check_key(index, "index")


def _seconds(timeout: object, name: str) -> float:
    if isinstance(timeout, datetime.timedelta):
        timeout = timeout.total_seconds()
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise CacheTypeError(
            f"{name} must be a number of seconds or a datetime.timedelta, "
            f"got {type(timeout).__name__} {timeout!r:.80}"
        )
    if math.isnan(timeout):
        raise InvalidTimeoutError(f"{name} must be a number of seconds, got nan")
    if MAX_SECONDS < timeout < math.inf:
        raise InvalidTimeoutError(
            f"{name} must be at most {MAX_SECONDS:g} seconds, got {timeout!r}; "
            f"for no expiry pass math.inf"
        )
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
    bad = math.isnan(value) or not 0 <= value <= MAX_SECONDS or (value == 0 and not allow_zero)
    if bad:
        need = "0 or more" if allow_zero else "positive"
        raise InvalidTimeoutError(
            f"{name} must be a {need} finite number of seconds (at most {MAX_SECONDS:g}), "
            f"got {value!r}"
        )
    return float(value)


def check_number(value: object, name: str, unit: str, allow_zero: bool = True) -> float:
    """Return ``value`` as a finite float, 0 or more (positive unless ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CacheTypeError(
            f"{name} must be a number of {unit}, got {type(value).__name__} {value!r:.60}"
        )
    if math.isnan(value) or math.isinf(value) or value < 0 or (value == 0 and not allow_zero):
        need = "0 or more" if allow_zero else "positive"
        raise CacheValueError(f"{name} must be a {need} finite number of {unit}, got {value!r}")
    return float(value)


def check_cutoff(cutoff: object) -> float:
    """Return an index score bound as a float (infinities allowed, nan refused), else raise."""
    if isinstance(cutoff, bool) or not isinstance(cutoff, (int, float)):
        raise CacheTypeError(f"cutoff must be a number, got {type(cutoff).__name__} {cutoff!r:.60}")
    if math.isnan(cutoff):
        raise CacheValueError("cutoff must be a number, got nan; pass e.g. time.time() - max_age")
    return float(cutoff)


def check_delta(delta: object) -> int:
    """Return ``delta`` if it is an int (not a bool), else raise naming it."""
    if isinstance(delta, bool) or not isinstance(delta, int):
        raise CacheTypeError(f"delta must be an int, got {type(delta).__name__} {delta!r:.60}")
    return delta


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
        if math.isnan(score):
            raise CacheValueError(f"score of member {member!r} must be a number, got nan")
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
