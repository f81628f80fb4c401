"""Per-user daily budgets of Claude calls, on the real embedded Valkey."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from uuid import UUID, uuid4

import redis
import redis.asyncio as aredis

from eros.core.keys import llm_budget_key
from eros.core.llm import (
    claim_analysis_call,
    claim_assistant_call,
    claim_daily_call,
    utc_day,
)
from eros.core.llm.budget import BUDGET_KEY_TTL_SECONDS
from eros.core.settings import Settings
from tests.conftest import free_port

# 2023-11-14 22:13:20 UTC: close enough to midnight to cross it in a test.
NOW_MS = 1_700_000_000_000
MS_PER_HOUR = 3_600_000


def _with(url: str, use: Callable[[aredis.Redis], Awaitable[bool]]) -> bool:
    async def run() -> bool:
        async with aredis.Redis.from_url(url) as client:
            return await use(client)

    return asyncio.run(run())


def _claim(url: str, purpose: str, user: UUID, now_ms: int, limit: int) -> bool:
    return _with(url, lambda client: claim_daily_call(client, purpose, user, now_ms, limit))


def test_the_analysis_call_is_allowed_once_per_user_per_utc_day(
    redis_url: str, settings: Settings
) -> None:
    user, other = uuid4(), uuid4()

    def analysis(who: UUID, at_ms: int) -> bool:
        return _with(redis_url, lambda client: claim_analysis_call(client, settings, who, at_ms))

    assert analysis(user, NOW_MS)
    assert not analysis(user, NOW_MS + 1000)
    assert analysis(other, NOW_MS)
    # Two hours later it is the next UTC day.
    assert utc_day(NOW_MS + 2 * MS_PER_HOUR) != utc_day(NOW_MS)
    assert analysis(user, NOW_MS + 2 * MS_PER_HOUR)


def test_a_budget_key_expires_after_its_day(redis_client: redis.Redis, redis_url: str) -> None:
    user = uuid4()
    assert _claim(redis_url, "analysis", user, NOW_MS, 3)
    key = llm_budget_key("analysis", user, utc_day(NOW_MS))
    assert 0 < redis_client.ttl(key) <= BUDGET_KEY_TTL_SECONDS
    assert int(redis_client.get(key) or 0) == 1


def test_purposes_have_separate_budgets(redis_url: str) -> None:
    user = uuid4()
    assert _claim(redis_url, "analysis", user, NOW_MS, 1)
    assert _claim(redis_url, "assistant", user, NOW_MS, 1)


def test_a_zero_limit_never_allows_a_call(redis_url: str) -> None:
    assert not _claim(redis_url, "analysis", uuid4(), NOW_MS, 0)


def test_concurrent_claims_never_exceed_the_limit(redis_url: str) -> None:
    user = uuid4()

    async def run() -> list[bool]:
        async with aredis.Redis.from_url(redis_url) as client:
            claims = (claim_daily_call(client, "analysis", user, NOW_MS, 3) for _ in range(40))
            return list(await asyncio.gather(*claims))

    assert sum(asyncio.run(run())) == 3


def test_no_call_is_claimed_while_redis_is_unreachable() -> None:
    async def run() -> bool:
        async with aredis.Redis(port=free_port(), socket_connect_timeout=0.5) as unreachable:
            return await claim_daily_call(unreachable, "analysis", uuid4(), NOW_MS, 1)

    assert not asyncio.run(run())


def test_the_assistant_and_a_direct_claim_count_in_the_same_budget(
    redis_url: str, settings: Settings
) -> None:
    user = uuid4()
    limited = settings.model_copy(update={"assistant_claude_calls_per_day": 2})

    async def run() -> list[bool]:
        client = aredis.Redis.from_url(redis_url)
        try:
            first = await claim_assistant_call(client, limited, user, NOW_MS)
            second = await claim_daily_call(client, "assistant", user, NOW_MS, 2)
            third = await claim_assistant_call(client, limited, user, NOW_MS)
            return [first, second, third]
        finally:
            await client.aclose()

    assert asyncio.run(run()) == [True, True, False]
    assert not _claim(redis_url, "assistant", user, NOW_MS, 2)
