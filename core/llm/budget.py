"""Per-user daily budgets of Claude calls, counted in Redis per UTC day.

Claim before calling: a claim is one atomic script (check the count, then count one),
so concurrent workers or API replicas cannot both take the last call. A claimed call is
spent even if it then fails: a failure may still have been billed, and a user whose
call keeps failing should not retry it all day. With Redis unreachable no call is
claimed (the caller uses its rule-based path), so an outage cannot lift the cap.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from uuid import UUID

import redis.asyncio as aredis
import redis.exceptions

from eros.core.clock import MS_PER_SECOND
from eros.core.keys import llm_budget_key
from eros.core.llm.config import ANALYSIS_PURPOSE, ASSISTANT_PURPOSE
from eros.core.settings import Settings

logger = logging.getLogger(__name__)

__all__ = [
    "claim_analysis_call",
    "claim_assistant_call",
    "claim_daily_call",
    "utc_day",
]

# The key names its day, so it only has to outlive that day; two days also cover
# processes whose clocks disagree about when the day ends.
BUDGET_KEY_TTL_SECONDS = 2 * 24 * 3600

# KEYS[1] the day's counter; ARGV: limit, ttl (s). Returns 1 when claimed, else 0.
_CLAIM_SCRIPT = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""
_UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def utc_day(now_ms: int) -> str:
    return datetime.fromtimestamp(now_ms / MS_PER_SECOND, UTC).date().isoformat()


def _refused(purpose: str, user_id: UUID) -> bool:
    logger.warning("No %s Claude call claimed for user %s: Redis is unavailable.", purpose, user_id)
    return False


async def claim_daily_call(
    client: aredis.Redis, purpose: str, user_id: UUID, now_ms: int, limit: int
) -> bool:
    """Take one of the user's `limit` calls of `purpose` for the UTC day of `now_ms`."""
    if limit <= 0:
        return False
    key = llm_budget_key(purpose, user_id, utc_day(now_ms))
    try:
        claimed = await client.eval(_CLAIM_SCRIPT, 1, key, limit, BUDGET_KEY_TTL_SECONDS)
    except _UNAVAILABLE:
        return _refused(purpose, user_id)
    return bool(claimed)


async def claim_analysis_call(
    client: aredis.Redis, settings: Settings, user_id: UUID, now_ms: int
) -> bool:
    """Phase 3's "ultimate preferences" call: at most `anthropic_analysis_calls_per_day`
    (default one) per user per UTC day. False: use the rule-based synthesis."""
    return await claim_daily_call(
        client, ANALYSIS_PURPOSE, user_id, now_ms, settings.anthropic_analysis_calls_per_day
    )


async def claim_assistant_call(
    client: aredis.Redis, settings: Settings, user_id: UUID, now_ms: int
) -> bool:
    """One assistant answer from Claude; False: answer with the rule-based responder."""
    return await claim_daily_call(
        client, ASSISTANT_PURPOSE, user_id, now_ms, settings.assistant_claude_calls_per_day
    )
