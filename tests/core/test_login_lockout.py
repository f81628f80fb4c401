from __future__ import annotations

import asyncio

import pytest
import redis
import redis.asyncio as aredis

from eros.core.login_lockout import LockoutPolicy, clear, lock_ms, locked_for_ms, record_failure
from tests.conftest import RedisServer

POLICY = LockoutPolicy(free_failures=3, base_seconds=2, max_seconds=60, memory_seconds=3600)
NOW = 1_800_000_000_000
KEY = "eros:login-failures:test"


def test_the_lock_starts_after_the_free_failures_and_doubles_up_to_its_cap() -> None:
    locks = [lock_ms(failures, POLICY) for failures in range(1, 10)]
    assert locks == [0, 0, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]
    assert lock_ms(10**6, POLICY) == 60_000


def test_a_policy_must_keep_its_failures_at_least_as_long_as_its_longest_lock() -> None:
    with pytest.raises(ValueError):
        LockoutPolicy(free_failures=3, base_seconds=2, max_seconds=60, memory_seconds=30)
    with pytest.raises(ValueError):
        LockoutPolicy(free_failures=0, base_seconds=2, max_seconds=60, memory_seconds=60)


def _run(url: str, steps: list[tuple[str, int]]) -> list[int]:
    async def go() -> list[int]:
        client = aredis.Redis.from_url(url)
        results = []
        try:
            for step, now in steps:
                if step == "fail":
                    results.append(await record_failure(client, KEY, now, POLICY))
                elif step == "clear":
                    await clear(client, KEY)
                else:
                    results.append(await locked_for_ms(client, KEY, now))
        finally:
            await client.aclose()
        return results

    return asyncio.run(go())


def test_failures_lock_the_pair_until_the_lock_ends_and_a_success_clears_them(
    redis_client: redis.Redis, redis_url: str
) -> None:
    steps = [("fail", NOW), ("fail", NOW), ("check", NOW), ("fail", NOW), ("check", NOW + 500)]
    assert _run(redis_url, steps) == [0, 0, 0, 2_000, 1_500]
    assert _run(redis_url, [("check", NOW + 2_000)]) == [0]
    assert 0 < redis_client.pttl(KEY) <= POLICY.memory_ms
    assert _run(redis_url, [("clear", NOW), ("fail", NOW), ("check", NOW)]) == [0, 0]


def test_with_redis_down_a_login_is_neither_locked_nor_counted(
    redis_server: RedisServer,
) -> None:
    redis_server.stop()
    try:
        assert _run(redis_server.url, [("fail", NOW), ("check", NOW)]) == [0, 0]
    finally:
        redis_server.start()
