"""Progressive lockout after failed logins, per (account, client address), in Redis.

After `free_failures` failures in a row, each further failure locks the pair for twice
as long as the one before, from `base_seconds` up to `max_seconds`; a success clears the
count, and failures are forgotten `memory_seconds` after the last one. Keyed per pair,
not per account: an attacker can lock out only the address they attack from, never the
owner logging in from elsewhere (the per-account rate limit bounds a distributed guess
rate instead, and merely slows, see docs/api.md). A locked attempt is refused before
the password is checked, so it costs no argon2 hash.

Time comes from the caller's clock (as in `eros.core.ratelimit`), so tests decide when a
lock ends; Redis TTLs only bound how long the state is kept.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import redis.asyncio as aredis
import redis.exceptions

from eros.core.clock import MS_PER_SECOND

logger = logging.getLogger(__name__)

__all__ = ["LockoutPolicy", "clear", "lock_ms", "locked_for_ms", "record_failure"]

_FAILURES = "failures"
_UNTIL = "until"
# Past this many doublings every sane policy is at its cap; keeps 2**n small.
_MAX_DOUBLINGS = 62

# KEYS[1] the pair's hash; ARGV: lock ends at (epoch ms), key TTL (ms). Never shortens a
# lock a concurrent failure already set.
_LOCK_SCRIPT = """
local ends = tonumber(ARGV[1])
local current = tonumber(redis.call('HGET', KEYS[1], 'until') or 0)
if ends > current then redis.call('HSET', KEYS[1], 'until', ends) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

_UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    free_failures: int
    base_seconds: float
    max_seconds: float
    memory_seconds: float

    def __post_init__(self) -> None:
        if self.free_failures < 1 or self.base_seconds <= 0:
            raise ValueError("a lockout needs at least one free failure and a positive lock")
        if not self.base_seconds <= self.max_seconds <= self.memory_seconds:
            raise ValueError("a lockout needs base <= max <= memory")

    @property
    def memory_ms(self) -> int:
        return math.ceil(self.memory_seconds * MS_PER_SECOND)


def lock_ms(failures: int, policy: LockoutPolicy) -> int:
    """How long `failures` failures in a row lock the pair: 0 below the free failures,
    then base, 2 x base, 4 x base... never more than the cap."""
    if failures < policy.free_failures:
        return 0
    doublings = min(failures - policy.free_failures, _MAX_DOUBLINGS)
    seconds = min(policy.max_seconds, policy.base_seconds * (1 << doublings))
    return math.ceil(seconds * MS_PER_SECOND)


async def locked_for_ms(client: aredis.Redis, key: str, now_ms: int) -> int:
    """How much longer the pair is locked (0: free). Redis down: free, as every limiter."""
    try:
        until: bytes | str | None = await client.hget(key, _UNTIL)
    except _UNAVAILABLE:
        logger.warning("Login lockout not checked: Redis is unavailable.")
        return 0
    return max(0, int(until) - now_ms) if until is not None else 0


async def record_failure(client: aredis.Redis, key: str, now_ms: int, policy: LockoutPolicy) -> int:
    """Count a failed login for the pair; returns the lock it earned (ms, 0: none)."""
    try:
        async with client.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, _FAILURES, 1)
            pipe.pexpire(key, policy.memory_ms)
            failures, _ = await pipe.execute()
        lock = lock_ms(int(failures), policy)
        if lock:
            await client.eval(_LOCK_SCRIPT, 1, key, now_ms + lock, policy.memory_ms)
    except _UNAVAILABLE:
        logger.warning("A failed login was not counted: Redis is unavailable.")
        return 0
    return lock


async def clear(client: aredis.Redis, key: str) -> None:
    """A successful login: the pair starts again with its free failures."""
    try:
        await client.delete(key)
    except _UNAVAILABLE:
        logger.warning("Failed logins were not cleared: Redis is unavailable.")
