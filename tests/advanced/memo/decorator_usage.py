"""Checked by mypy --strict in test_typing.py: @cached keeps signatures and declares its members."""

from __future__ import annotations

import datetime

from typing_extensions import assert_type

from cache import cached
from cache.advanced.memo import Cached


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

    @cached(timeout=60)
    @staticmethod
    def count(active: bool) -> int:
        return int(active)


async def use() -> None:
    assert_type(profile(1), dict[str, int])
    assert_type(profile(1, verbose=True), dict[str, int])
    assert_type(profile.key(1), str)
    assert_type(profile.invalidate(1), bool)
    assert_type(await profile.ainvalidate(1), bool)
    assert_type(profile.refresh(1), dict[str, int])
    assert_type(profile.timeout, float)
    assert_type(profile.stale_while_revalidate, float)
    assert_type(profile.tags, tuple[str, ...])
    assert_type(profile.__wrapped__(1), dict[str, int])
    assert_type(profile.__name__, str)
    assert_type(profile.__qualname__, str)
    assert_type(profile.wait_for_refreshes(1.0), None)
    assert_type(await aprofile(2), dict[str, int])
    assert_type(await aprofile.refresh(2), dict[str, int])
    assert_type(aprofile.timeout, float)
    users = Users()
    assert_type(users.name(3), str)
    assert_type(users.name.key(3), str)
    assert_type(users.name.invalidate(3), bool)
    assert_type(Users.name.key(users, 3), str)
    assert_type(Users.name.timeout, float)
    assert_type(Users.count(True), int)
    assert_type(Users.count.key(True), str)
    assert_type(Users.count.timeout, float)
    memoized: Cached[[int, bool], dict[str, int]] = profile  # users may annotate with it
    assert_type(memoized.timeout, float)
