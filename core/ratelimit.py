"""Rate limits in Redis (per user, client address or account): GCRA, a leaky bucket
kept as one timestamp per key.

One Lua script per check, so a decision costs one round trip and is atomic across API
replicas. A limit of `limit` per `period_seconds` allows a burst of `limit` and then
one request every `period / limit`. Time comes from the caller (the injectable clock),
never from Redis, so tests decide exactly when a limit resets.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from uuid import UUID

import redis.asyncio as aredis
import redis.exceptions

from eros.core.clock import MS_PER_SECOND
from eros.core.keys import rate_limit_key

logger = logging.getLogger(__name__)

__all__ = ["RateLimit", "RateLimitDecision", "hit"]


# KEYS[1] the bucket; ARGV: now (ms), emission interval (ms), period (ms), cost.
# The stored value is the theoretical arrival time (TAT); a request is allowed when the
# TAT after it stays within one period of now. Returns {allowed, retry_after_ms, remaining}.
_GCRA_SCRIPT = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval * cost
if new_tat - now > period then
    return {0, new_tat - now - period, 0}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.max(1, math.ceil(new_tat - now)))
return {1, 0, math.floor((period - (new_tat - now)) / interval)}
"""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `limit` requests per `period_seconds`, bursts included."""

    scope: str
    limit: int
    period_seconds: float

    def __post_init__(self) -> None:
        if self.limit <= 0 or self.period_seconds <= 0:
            raise ValueError("a rate limit needs a positive limit and period")

    @property
    def interval_ms(self) -> float:
        return self.period_seconds * MS_PER_SECOND / self.limit


@dataclass(frozen=True, slots=True)
class RateLimitDecision:
    allowed: bool
    retry_after_ms: int
    remaining: int

    @property
    def retry_after_seconds(self) -> int:
        """Whole seconds, rounded up, for a `Retry-After` header (at least 1 when refused)."""
        return max(1, math.ceil(self.retry_after_ms / MS_PER_SECOND)) if not self.allowed else 0


async def hit(
    client: aredis.Redis,
    rule: RateLimit,
    subject: UUID | str,
    now_ms: int,
    *,
    cost: int = 1,
    fail_open: bool = True,
) -> RateLimitDecision:
    """Count one request (of `cost` units) against `rule` for `subject` (a user's id, or
    a key part from `eros.core.throttle_subjects`).

    With Redis unreachable the request is allowed when `fail_open` (writes that land in
    PostgreSQL should not fail because a limiter is down), else the error propagates.
    """
    try:
        allowed, retry_ms, remaining = await client.eval(
            _GCRA_SCRIPT,
            1,
            rate_limit_key(rule.scope, subject),
            now_ms,
            rule.interval_ms,
            rule.period_seconds * MS_PER_SECOND,
            cost,
        )
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        if not fail_open:
            raise
        logger.warning("Rate limit %s not checked: Redis is unavailable.", rule.scope)
        return RateLimitDecision(allowed=True, retry_after_ms=0, remaining=rule.limit)
    return RateLimitDecision(
        allowed=bool(allowed), retry_after_ms=math.ceil(float(retry_ms)), remaining=int(remaining)
    )
