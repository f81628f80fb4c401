"""Per-user daily budgets of Claude calls, on the real embedded Valkey."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

import redis
import redis.asyncio as aredis

from eros.core.keys import llm_budget_key
from eros.core.llm import (
    claim_analysis_call,
    claim_assistant_call,
    claim_daily_call,
    claim_daily_call_async,
    utc_day,
)
from eros.core.llm.budget import BUDGET_KEY_TTL_SECONDS
from eros.core.settings import Settings
from tests.conftest import free_port

# 2023-11-14 22:13:20 UTC: close enough to midnight to cross it in a test.
NOW_MS = 1_700_000_000_000
MS_PER_HOUR = 3_600_000


def test_the_analysis_call_is_allowed_once_per_user_per_utc_day(
    redis_client: redis.Redis, settings: Settings
) -> None:
    user, other = uuid4(), uuid4()
    assert claim_analysis_call(redis_client, settings, user, NOW_MS)
    assert not claim_analysis_call(redis_client, settings, user, NOW_MS + 1000)
    assert claim_analysis_call(redis_client, settings, other, NOW_MS)
    # Two hours later it is the next UTC day.
    assert utc_day(NOW_MS + 2 * MS_PER_HOUR) != utc_day(NOW_MS)
    assert claim_analysis_call(redis_client, settings, user, NOW_MS + 2 * MS_PER_HOUR)


def test_a_budget_key_expires_after_its_day(redis_client: redis.Redis) -> None:
    user = uuid4()
    assert claim_daily_call(redis_client, "analysis", user, NOW_MS, 3)
    key = llm_budget_key("analysis", user, utc_day(NOW_MS))
    assert 0 < redis_client.ttl(key) <= BUDGET_KEY_TTL_SECONDS
    assert int(redis_client.get(key) or 0) == 1


def test_purposes_have_separate_budgets(redis_client: redis.Redis) -> None:
    user = uuid4()
    assert claim_daily_call(redis_client, "analysis", user, NOW_MS, 1)
    assert claim_daily_call(redis_client, "assistant", user, NOW_MS, 1)


def test_a_zero_limit_never_allows_a_call(redis_client: redis.Redis) -> None:
    assert not claim_daily_call(redis_client, "analysis", uuid4(), NOW_MS, 0)


def test_concurrent_claims_never_exceed_the_limit(
    redis_client: redis.Redis, redis_url: str
) -> None:
    user = uuid4()
    pool = redis.ConnectionPool.from_url(redis_url)

    def claim(_: int) -> bool:
        return claim_daily_call(redis.Redis(connection_pool=pool), "analysis", user, NOW_MS, 3)

    with ThreadPoolExecutor(max_workers=8) as executor:
        results = list(executor.map(claim, range(40)))
    pool.disconnect()
    assert sum(results) == 3


def test_no_call_is_claimed_while_redis_is_unreachable() -> None:
    unreachable = redis.Redis(port=free_port(), socket_connect_timeout=0.5)
    assert not claim_daily_call(unreachable, "analysis", uuid4(), NOW_MS, 1)


def test_the_async_claim_counts_in_the_same_budget(
    redis_client: redis.Redis, redis_url: str, settings: Settings
) -> None:
    user = uuid4()
    limited = settings.model_copy(update={"assistant_claude_calls_per_day": 2})

    async def run() -> list[bool]:
        client = aredis.Redis.from_url(redis_url)
        try:
            first = await claim_assistant_call(client, limited, user, NOW_MS)
            second = await claim_daily_call_async(client, "assistant", user, NOW_MS, 2)
            third = await claim_assistant_call(client, limited, user, NOW_MS)
            return [first, second, third]
        finally:
            await client.aclose()

    assert asyncio.run(run()) == [True, True, False]
    assert not claim_daily_call(redis_client, "assistant", user, NOW_MS, 2)
