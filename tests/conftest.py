"""Fixtures shared by every test package."""

from __future__ import annotations

import pytest

from cache.testing import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock starting at t=1000s."""
    return FakeClock()
