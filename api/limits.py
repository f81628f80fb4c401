"""Per-user rate limits as route dependencies: `Depends(limit(WriteKind.BLOCKS))`.

Every write of the profile, interactions and safety routes counts against a limit of its
own kind, so a burst of likes does not use up the user's ability to block or report; the
assistant's requests share one limit of their own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from uuid import UUID

import redis.asyncio as aredis
from fastapi import Depends

from eros.api.deps import ClockDep, CurrentUser, RedisDep, SettingsDep
from eros.api.errors import ApiError
from eros.api.guards import require_active_account
from eros.core.ratelimit import RateLimit, hit
from eros.core.settings import Settings

__all__ = ["RateLimited", "WriteKind", "charge", "enforce", "guarded_write", "limit", "rule_for"]

SECONDS_PER_MINUTE = 60.0
SECONDS_PER_HOUR = 3600.0


class WriteKind(StrEnum):
    PROFILE = "profile"
    ACTIONS = "actions"
    INTERACTIONS = "interactions"
    BLOCKS = "blocks"
    REPORTS = "reports"
    ASSISTANT = "assistant"


def rule_for(kind: WriteKind, settings: Settings) -> RateLimit:
    if kind is WriteKind.REPORTS:
        return RateLimit(kind.value, settings.rate_limit_reports_per_hour, SECONDS_PER_HOUR)
    if kind is WriteKind.ASSISTANT:
        return RateLimit(kind.value, settings.assistant_requests_per_minute, SECONDS_PER_MINUTE)
    return RateLimit(kind.value, settings.rate_limit_writes_per_minute, SECONDS_PER_MINUTE)


class RateLimited(ApiError):
    def __init__(self, rule: RateLimit, retry_after_seconds: int) -> None:
        super().__init__(
            429,
            "rate_limited",
            f"Too many {rule.scope} requests; retry in {retry_after_seconds} s.",
            details={
                "scope": rule.scope,
                "limit": rule.limit,
                "periodSeconds": rule.period_seconds,
                "retryAfterSeconds": retry_after_seconds,
            },
            headers={"Retry-After": str(retry_after_seconds)},
        )


async def charge(redis: aredis.Redis, rule: RateLimit, subject: UUID | str, now_ms: int) -> None:
    """Count one request against `rule` for `subject`; 429 with `Retry-After` when over."""
    decision = await hit(redis, rule, subject, now_ms)
    if not decision.allowed:
        raise RateLimited(rule, decision.retry_after_seconds)


async def enforce(
    kind: WriteKind, claims: CurrentUser, redis: RedisDep, settings: SettingsDep, clock: ClockDep
) -> None:
    """Count one request of `kind`; raise 429 with `Retry-After` when over the limit."""
    await charge(redis, rule_for(kind, settings), claims.user_id, clock.now_ms())


def limit(kind: WriteKind) -> Callable[..., Awaitable[None]]:
    """A dependency that counts the request against the caller's `kind` limit."""

    async def dependency(
        claims: CurrentUser, redis: RedisDep, settings: SettingsDep, clock: ClockDep
    ) -> None:
        await enforce(kind, claims, redis, settings, clock)

    return dependency


def guarded_write(kind: WriteKind) -> Callable[..., Awaitable[None]]:
    """The preamble of every user write: an enabled account, then one request against the
    caller's `kind` limit (in that order, so a disabled account uses up nothing)."""

    # Defaults rather than `Annotated`: annotations are strings here, and `kind` is local.
    async def dependency(
        _active: None = Depends(require_active_account),
        _limited: None = Depends(limit(kind)),
    ) -> None:
        return None

    return dependency
