"""Parsing the fields caching decisions read: Cache-Control, targeted fields, dates, Age.

Each parser is strict where the standard says a malformed value must not
make a response fresher (an invalid ``Expires`` is in the past, an invalid
``max-age`` is 0) and lenient where it says to ignore (an invalid ``Age``).
"""

from __future__ import annotations

import calendar
import email.utils
import re
from collections.abc import Iterable, Sequence

import http_sf

__all__ = [
    "Directives",
    "age_value",
    "delta_seconds",
    "format_http_date",
    "http_date",
    "parse_cache_control",
    "request_directives",
    "split_items",
    "targeted_directives",
]

#: Directive name -> its argument (None when it has none), names lower-cased.
Directives = dict[str, str | None]

#: Delta-seconds past this are this (RFC 9111 section 1.2.2).
MAX_DELTA = 2**31

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MONTH = "(?P<month>" + "|".join(_MONTHS) + ")"
_TIME = r"(?P<hour>\d\d):(?P<minute>\d\d):(?P<second>\d\d)"
#: The three date forms a recipient must accept (RFC 9110 section 5.6.7), exactly.
_DATE_FORMS = (
    # IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
    re.compile(rf"{_DAYS}, (?P<day>\d\d) {_MONTH} (?P<year>\d{{4}}) {_TIME} GMT"),
    # rfc850-date: Sunday, 06-Nov-94 08:49:37 GMT
    re.compile(
        r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), "
        rf"(?P<day>\d\d)-{_MONTH}-(?P<year>\d\d) {_TIME} GMT"
    ),
    # asctime-date: Sun Nov  6 08:49:37 1994
    re.compile(rf"{_DAYS} {_MONTH} (?P<day>[ \d]\d) {_TIME} (?P<year>\d{{4}})"),
)


def split_items(values: Iterable[str]) -> list[str]:
    """Split comma-separated field lines into items, keeping quoted strings whole."""
    items: list[str] = []
    for value in values:
        current: list[str] = []
        quoted = escaped = False
        for char in value:
            if escaped:
                escaped = False
            elif quoted and char == "\\":
                escaped = True
            elif char == '"':
                quoted = not quoted
            elif char == "," and not quoted:
                items.append("".join(current).strip())
                current = []
                continue
            current.append(char)
        items.append("".join(current).strip())
    return [item for item in items if item]


def parse_cache_control(values: Sequence[str]) -> Directives:
    """Parse Cache-Control lines into ``{directive: argument}`` (RFC 9111 section 5.2).

    Names are case-insensitive; a quoted argument is unquoted; a directive
    given twice keeps its first argument (section 4.2.1 allows the first).
    """
    found: Directives = {}
    for item in split_items(values):
        name, eq, arg = item.partition("=")
        name = name.strip().lower()
        if not name or name in found:
            continue
        value: str | None = None
        if eq:
            value = arg.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        found[name] = value
    return found


def request_directives(cache_control: Sequence[str], pragma: Sequence[str]) -> Directives:
    """Parse a request's Cache-Control; ``Pragma: no-cache`` counts only without it (5.4)."""
    found = parse_cache_control(cache_control)
    if not cache_control and any("no-cache" in line.lower() for line in pragma):
        found["no-cache"] = None
    return found


def delta_seconds(directives: Directives, name: str) -> int | None:
    """Return a delta-seconds argument; None if absent; 0 if malformed (section 1.2.2).

    A malformed or negative value makes a response stale rather than fresh;
    leading zeros are allowed; values past 2**31 are 2**31.
    """
    if name not in directives:
        return None
    arg = directives[name]
    if arg is None or not arg.isdigit() or not arg.isascii():
        return 0
    return min(int(arg), MAX_DELTA)


def http_date(value: str | None) -> float | None:
    """Return an HTTP-date as Unix seconds, or None if it is not one of the three forms."""
    if value is None:
        return None
    text = value.strip()
    for form in _DATE_FORMS:
        match = form.fullmatch(text)
        if match is None:
            continue
        year = int(match["year"])
        if year < 100:  # rfc850's two digits: the nearest century not in the future
            year += 1900 if year >= 70 else 2000
        try:
            return float(
                calendar.timegm(
                    (
                        year,
                        _MONTHS.index(match["month"]) + 1,
                        int(match["day"]),
                        int(match["hour"]),
                        int(match["minute"]),
                        int(match["second"]),
                    )
                )
            )
        except (OverflowError, ValueError):
            return None
    return None


def format_http_date(seconds: float) -> str:
    """Return ``seconds`` (Unix) as an IMF-fixdate."""
    return email.utils.formatdate(seconds, usegmt=True)


def age_value(lines: Sequence[str]) -> int | None:
    """Return the Age a response came with, or None if absent or invalid (section 5.1).

    The first line's first item counts; a value that is not a non-negative
    integer is ignored; values past 2**31 are 2**31.
    """
    if not lines:
        return None
    first = lines[0].split(",")[0].strip()
    if not first.isdigit() or not first.isascii():
        return None
    return min(int(first), MAX_DELTA)


def targeted_directives(lines: Sequence[str]) -> Directives | None:
    """Parse a targeted cache-control field (RFC 9213), or None if it is invalid.

    The field is a Structured Fields dictionary; an invalid one, or one whose
    ``max-age``/``s-maxage``/``stale-*`` is not an integer, is ignored as a
    whole (section 2.1), so the next field down the list applies.
    """
    try:
        parsed = http_sf.parse(", ".join(lines).encode("latin-1"), tltype="dictionary")
    except (http_sf.StructuredFieldError, UnicodeEncodeError, ValueError):
        return None
    if not isinstance(parsed, dict):
        return None
    found: Directives = {}
    for name, member in parsed.items():
        value = member[0] if isinstance(member, tuple) else member
        if name in ("max-age", "s-maxage", "stale-while-revalidate", "stale-if-error"):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                return None
            found[name] = str(value)
        elif value is True:
            found[name] = None
        else:
            found[name] = str(value)
    return found
