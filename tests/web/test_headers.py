"""The pure HTTP helpers, without a server."""

from __future__ import annotations

from cache.web import headers as h
from cache.web import keys


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


def test_keys_normalise_and_delimit() -> None:
    assert keys.normalize_query(b"b=2&a=1&a=0&c=") == "a=1&a=0&b=2&c="
    # Repeated names keep their order, nothing is decoded: distinct requests stay distinct.
    assert keys.normalize_query("a=2&a=1") != keys.normalize_query("a=1&a=2")
    assert keys.normalize_query("q=a+b") != keys.normalize_query("q=a%20b")
    assert keys.normalize_host("Example.COM:443", "https") == "example.com"
    assert keys.normalize_host("example.com:8443", "https") == "example.com:8443"
    assert keys.without_port("example.com:8443") == "example.com"
    assert keys.without_port("[::1]:8000") == "[::1]" and keys.without_port("[::1]") == "[::1]"
    assert keys.vary_values([("Accept-Language", "  fr,   en ")], ["accept-language"]) == [
        ("accept-language", "fr, en")
    ]
    # An absent header is not an empty one (RFC 9111 section 4.1).
    assert keys.vary_values([], ["foo"]) != keys.vary_values([("Foo", "")], ["foo"])
    url = keys.url_key("page", "https", "example.com", "/posts/a b|c")
    assert url == "http:page:https://example.com/posts/a%20b%7Cc"
    # A value holding what looks like a delimiter cannot collide with a split one.
    one = keys.variant_key(url, "a=1", [("x", "1|2")])
    two = keys.variant_key(url, "a=1|x", [("x", "2")])
    assert one != two and one.startswith(url + "|")
    long = keys.url_key("page", "https", "example.com", "/" + "p" * 2000)
    assert len(long) < 200
