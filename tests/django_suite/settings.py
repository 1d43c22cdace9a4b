"""Django settings for the copied cache test suite, made once per test process.

Django is configured once per process. Whoever comes first configures it:
this module, or ``tests/web/test_django.py`` (which configures Django only if
nobody has). So that both orders work, the settings made here include what
that module needs (its URLconf, middleware and hosts), and when it came first
the database this suite needs is added before any connection is opened; the
test app is installed by ``override_settings`` on each test class.
"""

from __future__ import annotations

import django
from django.conf import settings

#: The copied test app (Django's ``tests/cache``, renamed: ``cache`` is this library).
APP = "tests.django_suite.django_cache_tests"

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

#: Engines the suite runs on, by name; the Redis URL is set by the conftest's fixture.
LOCATIONS: dict[str, str] = {"memory": "memory://"}


def configure() -> None:
    """Configure Django for the suite, or add what it needs to settings made elsewhere."""
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="tests-only-secret-key-0123456789",
            DATABASES=DATABASES,
            INSTALLED_APPS=[APP],
            # What tests/web/test_django.py would have configured itself:
            ALLOWED_HOSTS=["testserver", "example.com"],
            ROOT_URLCONF="tests.web.test_django",
            MIDDLEWARE=["cache.web.django.CacheMiddleware"],
            CACHE_MANAGER=None,
        )
        django.setup()
    elif not settings.DATABASES:
        settings.DATABASES = DATABASES


def caches(location: str) -> dict[str, dict[str, object]]:
    """The ``CACHES`` Django's suite uses for its own backends, on ``cache.django.CacheBackend``.

    The ``cull`` and ``zero_cull`` aliases are left out, as Django leaves them out
    for its Redis backend: their tests then skip (``Culling isn't implemented``).
    """
    from tests.django_suite.django_cache_tests.tests import caches_setting_for_tests

    return caches_setting_for_tests(
        BACKEND="cache.django.CacheBackend",
        LOCATION=location,
        exclude={"cull", "zero_cull"},
    )
