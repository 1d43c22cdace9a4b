"""Checked by mypy --strict in tests/test_decorator.py: @cached keeps signatures."""

from __future__ import annotations

import datetime

from typing_extensions import assert_type

from cache import cached


@cached(timeout=600, key="profile:{user_id}", tags=["user:{user_id}"])
def profile(user_id: int, verbose: bool = False) -> dict[str, int]:
    return {"id": user_id}


@cached(timeout=datetime.timedelta(minutes=1), stale_while_revalidate=datetime.timedelta(hours=1))
async def aprofile(user_id: int) -> dict[str, int]:
    return {"id": user_id}


class Users:
    @cached(timeout=60)
    def name(self, user_id: int) -> str:
        return str(user_id)


async def use() -> None:
    assert_type(profile(1), dict[str, int])
    assert_type(profile(1, verbose=True), dict[str, int])
    assert_type(profile.key(1), str)
    assert_type(profile.invalidate(1), bool)
    assert_type(profile.refresh(1), dict[str, int])
    assert_type(await aprofile(2), dict[str, int])
    assert_type(await aprofile.refresh(2), dict[str, int])
    users = Users()
    assert_type(users.name(3), str)
    assert_type(users.name.key(3), str)
    assert_type(users.name.invalidate(3), bool)
