"""Tallies of classified results, and the table beside the published caches."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["COLUMNS", "Failure", "Row", "blockers", "failures", "format_table", "tally"]

#: Table columns: (heading, what is counted).
COLUMNS = [
    ("required passed", "required pass"),
    ("required failed", "required fail"),
    ("optional passed", "optimal pass"),
    ("optional failed", "optimal optional_fail"),
    ("setup failed", "setup_fail"),
    ("dependency failed", "dependency_fail"),
    ("other", "harness_fail retry untested"),
]


@dataclass
class Row:
    """One cache's counts."""

    name: str
    counts: Counter[str]

    def cell(self, what: str) -> int:
        words = what.split()
        if words[0] in ("required", "optimal"):
            return self.counts[f"{words[0]}:{words[1]}"]
        return sum(self.counts[word] for word in words)


def tally(name: str, tests: Sequence[Mapping[str, Any]], results: Mapping[str, str]) -> Row:
    """Count one cache's result types, by kind for pass and fail, over the proxy tests.

    Browser-only tests are left out: the suite's client never runs them
    against a proxy.
    """
    counts: Counter[str] = Counter()
    for test in tests:
        if test["browser_only"]:
            continue
        result = results[test["id"]]
        counts[result] += 1
        counts[f"{test['kind']}:{result}"] += 1
    return Row(name, counts)


def format_table(rows: Sequence[Row]) -> str:
    """Return a Markdown table, one row per cache."""
    head = ["cache", *(heading for heading, _ in COLUMNS)]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * len(COLUMNS) + "|"]
    for row in rows:
        cells = [row.name, *(str(row.cell(what)) for _, what in COLUMNS)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


@dataclass(frozen=True)
class Failure:
    """A required test that did not pass on its own."""

    test_id: str
    message: str
    #: Its result under the suite's rules: fail, setup_fail or dependency_fail.
    counted_as: str


def failures(
    tests: Sequence[Mapping[str, Any]],
    results: Mapping[str, str],
    alone: Mapping[str, str],
    raw: Mapping[str, Any],
) -> list[Failure]:
    """Return the required tests that fail or fail their setup when judged on their own.

    This includes the ones the suite's rules hide as dependency failures.
    """
    out = []
    for test in tests:
        if test["kind"] == "required" and alone[test["id"]] in ("fail", "setup_fail"):
            detail = raw.get(test["id"])
            message = detail[1] if isinstance(detail, list) and len(detail) > 1 else str(detail)
            out.append(Failure(test["id"], message, results[test["id"]]))
    return out


def blockers(tests: Sequence[Mapping[str, Any]], results: Mapping[str, str]) -> Counter[str]:
    """Count, for each prerequisite that did not pass, the tests it turns into dependency fails."""
    by_id = {test["id"]: test for test in tests}

    def roots(test_id: str) -> set[str]:
        found: set[str] = set()
        for dependency in by_id[test_id]["depends_on"]:
            result = results[dependency]
            if result == "dependency_fail":
                found |= roots(dependency)
            elif result not in ("pass", "yes"):
                found.add(dependency)
        return found

    counts: Counter[str] = Counter()
    for test in tests:
        if not test["browser_only"] and results[test["id"]] == "dependency_fail":
            counts.update(roots(test["id"]))
    return counts
