from __future__ import annotations

import asyncio
import uuid

import pytest
import redis
import redis.asyncio as aredis
import redis.exceptions

from eros.core.ratelimit import RateLimit, RateLimitDecision, hit
from tests.conftest import RedisServer

NOW = 1_800_000_000_000
THREE_PER_MINUTE = RateLimit("test", 3, 60)


def _hits(
    url: str, user: uuid.UUID, times_ms: list[int], **kwargs: bool
) -> list[RateLimitDecision]:
    async def go() -> list[RateLimitDecision]:
        client = aredis.Redis.from_url(url)
        try:
            return [await hit(client, THREE_PER_MINUTE, user, t, **kwargs) for t in times_ms]
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_a_burst_up_to_the_limit_passes_then_one_request_per_interval(
    redis_client: redis.Redis, redis_url: str
) -> None:
    user = uuid.uuid4()
    burst = _hits(redis_url, user, [NOW, NOW, NOW, NOW])
    assert [d.allowed for d in burst] == [True, True, True, False]
    assert [d.remaining for d in burst[:3]] == [2, 1, 0]
    assert burst[3].retry_after_ms == 20_000 and burst[3].retry_after_seconds == 20
    later = _hits(redis_url, user, [NOW + 19_999, NOW + 20_000, NOW + 20_001])
    assert [d.allowed for d in later] == [False, True, False]


def test_limits_are_per_user_and_forget_an_idle_user(
    redis_client: redis.Redis, redis_url: str
) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    _hits(redis_url, first, [NOW] * 3)
    assert _hits(redis_url, second, [NOW])[0].allowed
    assert _hits(redis_url, first, [NOW + 60_000] * 3)[2].allowed
    # The key expires once the bucket has drained, so idle users cost no memory.
    assert 0 < redis_client.pttl(f"eros:ratelimit:test:{first}") <= 60_000


def test_with_redis_down_the_limiter_fails_open_unless_told_otherwise(
    redis_client: redis.Redis, redis_url: str, redis_server: RedisServer
) -> None:
    redis_server.stop()
    try:
        assert _hits(redis_url, uuid.uuid4(), [NOW])[0].allowed
        with pytest.raises(redis.exceptions.ConnectionError):
            _hits(redis_url, uuid.uuid4(), [NOW], fail_open=False)
    finally:
        redis_server.start()


def test_a_rate_limit_needs_a_positive_limit_and_period() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimit("x", 0, 60)
    with pytest.raises(ValueError, match="positive"):
        RateLimit("x", 1, 0)
