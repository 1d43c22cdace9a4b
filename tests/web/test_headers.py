"""The pure HTTP helpers, without a server."""

from __future__ import annotations

import pytest

from cache.web import headers as h
from cache.web import keys


def test_parse_cache_control() -> None:
    assert h.parse_cache_control('public, Max-Age=60, s-maxage="30", no-transform') == {
        "public": None,
        "max-age": "60",
        "s-maxage": "30",
        "no-transform": None,
    }
    assert h.parse_cache_control(None) == {}


@pytest.mark.parametrize(
    ("status", "headers", "reason"),
    [
        (200, [], None),
        (404, [("Cache-Control", "public")], None),
        (500, [], "status"),
        (206, [], "status"),
        (200, [("Set-Cookie", "a=1")], "set-cookie"),
        (200, [("cache-control", "private, max-age=60")], "private"),
        (200, [("Cache-Control", "no-store")], "no-store"),
        (200, [("Cache-Control", "no-cache")], "no-cache"),
        (200, [("Cache-Control", "max-age=0")], "max-age=0"),
        (200, [("Cache-Control", "max-age=0, s-maxage=60")], None),  # s-maxage wins for us
        (200, [("Cache-Control", "s-maxage=0")], "max-age=0"),
        (200, [("Vary", "Accept, *")], "vary-star"),
    ],
)
def test_storable_response(status: int, headers: list[tuple[str, str]], reason: str | None) -> None:
    assert h.storable_response(status, headers) == reason


def test_response_ttl_prefers_the_apps_shared_max_age() -> None:
    assert h.response_ttl([("Cache-Control", "max-age=30, s-maxage=10")], 600) == 10
    assert h.response_ttl([("Cache-Control", "max-age=30")], 600) == 30
    assert h.response_ttl([], 600) == 600
    assert h.response_ttl([("Cache-Control", "max-age=soon")], 600) == 0


def test_strong_etag_is_stable_and_quoted() -> None:
    etag = h.strong_etag(b"hello")
    assert etag == h.strong_etag(b"hello") != h.strong_etag(b"hello!")
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")


def test_not_modified() -> None:
    assert h.not_modified([("If-None-Match", '"a", "b"')], '"b"', None)
    assert h.not_modified([("If-None-Match", 'W/"b"')], '"b"', None)  # weak comparison
    assert h.not_modified([("If-None-Match", "*")], '"b"', None)
    assert not h.not_modified([("If-None-Match", '"x"')], '"b"', None)
    lm = "Wed, 21 Oct 2026 07:28:00 GMT"
    assert h.not_modified([("If-Modified-Since", lm)], None, lm)
    assert not h.not_modified([("If-Modified-Since", "Tue, 20 Oct 2026 07:28:00 GMT")], None, lm)
    assert not h.not_modified([("If-Modified-Since", "garbage")], None, lm)
    # If-None-Match takes precedence over If-Modified-Since
    assert not h.not_modified([("If-None-Match", '"x"'), ("If-Modified-Since", lm)], '"b"', lm)


def test_cache_status() -> None:
    assert h.cache_status(True, ttl=42.7) == "cache; hit; ttl=42"
    assert h.cache_status(False, fwd="miss", detail="stored") == "cache; fwd=miss; detail=stored"


def test_keys_normalise_and_delimit() -> None:
    assert keys.normalize_query(b"b=2&a=1&a=0&c=") == "a=0&a=1&b=2&c="
    assert keys.normalize_host("Example.COM:443", "https") == "example.com"
    assert keys.normalize_host("example.com:8443", "https") == "example.com:8443"
    assert keys.vary_values([("Accept-Language", "  fr,   en ")], ["accept-language"]) == [
        ("accept-language", "fr, en")
    ]
    url = keys.url_key("page", "https", "example.com", "/posts/a b|c")
    assert url == "http:page:https://example.com/posts/a%20b%7Cc"
    # A value holding what looks like a delimiter cannot collide with a split one.
    one = keys.variant_key(url, "a=1", [("x", "1|2")])
    two = keys.variant_key(url, "a=1|x", [("x", "2")])
    assert one != two and one.startswith(url + "|")
    long = keys.url_key("page", "https", "example.com", "/" + "p" * 2000)
    assert len(long) < 200
