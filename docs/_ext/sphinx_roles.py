"""A Griffe extension for the API reference: Sphinx roles in docstrings become links.

The package's docstrings are Google style with Sphinx cross-reference roles
inside (``:class:`~cache.backend.InMemoryCache```, ``:meth:`get```). Markdown
has no roles, so mkdocstrings would show them as written. This extension,
loaded by ``mkdocs.yml``, rewrites each role into an ``<autoref>`` that
mkdocs-autorefs turns into a link to the object's section of the reference:
a relative name is resolved in the scope of the documented object (a method
named in a class's docstring, a sibling method in a method's), a dotted one
from its first part, ``~`` shows the last part only. A name that is not
rendered in the reference (a private helper) stays code, without a link.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(class|meth|func|mod|attr|data|exc|obj|const):`(~?)([^`<>]+)`")


def _resolve(
    obj: griffe.Object | griffe.Alias, name: str, loader: griffe.GriffeLoader
) -> str | None:
    """Return the full path of ``name`` as seen from ``obj``, or None."""
    head, _, rest = name.partition(".")
    if rest and head in loader.modules_collection.members:
        return name  # absolute: cache.backend.base.one_attempt
    scope: griffe.Object | griffe.Alias | None = obj
    while scope is not None:
        try:
            found = scope.resolve(head)
        except (griffe.NameResolutionError, griffe.AliasResolutionError):
            scope = scope.parent
            continue
        return f"{found}.{rest}" if rest else found
    return name if "." in name else None


def _canonical(loader: griffe.GriffeLoader, path: str) -> str:
    """Return the canonical path of ``path`` (its definition, not a re-export)."""
    try:
        return str(loader.modules_collection[path].canonical_path)
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return path


def convert(text: str, obj: griffe.Object | griffe.Alias, loader: griffe.GriffeLoader) -> str:
    """Return ``text`` with every Sphinx role replaced by an optional autoref."""

    def link(match: re.Match[str]) -> str:
        role, short, name = match.groups()
        shown = name.rsplit(".", 1)[-1] if short else name
        if role in {"meth", "func"}:
            shown += "()"
        path = _resolve(obj, name, loader)
        code = f"<code>{shown}</code>"
        if path is None:
            return code
        return f'<autoref identifier="{_canonical(loader, path)}" optional>{code}</autoref>'

    return _ROLE.sub(link, text)


class SphinxRoles(griffe.Extension):
    """Rewrite the Sphinx roles of every docstring of a loaded package."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        """Walk the package once it is loaded (names resolve across modules then)."""
        seen: set[int] = set()
        stack: list[griffe.Object] = [pkg]
        while stack:
            obj = stack.pop()
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if obj.docstring is not None and ":" in obj.docstring.value:
                obj.docstring.value = convert(obj.docstring.value, obj, loader)
            stack.extend(m for m in obj.members.values() if not m.is_alias)  # type: ignore[misc]
