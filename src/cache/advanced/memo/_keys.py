"""Keys of ``@cached`` results: stable argument encodings and ``{name}`` templates."""

from __future__ import annotations

import string
from typing import Any

from cache.errors import CacheTypeError

__all__ = ["READABLE_LIMIT", "SIMPLE", "encode", "template_names"]

#: Argument types whose ``repr`` is a stable, unambiguous key part.
SIMPLE = frozenset({str, int, float, bool, type(None)})
#: Keys longer than this store a digest of their arguments instead.
READABLE_LIMIT = 200


def encode(value: object) -> Any:
    """JSON's fallback for argument values: a stable form, or a clear refusal."""
    if isinstance(value, (set, frozenset)):
        return ["set", sorted(value, key=repr)]
    if isinstance(value, type):  # a class: by its import path, the same in every process
        return ["type", f"{value.__module__}.{value.__qualname__}"]
    if isinstance(value, bytes):
        return ["bytes", value.hex()]
    for attribute in ("isoformat", "hex"):  # datetime, date, time; UUID has .hex as a str
        method = getattr(value, attribute, None)
        if callable(method):
            return [type(value).__name__, method()]
    if type(value).__name__ in ("UUID", "Decimal", "Path", "PosixPath", "WindowsPath"):
        return [type(value).__name__, str(value)]
    raise TypeError(type(value).__name__)


def template_names(template: str, what: str) -> set[str]:
    """Return the argument names a ``{name}`` template uses, checking its syntax."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise CacheTypeError(f"{what} {template!r} is not a valid template: {exc}") from None
    names = set()
    for field in fields:
        name = field.split(".", 1)[0].split("[", 1)[0]
        if not name or name.isdigit():
            raise CacheTypeError(
                f"{what} {template!r} must name arguments, e.g. '{{user_id}}', not '{{{field}}}'"
            )
        names.add(name)
    return names
