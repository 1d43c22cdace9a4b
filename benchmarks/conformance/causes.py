"""Why required tests fail: each failure put under the root cause it was traced to.

A test matches a cause by its id or by the message the suite's client gave
(first match wins), so a test that fails for another reason after a fix
shows up under "unclassified" instead of hiding under an old cause. Keep the
list in step with the "Conformance (cache-tests)" section of docs/http.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["CAUSES", "UNCLASSIFIED", "Cause", "cause_of", "group"]


@dataclass(frozen=True)
class Cause:
    """A root cause: a name, one line of why, and what its failures look like."""

    name: str
    why: str
    ids: str = r"(?!)"
    message: str = r"(?!)"

    def matches(self, test_id: str, message: str) -> bool:
        return bool(re.search(self.ids, test_id) or re.search(self.message, message))


CAUSES = [
    Cause(
        "harness limitation: 1xx cannot be relayed",
        "uvicorn (ASGI) and httpx drop interim responses, so no 102/103 reaches the client",
        ids=r"^interim-",
    ),
    Cause(
        "harness limitation: Transfer-Encoding",
        "httpx refuses a Transfer-Encoding other than chunked from the origin: "
        "the proxy answers 502",
        ids=r"^headers-store-Transfer-Encoding$",
    ),
    Cause(
        "CDN-Cache-Control ignored",
        "RFC 9213 is not implemented: its max-age, no-store, private and no-cache have no effect",
        ids=r"^cdn-(?!max-age-age$)",
    ),
    Cause(
        "Vary normalised",
        'the Vary sent is rewritten lower-cased and sorted ("Foo" becomes "foo"), so the '
        "suite's setup checks fail before the Vary behaviour is tested",
        message=r"header Vary is",
    ),
    Cause(
        "Age ignored",
        "the origin's Age counts neither toward freshness nor in the Age sent "
        "(replaced by the time spent in this cache)",
        ids=r"^(freshness-max-age-age|age-parse-|other-age-update-max-age|cdn-max-age-age)",
        message=r"header Age is",
    ),
    Cause(
        "Date dropped",
        "a response served from the cache carries no Date (the stored one is dropped)",
        message=r"header Date is",
    ),
    Cause(
        "Expires ignored",
        "without max-age the policy timeout decides: with 1 ms nothing is reused, "
        "with 300 s a response is reused past its Expires",
        ids=r"^(freshness-expires-|other-(age|date)-update-expires|status-\d+-stale$)",
    ),
    Cause(
        "no revalidation",
        "a stale entry is fetched again without If-None-Match / If-Modified-Since and a 304 "
        "never updates it (with stale_if_error, the origin's 999 answer to an unconditional "
        "request counts as a failure and the stale copy is served)",
        ids=r"^(304-|cc-resp-must-revalidate|conditional-)",
    ),
    Cause(
        "stale-if-error overrides must-revalidate",
        "a stale copy is served when the origin fails even under must-revalidate, "
        "proxy-revalidate or s-maxage",
        ids=r"^stale-close-",
    ),
    Cause(
        "response stale-while-revalidate ignored",
        "only the policy's stale_while_revalidate counts, not the response's directive",
        ids=r"^stale-while-revalidate",
    ),
    Cause(
        "only POST/PUT/PATCH/DELETE invalidate",
        "a response to another unsafe method (M-SEARCH) passes through without invalidating",
        ids=r"^invalidate-",
    ),
    Cause(
        "Set-Cookie never stored",
        "a response with Set-Cookie is never stored (a deliberate safety rule)",
        ids=r"^headers-store-Set-Cookie$",
    ),
    Cause(
        "Range bypasses the cache",
        "a request with Range goes to the origin: stored responses never serve partial content",
        ids=r"^partial-",
    ),
]

UNCLASSIFIED = Cause("unclassified", "not traced to a cause yet")


def cause_of(test_id: str, message: str) -> Cause:
    """Return the cause a failing test is put under."""
    return next((c for c in CAUSES if c.matches(test_id, message)), UNCLASSIFIED)


def group(failures: Iterable[tuple[str, str]]) -> dict[Cause, list[str]]:
    """Group ``(test id, message)`` pairs by cause, in the order of :data:`CAUSES`."""
    grouped: dict[Cause, list[str]] = {c: [] for c in [*CAUSES, UNCLASSIFIED]}
    for test_id, message in failures:
        grouped[cause_of(test_id, message)].append(test_id)
    return {cause: ids for cause, ids in grouped.items() if ids}
