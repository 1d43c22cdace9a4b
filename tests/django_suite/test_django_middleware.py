"""Django's own cache middleware and utilities over ``cache.django.CacheBackend`` on Redis.

Django tests ``cache_page``, ``CacheMiddleware``, ``get_cache_key`` and
friends (``tests/cache/tests.py``) over its local-memory backend; here the
same test classes run with every alias of their ``CACHES`` moved to this
package's backend, on Redis (one namespace per original ``LOCATION``), the
rest of their settings unchanged.
"""

from __future__ import annotations

from typing import Any

from tests.django_suite import settings
from tests.django_suite.django_cache_tests import tests as django_tests

TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates"}]


def _on_our_backend(caches: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The same aliases, each on cache.django.CacheBackend over Redis."""
    base = settings.LOCATIONS["redis"].split("?", 1)[0]
    moved = {}
    for alias, params in caches.items():
        namespace = "mw-" + (params.get("LOCATION") or "default")
        location = f"{base}?namespace={namespace}"
        moved[alias] = {**params, "BACKEND": "cache.django.CacheBackend", "LOCATION": location}
    return moved


def _ported(parent: type) -> type:
    """A subclass of Django's test class whose CACHES are on this package's backend."""

    @classmethod  # type: ignore[misc]
    def setUpClass(cls: Any) -> None:
        overridden = dict(parent._overridden_settings)
        overridden["CACHES"] = _on_our_backend(overridden["CACHES"])
        overridden.setdefault("TEMPLATES", TEMPLATES)
        # As Django's test settings (tests/test_sqlite.py, runtests.py) have them:
        overridden.setdefault("USE_TZ", False)
        overridden.setdefault("LANGUAGE_CODE", "en")
        cls._overridden_settings = overridden
        super(cls, cls).setUpClass()

    return type(parent.__name__, (parent,), {"setUpClass": setUpClass, "__module__": __name__})


CacheUtils = _ported(django_tests.CacheUtils)
PrefixedCacheUtils = _ported(django_tests.PrefixedCacheUtils)
CacheHEADTest = _ported(django_tests.CacheHEADTest)
CacheI18nTest = _ported(django_tests.CacheI18nTest)
PrefixedCacheI18nTest = _ported(django_tests.PrefixedCacheI18nTest)
CacheMiddlewareTest = _ported(django_tests.CacheMiddlewareTest)
TestWithTemplateResponse = _ported(django_tests.TestWithTemplateResponse)
