"""Every error class lives in cache.errors, and one kind of mistake raises one type."""

from __future__ import annotations

import pytest

from cache.advanced import CacheInvalidator
from cache.backend import InMemoryCache
from cache.errors import CacheError, InvalidPatternError
from cache.web import Route


def test_every_public_error_class_of_the_package_is_defined_in_cache_errors() -> None:
    import pkgutil

    import cache

    defined_elsewhere = []
    for info in pkgutil.walk_packages(cache.__path__, "cache."):
        if info.name.startswith("cache.testing") or info.name.endswith("__main__"):
            continue
        try:
            module = __import__(info.name, fromlist=["_"])
        except Exception:
            continue
        for name, obj in vars(module).items():
            # type(obj), not isinstance: Django's lazy settings answer __class__ by loading.
            is_error = issubclass(type(obj), type) and issubclass(obj, BaseException)
            home = getattr(obj, "__module__", "") if is_error else ""
            # A private class (``_Name``) is a signal between the package's own
            # callers, never raised to users: it need not be an error of the API.
            public = not name.startswith("_")
            if public and home.startswith("cache.") and home != "cache.errors":
                defined_elsewhere.append(f"{info.name}.{name}")
    assert defined_elsewhere == []
    assert all(issubclass(getattr(cache.errors, n), CacheError) for n in cache.errors.__all__)


def test_a_bad_regular_expression_raises_one_type_everywhere() -> None:
    invalidator = CacheInvalidator(InMemoryCache())
    with pytest.raises(InvalidPatternError, match=r"pattern '\(' is not a valid regular"):
        invalidator.invalidate_pattern("(")
    with pytest.raises(InvalidPatternError, match=r"route pattern '\[' .*re.escape"):
        Route("[", "page")
    assert issubclass(InvalidPatternError, ValueError)
