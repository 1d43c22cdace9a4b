"""The RFC 9111 decision core as pure functions: parsing, storing, freshness, decisions."""

from __future__ import annotations

import pytest

from cache.web.rfc9111 import exchange
from cache.web.rfc9111.decide import Action, Stored, decide
from cache.web.rfc9111.directives import (
    age_value,
    http_date,
    parse_cache_control,
    targeted_directives,
)
from cache.web.rfc9111.freshness import Defaults, freshness, response_directives, store_reason
from cache.web.stored import Captured, build_response, plan_store

DEFAULTS = Defaults(lifetime=300.0, stale_while_revalidate=0.0, stale_if_error=60.0)
NOW = 1_800_000_000.0
DATE = "Fri, 15 Jan 2027 08:00:00 GMT"


def test_cache_control_keeps_quoted_commas_whole_and_the_first_duplicate() -> None:
    cc = parse_cache_control(['extension="max-age=3600", Max-Age=1', "max-age=99, No-Store"])
    assert cc == {"extension": "max-age=3600", "max-age": "1", "no-store": None}
    assert parse_cache_control([]) == {}


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("Fri, 15 Jan 2027 08:00:00 GMT", 1800000000.0),
        ("Friday, 15-Jan-27 08:00:00 GMT", 1800000000.0),  # RFC 850
        ("Fri Jan 15 08:00:00 2027", 1800000000.0),  # asctime
        ("Fri, 15 Jan 2027 08:00:00 UTC", None),
        ("Fri, 15 Jan 27 08:00:00 GMT", None),
        ("Fri 15 Jan 2027 08:00:00 GMT", None),
        ("Fri,  15 Jan 2027 08:00:00 GMT", None),
        ("Fri, 15-Jan-2027 08:00:00 GMT", None),
        ("Fri, 15 Jan 2027 08.00.00 GMT", None),
        ("Fri, 15 Jan 2027 8:00:00 GMT", None),
        ("0", None),
    ],
)
def test_http_dates_accept_the_three_forms_exactly(value: str, parsed: float | None) -> None:
    assert http_date(value) == parsed


def test_age_uses_the_first_item_of_the_first_line_and_ignores_nonsense() -> None:
    assert age_value(["7200, 0"]) == 7200
    assert age_value(["0", "7200"]) == 0
    assert age_value(["-1"]) is None and age_value(["1.5"]) is None and age_value([]) is None
    assert age_value(["2147483649"]) == 2**31


def test_targeted_field_wins_and_an_invalid_one_is_ignored() -> None:
    headers = [("Cache-Control", "no-store"), ("CDN-Cache-Control", "max-age=60")]
    assert response_directives(headers, ("cdn-cache-control",)) == {"max-age": "60"}
    for bad in ("max-age=10000, &&&&&", 'max-age="10000"'):
        assert targeted_directives([bad]) is None
        invalid = [("Cache-Control", "no-store"), ("CDN-Cache-Control", bad)]
        assert response_directives(invalid, ("cdn-cache-control",)) == {"no-store": None}


def _fresh(headers: list[tuple[str, str]], status: int = 200, received: float = NOW) -> float:
    cc = response_directives(headers, ())
    return freshness(
        status, headers, cc, requested=received, received=received, defaults=DEFAULTS
    ).ttl


def test_lifetime_precedence_s_maxage_max_age_expires_heuristic() -> None:
    expires = [("Date", DATE), ("Expires", "Fri, 15 Jan 2027 08:10:00 GMT")]
    at = NOW
    assert _fresh([("Cache-Control", "max-age=30, s-maxage=10")]) == 10
    assert _fresh([("Cache-Control", "max-age=30"), *expires], received=at) == 30
    assert _fresh(expires, received=at) == 600
    assert _fresh([("Expires", "0")]) == 0  # invalid: already expired
    assert _fresh([]) == 300  # the policy's timeout, as the heuristic
    assert _fresh([], status=403) == 0  # not heuristically cacheable
    assert _fresh([("Cache-Control", "max-age=-1")]) == 0
    assert _fresh([("Cache-Control", "max-age=003600")]) == 3600


def test_age_counts_the_upstream_age_and_the_time_in_transit() -> None:
    headers = [("Cache-Control", "max-age=3600"), ("Age", "3000")]
    cc = response_directives(headers, ())
    found = freshness(200, headers, cc, requested=NOW - 5, received=NOW, defaults=DEFAULTS)
    assert found.age == 3005 and found.ttl == 595


def test_must_revalidate_and_s_maxage_forbid_the_policys_stale_windows() -> None:
    for directive in ("must-revalidate", "proxy-revalidate", "no-cache", "s-maxage=5"):
        cc = parse_cache_control([f"max-age=5, {directive}"])
        found = freshness(200, [], cc, requested=NOW, received=NOW, defaults=DEFAULTS)
        assert found.stale_if_error == 0 and found.strict
    own = parse_cache_control(["max-age=5, stale-while-revalidate=7, stale-if-error=9"])
    found = freshness(200, [], own, requested=NOW, received=NOW, defaults=DEFAULTS)
    assert (found.stale_while_revalidate, found.stale_if_error) == (7, 9)


@pytest.mark.parametrize(
    ("status", "headers", "authorized", "reason"),
    [
        (200, [], False, None),
        (500, [], False, "status"),
        (500, [("Cache-Control", "max-age=60")], False, None),  # explicit: any final status
        (206, [("Cache-Control", "max-age=60")], False, "status"),
        (200, [("Cache-Control", "nO-StOrE")], False, "no-store"),
        (200, [("Cache-Control", "private, max-age=60")], False, "private"),
        (200, [("Cache-Control", "max-age=60")], True, "authorization"),
        (200, [("Cache-Control", "max-age=60, public")], True, None),
        (200, [("Vary", "Accept, *")], False, "vary-star"),
        (200, [("Set-Cookie", "a=1")], False, "set-cookie"),
        (200, [("Set-Cookie", "a=1"), ("Cache-Control", "max-age=60")], False, None),
        (
            599,
            [("Cache-Control", "max-age=60, no-store, must-understand")],
            False,
            "must-understand",
        ),
        (200, [("Cache-Control", "max-age=60, no-store, must-understand")], False, None),
    ],
)
def test_store_reason(
    status: int, headers: list[tuple[str, str]], authorized: bool, reason: str | None
) -> None:
    cc = response_directives(headers, ())
    assert store_reason(status, headers, cc, authorized=authorized) == reason


def _stored(**changes: object) -> Stored:
    base = {
        "fresh_until": NOW + 10,
        "stale_until": NOW + 20,
        "stale_if_error": 30.0,
        "revalidate": False,
        "validators": True,
        "age": 5.0,
    }
    return Stored(**{**base, **changes})  # type: ignore[arg-type]


def test_decisions_over_the_life_of_a_stored_response() -> None:
    assert decide(None, NOW).action is Action.FETCH
    assert decide(_stored(), NOW).action is Action.SERVE
    assert decide(_stored(), NOW + 15).action is Action.SERVE_STALE
    late = decide(_stored(), NOW + 25)
    assert late.action is Action.VALIDATE and late.fallback
    assert decide(_stored(validators=False), NOW + 25).action is Action.FETCH
    assert not decide(_stored(), NOW + 55).fallback
    assert decide(_stored(revalidate=True), NOW).action is Action.VALIDATE


def test_request_directives_when_honoured() -> None:
    def action(directives: str, at: float = NOW) -> Action:
        return decide(_stored(), at, parse_cache_control([directives])).action

    assert action("no-cache") is Action.VALIDATE
    assert action("max-age=1") is Action.VALIDATE  # it is 5 s old
    assert action("min-fresh=60") is Action.VALIDATE
    assert action("max-stale", NOW + 100) is Action.SERVE
    assert action("max-stale=5", NOW + 100) is Action.VALIDATE
    assert action("only-if-cached", NOW + 100) is Action.GATEWAY_TIMEOUT
    assert decide(None, NOW, {"only-if-cached": None}).action is Action.GATEWAY_TIMEOUT


def test_stored_headers_drop_hop_by_hop_fields_and_gain_a_date() -> None:
    stored = exchange.storable_headers(
        [("Connection", "X-Hop"), ("X-Hop", "1"), ("Keep-Alive", "5"), ("Age", "9"), ("A", "1")],
        NOW,
    )
    assert [k for k, _ in stored] == ["A", "date"]


def test_a_304_updates_the_stored_fields_but_not_the_framing() -> None:
    stored = [("ETag", '"a"'), ("Test", "1"), ("Content-Length", "5")]
    fresh = [("Test", "2"), ("Content-Length", "0")]
    assert exchange.updated_headers(stored, fresh, NOW) == [
        ("ETag", '"a"'),
        ("Content-Length", "5"),
        ("Test", "2"),
        ("date", DATE),  # the 304 had none: it gets the time it was received
    ]


def test_invalidation_targets_stay_on_the_host() -> None:
    headers = [("Location", "/b"), ("Content-Location", "http://evil.test/c")]
    assert exchange.invalidation_targets("/a", "example.com", headers) == ["/a", "/b"]


def test_cache_status_spells_rfc_9211_parameters() -> None:
    assert exchange.cache_status(hit=True, ttl=42.7) == "cache; hit; ttl=42"
    assert exchange.cache_status(fwd="miss", fwd_status=200, stored=True) == (
        "cache; fwd=miss; fwd-status=200; stored"
    )
    assert exchange.cache_status(fwd="stale", ttl=-0.5, collapsed=True) == (
        "cache; fwd=stale; ttl=-1; collapsed"
    )


def test_answers_carry_age_date_and_ranges() -> None:
    from cache.advanced import CachePolicy

    captured = Captured(200, [("Cache-Control", "max-age=60"), ("Age", "10")], b"0123456789")
    plan = plan_store(captured, requested=NOW, received=NOW, defaults=DEFAULTS, targeted=())
    assert plan.keep > 0 and plan.fresh_until == NOW + 50
    policy = CachePolicy(timeout=60)
    code, out, body = build_response(plan.captured, [("Range", "bytes=2-4")], policy, "s", NOW + 5)
    assert (code, body) == (206, b"234")
    assert dict(out)["age"] == "15" and dict(out)["content-range"] == "bytes 2-4/10"
    assert "date" in dict(out)
    code, out, _ = build_response(plan.captured, [("Range", "bytes=20-")], policy, "s", NOW)
    assert code == 416
