"""Bad input to the features (tags, invalidation, warming, policies, SWR, statistics)."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from cache.advanced import (
    CacheInvalidator,
    CachePolicy,
    CacheStatistics,
    CacheTag,
    CacheWarmer,
    ContentTypeCacheManager,
    StaleWhileRevalidateCache,
)
from cache.backend import CacheBackend
from cache.errors import (
    CacheTypeError,
    CacheValueError,
    InvalidKeyError,
    InvalidPatternError,
    UnknownContentTypeError,
    UnknownWarmingTaskError,
)
from tests.bad_input.conftest import Opened
from tests.bad_input.table import REDIS, Row, gen, params, refused_and_nothing_changed

NAN, INF = math.nan, math.inf
T, V, K = CacheTypeError, CacheValueError, InvalidKeyError
PAIRS = [("Accept", "text/html")]


def tag(c: CacheBackend) -> CacheTag:
    return CacheTag(c)


def inv(c: CacheBackend) -> CacheInvalidator:
    return CacheInvalidator(c)


def warmer(c: CacheBackend) -> CacheWarmer:
    return CacheWarmer(c)


def manager(c: CacheBackend) -> ContentTypeCacheManager:
    m = ContentTypeCacheManager(c)
    m.register_policy("p", CachePolicy(60, tags={"t"}, vary_on=["Accept"]))
    return m


def swr(c: CacheBackend) -> StaleWhileRevalidateCache:
    return StaleWhileRevalidateCache(c)


ROWS = [
    # -- CacheTag ---------------------------------------------------------------
    Row("tag-cache-str", lambda c: CacheTag("redis://"), T, "cache"),
    Row("tag-version-timeout", lambda c: CacheTag(c, version_timeout="x"), T, "timeout"),
    Row("tag-get-versions-str", lambda c: tag(c).get_versions("abc"), T, "tags"),
    Row("tag-get-versions-int", lambda c: tag(c).get_versions([1]), T, "tag"),
    Row("tag-get-versions-long", lambda c: tag(c).get_versions(["x" * 1020]), K, "tag"),
    Row("tag-cache-key-int", lambda c: tag(c).tag_cache_key(1, ["t"]), T, "key"),
    Row("tag-cache-key-tags-str", lambda c: tag(c).tag_cache_key("k", "t"), T, "tags"),
    Row("tag-invalidate-int", lambda c: tag(c).invalidate_tag(1), T, "tag"),
    Row("tag-invalidate-empty", lambda c: tag(c).invalidate_tag(""), K, "tag"),
    Row("tag-invalidate-long", lambda c: tag(c).invalidate_tag("x" * 1020), K, "tag is 1020"),
    Row("tag-invalidate-tags-str", lambda c: tag(c).invalidate_tags("abc"), T, "tags"),
    Row("tag-invalidate-tags-none", lambda c: tag(c).invalidate_tags(None), T, "tags"),
    Row("tag-invalidate-tags-long", lambda c: tag(c).invalidate_tags(["t", "x" * 1011]), K, "tag"),
    Row("tag-versions-match-pairs", lambda c: tag(c).versions_match([("t", "v")]), T, "recorded"),
    Row("tag-aget-versions-str", lambda c: tag(c).aget_versions("abc"), T, "tags"),
    Row("tag-atag-cache-key-int", lambda c: tag(c).atag_cache_key(1, []), T, "key"),
    Row("tag-ainvalidate-int", lambda c: tag(c).ainvalidate_tag(1), T, "tag"),
    Row("tag-ainvalidate-tags-str", lambda c: tag(c).ainvalidate_tags("abc"), T, "tags"),
    Row("tag-aversions-match-pairs", lambda c: tag(c).aversions_match([("t", "v")]), T, "recorded"),
    # -- CacheInvalidator -------------------------------------------------------
    Row("inv-cache-none", lambda c: CacheInvalidator(None), T, "cache"),
    Row("inv-max-keys-zero", lambda c: CacheInvalidator(c, max_keys=0), V, "max_keys"),
    Row("inv-max-keys-str", lambda c: CacheInvalidator(c, max_keys="9"), V, "max_keys"),
    Row("inv-registry-int", lambda c: CacheInvalidator(c, registry=1), T, "registry"),
    Row("inv-registry-long", lambda c: CacheInvalidator(c, registry="r" * 1010), K, "registry"),
    Row("inv-register-key-int", lambda c: inv(c).register_key(1), T, "keys"),
    Row("inv-register-key-empty", lambda c: inv(c).register_key(""), K, "keys"),
    Row("inv-register-keys-str", lambda c: inv(c).register_keys("abc"), T, "keys"),
    Row("inv-register-keys-int", lambda c: inv(c).register_keys(5), T, "keys"),
    Row("inv-register-keys-member", lambda c: inv(c).register_keys(["ok", 1]), T, "keys[1]"),
    Row("inv-register-surrogate", lambda c: inv(c).register_keys(["k\udcff"]), K, "member", REDIS),
    Row("inv-registered-keys-int", lambda c: inv(c).registered_keys(1), T, "prefix"),
    Row("inv-invalidate-keys-str", lambda c: inv(c).invalidate_keys("sentinel"), T, "keys"),
    Row("inv-invalidate-keys-int", lambda c: inv(c).invalidate_keys(["s", 1]), T, "keys[1]"),
    Row(
        "inv-pattern-bad", lambda c: inv(c).invalidate_pattern("("), InvalidPatternError, "pattern"
    ),
    Row("inv-pattern-int", lambda c: inv(c).invalidate_pattern(1), T, "pattern"),
    Row("inv-matching-bad", lambda c: inv(c).matching_keys("["), InvalidPatternError, "pattern"),
    Row("inv-prefix-int", lambda c: inv(c).invalidate_prefix(1), T, "prefix"),
    Row("inv-prefix-none", lambda c: inv(c).invalidate_prefix(None), T, "prefix"),
    Row("inv-cleanup-nan", lambda c: inv(c).cleanup_old_keys(NAN), V, "max_age_hours"),
    Row("inv-cleanup-inf", lambda c: inv(c).cleanup_old_keys(INF), V, "max_age_hours"),
    Row("inv-cleanup-negative", lambda c: inv(c).cleanup_old_keys(-1), V, "max_age_hours"),
    Row("inv-cleanup-str", lambda c: inv(c).cleanup_old_keys("24"), T, "max_age_hours"),
    Row("inv-cleanup-bool", lambda c: inv(c).cleanup_old_keys(True), T, "max_age_hours"),
    # -- CacheWarmer -------------------------------------------------------------
    Row("warm-cache-str", lambda c: CacheWarmer("memory://"), T, "cache"),
    Row("warm-concurrency-zero", lambda c: CacheWarmer(c, max_concurrency=0), V, "max_concurrency"),
    Row(
        "warm-concurrency-str", lambda c: CacheWarmer(c, max_concurrency="4"), T, "max_concurrency"
    ),
    Row("warm-timezone-str", lambda c: CacheWarmer(c, timezone="UTC"), T, "timezone"),
    Row("warm-key-int", lambda c: warmer(c).register_warming_task(1, gen), T, "key"),
    Row("warm-key-empty", lambda c: warmer(c).register_warming_task("", gen), K, "key"),
    Row("warm-generator", lambda c: warmer(c).register_warming_task("k", "gen"), T, "generator"),
    Row("warm-timeout-str", lambda c: warmer(c).register_warming_task("k", gen, "x"), T, "timeout"),
    Row("warm-timeout-zero", lambda c: warmer(c).register_warming_task("k", gen, 0), V, "timeout"),
    Row("warm-timeout-nan", lambda c: warmer(c).register_warming_task("k", gen, NAN), V, "timeout"),
    Row(
        "warm-schedule-bad",
        lambda c: warmer(c).register_warming_task("k", gen, schedule="x"),
        V,
        "schedule",
    ),
    Row(
        "warm-schedule-int",
        lambda c: warmer(c).register_warming_task("k", gen, schedule=5),
        T,
        "schedule",
    ),
    Row(
        "warm-scheduled-key-long",
        lambda c: warmer(c).register_warming_task("k" * 1000, gen, schedule="* * * * *"),
        K,
        "key",
    ),
    Row(
        "warm-unregister-unknown",
        lambda c: warmer(c).unregister_warming_task("nope"),
        UnknownWarmingTaskError,
        "nope",
    ),
    Row(
        "warm-run-unknown", lambda c: warmer(c).warm_cache("nope"), UnknownWarmingTaskError, "nope"
    ),
    # -- CachePolicy -------------------------------------------------------------
    Row("policy-timeout-str", lambda c: CachePolicy("60"), T, "timeout"),
    Row("policy-timeout-zero", lambda c: CachePolicy(0), V, "timeout"),
    Row("policy-timeout-nan", lambda c: CachePolicy(NAN), V, "timeout"),
    Row("policy-timeout-inf", lambda c: CachePolicy(INF), V, "timeout"),
    Row(
        "policy-swr-negative",
        lambda c: CachePolicy(60, stale_while_revalidate=-1),
        V,
        "stale_while_revalidate",
    ),
    Row(
        "policy-swr-str",
        lambda c: CachePolicy(60, stale_while_revalidate="1"),
        T,
        "stale_while_revalidate",
    ),
    Row("policy-tags-str", lambda c: CachePolicy(60, tags="posts"), T, "tags"),
    Row("policy-tags-int", lambda c: CachePolicy(60, tags=[1]), T, "tags"),
    Row("policy-tags-long", lambda c: CachePolicy(60, tags=["x" * 1020]), K, "tags"),
    Row("policy-vary-str", lambda c: CachePolicy(60, vary_on="Accept"), T, "vary_on"),
    Row("policy-vary-int", lambda c: CachePolicy(60, vary_on=[1]), V, "vary_on"),
    Row("policy-vary-colon", lambda c: CachePolicy(60, vary_on=["a:b"]), V, "vary_on"),
    Row("policy-control-empty", lambda c: CachePolicy(60, cache_control=" "), T, "cache_control"),
    Row("policy-control-int", lambda c: CachePolicy(60, cache_control=5), T, "cache_control"),
    # -- ContentTypeCacheManager -------------------------------------------------
    Row("ctm-cache-str", lambda c: ContentTypeCacheManager("x"), T, "cache"),
    Row("ctm-tag-manager", lambda c: ContentTypeCacheManager(c, tag_manager="x"), T, "tag_manager"),
    Row("ctm-register-name", lambda c: manager(c).register_policy(1, CachePolicy(1)), T, "name"),
    Row(
        "ctm-register-policy",
        lambda c: manager(c).register_policy("q", {"timeout": 1}),
        T,
        "policy",
    ),
    Row(
        "ctm-policy-unknown",
        lambda c: manager(c).get_policy("nope"),
        UnknownContentTypeError,
        "nope",
    ),
    Row("ctm-key-float-id", lambda c: manager(c).cache_key("p", 1.5), T, "content_id"),
    Row("ctm-key-bool-id", lambda c: manager(c).cache_key("p", True), T, "content_id"),
    Row("ctm-key-headers-pairs", lambda c: manager(c).cache_key("p", 1, PAIRS), T, "headers"),
    Row("ctm-key-long-id", lambda c: manager(c).cache_key("p", "i" * 1020), K, "content_id"),
    Row(
        "ctm-store-extra-str",
        lambda c: manager(c).cache_content("p", 1, "v", extra_tags="ab"),
        T,
        "extra_tags",
    ),
    Row(
        "ctm-store-headers",
        lambda c: manager(c).cache_content("p", 1, "v", headers=PAIRS),
        T,
        "headers",
    ),
    Row(
        "ctm-store-object",
        lambda c: manager(c).cache_content("p", 1, object()),
        T,
        "content",
        REDIS,
    ),
    Row(
        "ctm-store-int-keys",
        lambda c: manager(c).cache_content("p", 1, {1: "a"}),
        T,
        "content",
        REDIS,
    ),
    Row(
        "ctm-store-unknown",
        lambda c: manager(c).cache_content("nope", 1, "v"),
        UnknownContentTypeError,
        "nope",
    ),
    Row(
        "ctm-get-headers-pairs",
        lambda c: manager(c).get_cached_content("p", 1, headers=PAIRS),
        T,
        "headers",
    ),
    Row(
        "ctm-get-headers-str",
        lambda c: manager(c).get_cached_content("p", 1, headers="Accept"),
        T,
        "headers",
    ),
    Row(
        "ctm-invalidate-headers",
        lambda c: manager(c).invalidate_content("p", 1, headers=PAIRS),
        T,
        "headers",
    ),
    Row(
        "ctm-generate-generator", lambda c: manager(c).get_or_generate("p", 1, "v"), T, "generator"
    ),
    Row(
        "ctm-generate-extra",
        lambda c: manager(c).get_or_generate("p", 1, gen, extra_tags="ab"),
        T,
        "extra_tags",
    ),
    Row(
        "ctm-agenerate-headers",
        lambda c: manager(c).aget_or_generate("p", 1, gen, headers=PAIRS),
        T,
        "headers",
    ),
    # -- StaleWhileRevalidateCache -----------------------------------------------
    Row("swr-cache-str", lambda c: StaleWhileRevalidateCache("x"), T, "cache"),
    Row(
        "swr-lock-timeout",
        lambda c: StaleWhileRevalidateCache(c, lock_timeout=0),
        V,
        "lock_timeout",
    ),
    Row(
        "swr-beta-negative",
        lambda c: StaleWhileRevalidateCache(c, early_refresh_beta=-1),
        V,
        "early_refresh_beta",
    ),
    Row("swr-key-int", lambda c: swr(c).get_with_swr(1, gen, 10), T, "key"),
    Row("swr-key-long", lambda c: swr(c).get_with_swr("k" * 1020, gen, 10, 5), K, "key is 1020"),
    Row("swr-generator", lambda c: swr(c).get_with_swr("k", "v", 10), T, "generator"),
    Row("swr-timeout-str", lambda c: swr(c).get_with_swr("k", gen, "10"), T, "timeout"),
    Row("swr-timeout-zero", lambda c: swr(c).get_with_swr("k", gen, 0), V, "timeout"),
    Row("swr-stale-negative", lambda c: swr(c).get_with_swr("k", gen, 10, -1), V, "stale_timeout"),
    Row("swr-tags-str", lambda c: swr(c).get_with_swr("k", gen, 10, tags="ab"), T, "tags"),
    Row("swr-store-if", lambda c: swr(c).get_with_swr("k", gen, 10, store_if=1), T, "store_if"),
    Row("swr-refresh-key", lambda c: swr(c).refresh("", gen, 10), K, "key"),
    Row("swr-aget-timeout-nan", lambda c: swr(c).aget_with_swr("k", gen, NAN), V, "timeout"),
    Row("swr-arefresh-tags", lambda c: swr(c).arefresh("k", gen, 10, tags="ab"), T, "tags"),
    # -- CacheStatistics ---------------------------------------------------------
    Row("stats-window-zero", lambda c: CacheStatistics(window=0), V, "window"),
    Row("stats-window-nan", lambda c: CacheStatistics(window=NAN), V, "window"),
    Row("stats-window-str", lambda c: CacheStatistics(window="60"), T, "window"),
    Row("stats-hit-str", lambda c: CacheStatistics().record_hit("1"), T, "duration"),
    Row("stats-hit-negative", lambda c: CacheStatistics().record_hit(-1), V, "duration"),
    Row("stats-miss-nan", lambda c: CacheStatistics().record_miss(NAN), V, "duration"),
    Row("stats-push-cache", lambda c: CacheStatistics().push("redis://"), T, "cache"),
    Row("stats-push-group", lambda c: CacheStatistics().push(c, 1), T, "group"),
    Row("stats-push-group-long", lambda c: CacheStatistics().push(c, "g" * 1000), K, "group"),
    Row("stats-shared-group", lambda c: CacheStatistics.shared_stats(c, ""), K, "group"),
    Row("stats-shared-cache", lambda c: CacheStatistics.shared_stats(None), T, "cache"),
]


@pytest.mark.parametrize(("row", "engine"), params(ROWS))
def test_issue_9_bad_feature_call_is_refused_and_nothing_stored_changes(
    row: Row, engine: str, open_engine: Callable[[str], Opened]
) -> None:
    refused_and_nothing_changed(row, open_engine(engine))
