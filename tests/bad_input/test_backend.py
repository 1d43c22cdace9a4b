"""Bad input to every method of the backend protocol, sync and async, on both engines."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from cache.backend import CacheBackend, Claim
from cache.errors import CacheTypeError, CacheValueError, InvalidKeyError, InvalidTimeoutError
from tests.bad_input.conftest import Opened
from tests.bad_input.table import (
    DEEP,
    REDIS,
    Row,
    params,
    refused_and_nothing_changed,
    too_deep,
)

LONG = "k" * 1025
NAN = math.nan
T, V, K, TO = CacheTypeError, CacheValueError, InvalidKeyError, InvalidTimeoutError

ROWS = [
    # -- keys -----------------------------------------------------------------
    Row("get-int", lambda c: c.get(1), T, "key"),
    Row("get-empty", lambda c: c.get(""), K, "key"),
    Row("get-long", lambda c: c.get(LONG), K, "key is 1025 characters"),
    Row("get-none", lambda c: c.get(None), T, "key"),
    Row("get-bytes", lambda c: c.get(b"s"), T, "key"),
    Row("get-list", lambda c: c.get(["s"]), T, "key"),
    Row("get-surrogate", lambda c: c.get("s\ud800"), K, "key", REDIS),
    Row("set-int", lambda c: c.set(1, "v"), T, "key"),
    Row("set-empty", lambda c: c.set("", "v"), K, "key"),
    Row("set-long", lambda c: c.set(LONG, "v"), K, "key"),
    Row("set-surrogate-key", lambda c: c.set("s\ud800", "v"), K, "key", REDIS),
    Row("set-timeout-str", lambda c: c.set("s", "v", "soon"), T, "timeout"),
    Row("set-timeout-nan", lambda c: c.set("s", "v", NAN), TO, "timeout"),
    Row("set-timeout-bool", lambda c: c.set("s", "v", True), T, "timeout"),
    Row("set-int-dict-keys", lambda c: c.set("s", {1: "a"}), T, "value", REDIS),
    Row("set-nested-int-key", lambda c: c.set("s", [{"a": {2: 1}}]), T, "value", REDIS),
    Row("set-deep", too_deep(lambda c: c.set("s", DEEP)), V, "value", REDIS),
    Row("set-surrogate-value", lambda c: c.set("s", "x\ud800"), V, "value", REDIS),
    Row("set-object", lambda c: c.set("s", object()), T, "value", REDIS),
    Row("set-set", lambda c: c.set("s", {1, 2}), T, "value", REDIS),
    Row("add-int", lambda c: c.add(1, "v"), T, "key"),
    Row("add-timeout-str", lambda c: c.add("new", "v", "x"), T, "timeout"),
    Row("add-int-dict-keys", lambda c: c.add("new", {1: "a"}), T, "value", REDIS),
    Row("delete-int", lambda c: c.delete(1), T, "key"),
    Row("delete-empty", lambda c: c.delete(""), K, "key"),
    Row("delete-surrogate", lambda c: c.delete("s\ud800"), K, "key", REDIS),
    Row("delete-if-equals-int", lambda c: c.delete_if_equals(1, "kept"), T, "key"),
    Row("touch-int", lambda c: c.touch(1), T, "key"),
    Row("touch-timeout-str", lambda c: c.touch("s", "soon"), T, "timeout"),
    Row("touch-timeout-nan", lambda c: c.touch("s", NAN), TO, "timeout"),
    Row("ttl-int", lambda c: c.ttl(1), T, "key"),
    Row("incr-int-key", lambda c: c.incr(1), T, "key"),
    Row("incr-delta-str", lambda c: c.incr("e", "1"), T, "delta"),
    Row("incr-delta-float", lambda c: c.incr("e", 1.5), T, "delta"),
    Row("incr-delta-bool", lambda c: c.incr("e", True), T, "delta"),
    Row("incr-not-int", lambda c: c.incr("s"), T, "incr needs an int"),
    Row("decr-delta-str", lambda c: c.decr("e", "1"), T, "delta"),
    Row("has-key-int", lambda c: c.has_key(1), T, "key"),
    Row("contains-int", lambda c: 1 in c, T, "key"),
    Row("get-or-set-int", lambda c: c.get_or_set(1, "v"), T, "key"),
    Row("get-or-set-timeout", lambda c: c.get_or_set("new", "v", "x"), T, "timeout"),
    # -- entries with refs ------------------------------------------------------
    Row("set-entry-int", lambda c: c.set_entry(1, "v"), T, "key"),
    Row("set-entry-list-key", lambda c: c.set_entry(["s"], "v"), T, "key"),
    Row("set-entry-refs-str", lambda c: c.set_entry("s", "v", refs="abc"), T, "refs"),
    Row("set-entry-refs-int", lambda c: c.set_entry("s", "v", refs=[1]), T, "refs[0]"),
    Row("set-entry-refs-none", lambda c: c.set_entry("s", "v", refs=None), T, "refs"),
    Row("set-entry-timeout", lambda c: c.set_entry("s", "v", "x"), T, "timeout"),
    Row("set-entry-int-dict-keys", lambda c: c.set_entry("s", {1: "a"}), T, "value", REDIS),
    Row("get-entry-int", lambda c: c.get_entry(1), T, "key"),
    Row("get-entry-claim-str", lambda c: c.get_entry("s", "x"), T, "claim"),
    Row("get-entry-claim-key", lambda c: c.get_entry("s", Claim(1, "t", 1, 1)), T, "claim.key"),
    Row(
        "get-entry-claim-nan",
        lambda c: c.get_entry("s", Claim("l", "t", NAN, 1)),
        TO,
        "claim.timeout",
    ),
    Row(
        "get-entry-claim-below",
        lambda c: c.get_entry("s", Claim("l", "t", 1, -1)),
        TO,
        "claim.when_ttl_below",
    ),
    # -- batches: a str is not a list of keys -----------------------------------
    Row("get-many-str", lambda c: c.get_many("sentinel"), T, "keys"),
    Row("get-many-bytes", lambda c: c.get_many(b"abc"), T, "keys"),
    Row("get-many-int", lambda c: c.get_many(5), T, "keys"),
    Row("get-many-none", lambda c: c.get_many(None), T, "keys"),
    Row("get-many-int-key", lambda c: c.get_many(["s", 1]), T, "key"),
    Row("get-many-generator", lambda c: c.get_many(k for k in [1]), T, "keys[0]"),
    Row("set-many-pairs", lambda c: c.set_many([("s", 1)]), T, "mapping"),
    Row("set-many-str", lambda c: c.set_many("ab"), T, "mapping"),
    Row("set-many-int-key", lambda c: c.set_many({"s": "x", 1: "y"}), T, "mapping"),
    Row("set-many-empty-key", lambda c: c.set_many({"s": "x", "": 1}), K, "mapping"),
    Row("set-many-timeout", lambda c: c.set_many({"s": "x"}, "x"), T, "timeout"),
    Row("set-many-bad-value", lambda c: c.set_many({"s": "x", "a": {1: 2}}), T, "value", REDIS),
    Row("delete-many-str", lambda c: c.delete_many("sentinel"), T, "keys"),
    Row("delete-many-bytes", lambda c: c.delete_many(b"sentinel"), T, "keys"),
    Row("delete-many-int", lambda c: c.delete_many(3), T, "keys"),
    Row("delete-many-empty-key", lambda c: c.delete_many(["s", ""]), K, "keys[1]"),
    Row("delete-many-int-key", lambda c: c.delete_many(["s", 1]), T, "keys[1]"),
    # -- ordered key index ------------------------------------------------------
    Row("index-add-int-name", lambda c: c.index_add(1, {"a": 1}), T, "index"),
    Row("index-add-pairs", lambda c: c.index_add("i", [("a", 1)]), T, "members"),
    Row("index-add-score-str", lambda c: c.index_add("i", {"a": "x"}), T, "score"),
    Row("index-add-score-nan", lambda c: c.index_add("i", {"a": NAN}), V, "score"),
    Row("index-add-member-int", lambda c: c.index_add("i", {1: 1}), T, "member"),
    Row("index-remove-str", lambda c: c.index_remove(_REGISTRY, "sentinel"), T, "members"),
    Row("index-remove-int-name", lambda c: c.index_remove(1, []), T, "index"),
    Row("index-prefix-int", lambda c: c.index_prefix("i", 1), T, "prefix"),
    Row("index-prefix-limit", lambda c: c.index_prefix("i", "", -1), V, "limit"),
    Row("index-prefix-limit-str", lambda c: c.index_prefix("i", "", "x"), T, "limit"),
    Row("index-scan-after", lambda c: c.index_scan("i", 1), T, "after"),
    Row("index-scan-count", lambda c: c.index_scan("i", "", -1), V, "count"),
    Row("index-scan-count-float", lambda c: c.index_scan("i", "", 1.5), T, "count"),
    Row("index-remove-below-str", lambda c: c.index_remove_below(_REGISTRY, "x"), T, "cutoff"),
    Row("index-remove-below-nan", lambda c: c.index_remove_below(_REGISTRY, NAN), V, "cutoff"),
    Row("index-trim-negative", lambda c: c.index_trim(_REGISTRY, -1), V, "max_size"),
    Row("index-len-int", lambda c: c.index_len(1), T, "index"),
    Row("index-add-surrogate", lambda c: c.index_add("i", {"m\ud800": 1}), K, "member", REDIS),
    Row("index-prefix-surrogate", lambda c: c.index_prefix("i", "\ud800"), K, "prefix", REDIS),
    Row("index-len-surrogate", lambda c: c.index_len("i\ud800"), K, "index", REDIS),
    Row("aindex-scan-surrogate", lambda c: c.aindex_scan("i", "\ud800"), K, "after", REDIS),
    Row("index-score-int", lambda c: c.index_score("i", 1), T, "member"),
    # -- async twins ------------------------------------------------------------
    Row("aget-int", lambda c: c.aget(1), T, "key"),
    Row("aget-surrogate", lambda c: c.aget("s\ud800"), K, "key", REDIS),
    Row("aset-int", lambda c: c.aset(1, "v"), T, "key"),
    Row("aset-timeout", lambda c: c.aset("s", "v", "x"), T, "timeout"),
    Row("aset-int-dict-keys", lambda c: c.aset("s", {1: "a"}), T, "value", REDIS),
    Row("aadd-int", lambda c: c.aadd(1, "v"), T, "key"),
    Row("adelete-int", lambda c: c.adelete(1), T, "key"),
    Row("adelete-if-equals-int", lambda c: c.adelete_if_equals(1, "x"), T, "key"),
    Row("atouch-timeout", lambda c: c.atouch("s", "soon"), T, "timeout"),
    Row("attl-int", lambda c: c.attl(1), T, "key"),
    Row("aincr-delta", lambda c: c.aincr("e", "1"), T, "delta"),
    Row("adecr-delta", lambda c: c.adecr("e", 1.5), T, "delta"),
    Row("aset-entry-refs-str", lambda c: c.aset_entry("s", "v", refs="abc"), T, "refs"),
    Row("aget-entry-claim", lambda c: c.aget_entry("s", "x"), T, "claim"),
    Row("aget-many-str", lambda c: c.aget_many("sentinel"), T, "keys"),
    Row("aset-many-pairs", lambda c: c.aset_many([("s", 1)]), T, "mapping"),
    Row("adelete-many-str", lambda c: c.adelete_many("sentinel"), T, "keys"),
    Row("ahas-key-int", lambda c: c.ahas_key(1), T, "key"),
    Row("aget-or-set-int", lambda c: c.aget_or_set(1, "v"), T, "key"),
    Row("aindex-add-pairs", lambda c: c.aindex_add("i", [("a", 1)]), T, "members"),
    Row("aindex-remove-str", lambda c: c.aindex_remove(_REGISTRY, "sentinel"), T, "members"),
    Row("aindex-prefix-int", lambda c: c.aindex_prefix("i", 1), T, "prefix"),
    Row("aindex-scan-count", lambda c: c.aindex_scan("i", "", -1), V, "count"),
    Row("aindex-trim-str", lambda c: c.aindex_trim(_REGISTRY, "x"), T, "max_size"),
    Row("aindex-len-int", lambda c: c.aindex_len(1), T, "index"),
    Row("aindex-score-int", lambda c: c.aindex_score("i", 1), T, "member"),
]

_REGISTRY = "__cache__:registry:default"


@pytest.mark.parametrize(("row", "engine"), params(ROWS))
def test_issue_9_bad_backend_call_is_refused_and_nothing_stored_changes(
    row: Row, engine: str, open_engine: Callable[[str], Opened]
) -> None:
    refused_and_nothing_changed(row, open_engine(engine))


__all__ = ["ROWS", "CacheBackend"]
