"""Key and timeout validation, shared by every engine."""

from __future__ import annotations

import datetime
import math

import pytest

from cache.backend.validation import (
    RESERVED_PREFIX,
    check_default_timeout,
    check_key,
    reserved_key,
    resolve_timeout,
)
from cache.errors import CacheTypeError, InvalidKeyError, InvalidTimeoutError


class Name(str):
    pass


def test_check_key_accepts_str_and_subclasses() -> None:
    assert check_key("a:b") == "a:b"
    plain = check_key(Name("x"))
    assert plain == "x" and type(plain) is str


def test_check_key_message_names_argument_and_fix() -> None:
    with pytest.raises(CacheTypeError, match=r"member must be a str, got int 5; convert"):
        check_key(5, "member")
    with pytest.raises(InvalidKeyError, match="hash long keys"):
        check_key("k" * 1025)


@pytest.mark.parametrize(
    ("timeout", "seconds"),
    [
        (None, 42.0),
        (10, 10.0),
        (0.5, 0.5),
        (datetime.timedelta(minutes=2), 120.0),
        (0, 0.0),
        (-3, -3.0),
        (math.inf, None),
    ],
)
def test_resolve_timeout(timeout: object, seconds: float | None) -> None:
    assert resolve_timeout(timeout, 42.0) == seconds  # type: ignore[arg-type]


def test_timeout_errors_name_the_argument() -> None:
    with pytest.raises(CacheTypeError, match="timeout must be a number of seconds"):
        resolve_timeout("soon", None)  # type: ignore[arg-type]
    with pytest.raises(InvalidTimeoutError, match="default_timeout must be positive"):
        check_default_timeout(0)
    assert check_default_timeout(datetime.timedelta(hours=1)) == 3600.0
    assert check_default_timeout(math.inf) is None


def test_reserved_keys_live_under_one_prefix() -> None:
    assert reserved_key("tag", "user:1") == RESERVED_PREFIX + "tag:user:1"
