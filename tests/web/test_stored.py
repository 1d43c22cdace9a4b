"""The stored HTTP record: one codec, read back as written, and nothing else taken for one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cache.web.stored import Captured


def test_a_record_reads_back_as_written_even_through_json() -> None:
    captured = Captured(200, [("content-type", "text/plain"), ("x-a", "1")], b"\x00hello")
    record = captured.record(["accept-language"], 1000.5)
    expected = Captured(200, captured.headers, b"\x00hello", 1000.5, ["accept-language"])
    assert Captured.from_record(record) == expected
    assert Captured.load(json.loads(json.dumps(record))) == expected  # lists become tuples again


@pytest.mark.parametrize(
    "value",
    [
        None,
        "an HTTP response",
        ["s", "h", "b", "v", "t"],
        {"s": 200, "h": [], "b": "", "t": 1.0},  # no vary: not a record of ours
        {"s": "ok", "h": [], "b": "", "v": [], "t": 1.0},
        {"s": 200, "h": 5, "b": "", "v": [], "t": 1.0},
        {"s": 200, "h": [], "b": "abc", "v": [], "t": 1.0},  # not base64
    ],
)
def test_anything_else_is_not_a_stored_response(value: Any) -> None:
    assert Captured.load(value) is None
