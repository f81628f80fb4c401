"""Activity tracking: the last activity time of every user, in one Redis sorted set.

A heartbeat costs one round trip (one Lua script); counting users per
phase costs one ZCOUNT per phase; a tracked user costs a sorted-set entry with a
16-byte member. The start of each user's current session is a second sorted set, kept
only while the session lasts (`prune_ended_sessions`), so it costs memory per user in a
session, not per user tracked.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import redis
import redis.asyncio as aredis
from redis.commands.core import AsyncScript

from eros.core.errors import AccountDisabled
from eros.core.keys import (
    ACTIVITY_KEY,
    SESSION_START_KEY,
    refused_heartbeats_key,
    user_jobs_key,
)
from eros.core.phases import Phase, phase_for_idle, phase_score_bounds

logger = logging.getLogger(__name__)

__all__ = [
    "ACTIVITY_KEY",
    "SESSION_PRUNE_BATCH",
    "ActivityRecord",
    "HeartbeatOutcome",
    "accept_heartbeats",
    "acount_users_per_phase",
    "count_users_per_phase",
    "get_last_active",
    "prune_ended_sessions",
    "prune_inactive",
    "record_heartbeat",
    "refuse_heartbeats",
    "session_duration_ms",
]


@dataclass(frozen=True, slots=True)
class HeartbeatOutcome:
    """What a heartbeat found: how long the user had been idle, and whether work is pending."""

    previous_ms: int | None
    idle_ms: int
    phase: Phase
    has_jobs: bool


@dataclass(frozen=True, slots=True)
class ActivityRecord:
    last_active_ms: int | None
    idle_ms: int
    phase: Phase
    session_ms: int = 0


def _idle(previous_ms: int | None, now_ms: int) -> int:
    return 0 if previous_ms is None else max(0, now_ms - previous_ms)


def session_duration_ms(
    session_start_ms: int | None, last_active_ms: int | None, now_ms: int, gap_ms: int
) -> int:
    """How long the current session has lasted: 0 once the user has been idle `gap_ms`
    (the session is over). A session that began before starts were recorded counts
    from the last activity."""
    if last_active_ms is None or now_ms - last_active_ms >= gap_ms:
        return 0
    start = last_active_ms if session_start_ms is None else min(session_start_ms, last_active_ms)
    return max(0, now_ms - start)


# ZSCORE, ZADD GT and EXISTS in one command: a three-command pipeline costs the API about
# twice the client-side CPU of one command, and the heartbeat is the API's hottest request.
# A session starts when an active beat follows an idle spell of at least ARGV[4] ms (the
# phase 1 threshold) or none at all; only then is its start written. A disabled account's
# beat (KEYS[4] exists) writes nothing: its access token may outlive a ban or a deletion.
_HEARTBEAT_LUA = """
if redis.call('EXISTS', KEYS[4]) == 1 then
  return {false, 0, 1}
end
local previous = redis.call('ZSCORE', KEYS[1], ARGV[1])
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
  if not previous or tonumber(ARGV[2]) - tonumber(previous) >= tonumber(ARGV[4]) then
    redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
  end
end
return {previous, redis.call('EXISTS', KEYS[2]), 0}
"""


async def record_heartbeat(
    client: aredis.Redis,
    user_id: UUID,
    now_ms: int,
    thresholds_seconds: Sequence[int],
    *,
    active: bool = True,
) -> HeartbeatOutcome:
    """Record that the user is active now and report the state they were in before.

    The previous score, the new score and the halting index are read and written by one
    script, in one round trip (redis-py loads it again after a restart: NOSCRIPT).
    `GT` keeps a late, out-of-order heartbeat from moving time back. A heartbeat from a
    backgrounded app (`active=False`) only reads. A disabled account's heartbeat raises
    `AccountDisabled` and records nothing (`refuse_heartbeats`).
    """
    previous_raw, jobs, refused = await _heartbeat_script(client)(
        keys=[
            ACTIVITY_KEY,
            user_jobs_key(user_id),
            SESSION_START_KEY,
            refused_heartbeats_key(user_id),
        ],
        args=[user_id.bytes, now_ms, 1 if active else 0, _session_gap_ms(thresholds_seconds)],
    )
    if refused:
        raise AccountDisabled
    previous = None if previous_raw is None else int(float(previous_raw))
    idle_ms = _idle(previous, now_ms)
    return HeartbeatOutcome(
        previous_ms=previous,
        idle_ms=idle_ms,
        phase=phase_for_idle(idle_ms, thresholds_seconds) if previous is not None else Phase.ACTIVE,
        has_jobs=bool(jobs),
    )


def _session_gap_ms(thresholds_seconds: Sequence[int]) -> int:
    return thresholds_seconds[0] * 1000


_scripts: weakref.WeakKeyDictionary[aredis.Redis, AsyncScript] = weakref.WeakKeyDictionary()


def _heartbeat_script(client: aredis.Redis) -> AsyncScript:
    script = _scripts.get(client)
    if script is None:
        script = _scripts[client] = client.register_script(_HEARTBEAT_LUA)
    return script


async def get_last_active(
    client: aredis.Redis, user_id: UUID, now_ms: int, thresholds_seconds: Sequence[int]
) -> ActivityRecord:
    async with client.pipeline(transaction=False) as pipe:
        pipe.zscore(ACTIVITY_KEY, user_id.bytes)
        pipe.zscore(SESSION_START_KEY, user_id.bytes)
        score, started = await pipe.execute()
    last = None if score is None else int(score)
    idle_ms = _idle(last, now_ms)
    phase = phase_for_idle(idle_ms, thresholds_seconds) if last is not None else Phase.ACTIVE
    return ActivityRecord(
        last_active_ms=last,
        idle_ms=idle_ms,
        phase=phase,
        session_ms=session_duration_ms(
            None if started is None else int(started),
            last,
            now_ms,
            _session_gap_ms(thresholds_seconds),
        ),
    )


def _phase_ranges(thresholds_seconds: Sequence[int], now_ms: int) -> list[tuple[float, float]]:
    return [phase_score_bounds(p, thresholds_seconds, now_ms) for p in Phase]


def count_users_per_phase(
    client: redis.Redis, thresholds_seconds: Sequence[int], now_ms: int
) -> list[int]:
    """Users per phase, index 0 = active; one ZCOUNT each, in one round trip."""
    with client.pipeline(transaction=False) as pipe:
        for low, high in _phase_ranges(thresholds_seconds, now_ms):
            pipe.zcount(ACTIVITY_KEY, low, high)
        return [int(n) for n in pipe.execute()]


async def acount_users_per_phase(
    client: aredis.Redis, thresholds_seconds: Sequence[int], now_ms: int
) -> list[int]:
    """The asyncio twin of `count_users_per_phase`."""
    async with client.pipeline(transaction=False) as pipe:
        for low, high in _phase_ranges(thresholds_seconds, now_ms):
            pipe.zcount(ACTIVITY_KEY, low, high)
        return [int(n) for n in await pipe.execute()]


async def prune_inactive(client: aredis.Redis, now_ms: int, retention_seconds: int) -> int:
    """Forget users idle beyond the retention horizon; returns how many were removed."""
    horizon = now_ms - retention_seconds * 1000
    removed = int(await client.zremrangebyscore(ACTIVITY_KEY, "-inf", f"({horizon}"))
    # A session start that old belongs to a user just forgotten, or to a session that
    # outlived the horizon, which then counts from its last activity.
    await client.zremrangebyscore(SESSION_START_KEY, "-inf", f"({horizon}")
    if removed:
        logger.info("Pruned %d users idle beyond the retention horizon.", removed)
    return removed


# Removes the given session starts whose user has been idle since ARGV[1] or longer (or
# is no longer tracked), atomically with respect to heartbeats: a start written by a beat
# that began a new session in between is kept.
_PRUNE_SESSIONS_LUA = """
local removed = 0
for i = 2, #ARGV do
  local last = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if not last or tonumber(last) <= tonumber(ARGV[1]) then
    removed = removed + redis.call('ZREM', KEYS[2], ARGV[i])
  end
end
return removed
"""
SESSION_PRUNE_BATCH = 1000
"""Session starts checked per script call: bounds how long one call holds Redis."""


async def prune_ended_sessions(
    client: aredis.Redis, now_ms: int, thresholds_seconds: Sequence[int]
) -> int:
    """Forget the starts of sessions that are over (the user idle for the session gap);
    returns how many were removed. Its cost follows the users in a session."""
    script = client.register_script(_PRUNE_SESSIONS_LUA)
    ended_by = now_ms - _session_gap_ms(thresholds_seconds)
    removed = 0
    cursor = 0
    while True:
        cursor, entries = await client.zscan(SESSION_START_KEY, cursor, count=SESSION_PRUNE_BATCH)
        members = [member for member, _ in entries]
        if members:
            removed += int(
                await script(keys=[ACTIVITY_KEY, SESSION_START_KEY], args=[ended_by, *members])
            )
        if cursor == 0:
            break
    if removed:
        logger.info("Forgot the starts of %d sessions that are over.", removed)
    return removed


async def refuse_heartbeats(client: aredis.Redis, user_id: UUID, seconds: int) -> None:
    """Refuse the account's heartbeats for `seconds` (its access tokens' lifetime): a
    suspended, banned or deleted account must not re-enter the activity index, nor be
    scheduled again, with a token issued before."""
    await client.set(refused_heartbeats_key(user_id), 1, ex=max(1, seconds))


async def accept_heartbeats(client: aredis.Redis, user_id: UUID) -> None:
    """Lift `refuse_heartbeats` (a reinstated account)."""
    await client.delete(refused_heartbeats_key(user_id))
