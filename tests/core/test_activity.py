from __future__ import annotations

import asyncio
import uuid

import redis
import redis.asyncio as aredis

from eros.core.activity import (
    ACTIVITY_KEY,
    SESSION_PRUNE_BATCH,
    HeartbeatOutcome,
    acount_users_per_phase,
    count_users_per_phase,
    prune_ended_sessions,
    prune_inactive,
    record_heartbeat,
    session_duration_ms,
)
from eros.core.keys import SESSION_START_KEY, user_jobs_key
from eros.core.phases import Phase

THRESHOLDS = [600, 1800, 3600]
NOW = 1_800_000_000_000
MINUTE = 60_000


def _heartbeat(url: str, user: uuid.UUID, now: int, *, active: bool = True) -> HeartbeatOutcome:
    async def go() -> HeartbeatOutcome:
        client = aredis.Redis.from_url(url)
        try:
            return await record_heartbeat(client, user, now, THRESHOLDS, active=active)
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_a_first_heartbeat_reports_no_idle_time(redis_client: redis.Redis, redis_url: str) -> None:
    outcome = _heartbeat(redis_url, uuid.uuid4(), NOW)
    assert (outcome.previous_ms, outcome.idle_ms, outcome.phase) == (None, 0, Phase.ACTIVE)


def test_a_heartbeat_reports_the_phase_before_it(redis_client: redis.Redis, redis_url: str) -> None:
    user = uuid.uuid4()
    _heartbeat(redis_url, user, NOW)
    outcome = _heartbeat(redis_url, user, NOW + 31 * MINUTE)
    assert outcome.idle_ms == 31 * MINUTE
    assert outcome.phase is Phase.MEDIUM
    assert _heartbeat(redis_url, user, NOW + 32 * MINUTE).phase is Phase.ACTIVE


def test_a_late_heartbeat_never_moves_activity_back(
    redis_client: redis.Redis, redis_url: str
) -> None:
    user = uuid.uuid4()
    _heartbeat(redis_url, user, NOW)
    _heartbeat(redis_url, user, NOW - 5 * MINUTE)
    assert redis_client.zscore(ACTIVITY_KEY, user.bytes) == NOW


def test_a_backgrounded_app_does_not_reset_idle_time(
    redis_client: redis.Redis, redis_url: str
) -> None:
    user = uuid.uuid4()
    _heartbeat(redis_url, user, NOW)
    _heartbeat(redis_url, user, NOW + 20 * MINUTE, active=False)
    assert redis_client.zscore(ACTIVITY_KEY, user.bytes) == NOW


def test_the_halting_index_is_read_in_the_same_heartbeat(
    redis_client: redis.Redis, redis_url: str
) -> None:
    user = uuid.uuid4()
    assert not _heartbeat(redis_url, user, NOW).has_jobs
    redis_client.sadd(user_jobs_key(user), "job-1")
    assert _heartbeat(redis_url, user, NOW + MINUTE).has_jobs


def test_users_are_counted_per_phase(redis_client: redis.Redis, redis_url: str) -> None:
    idle_minutes = [0, 5, 9, 10, 29, 30, 59, 60, 600]
    redis_client.zadd(ACTIVITY_KEY, {uuid.uuid4().bytes: NOW - m * MINUTE for m in idle_minutes})
    assert count_users_per_phase(redis_client, THRESHOLDS, NOW) == [3, 2, 2, 2]

    async def count_async() -> list[int]:
        client = aredis.Redis.from_url(redis_url)
        try:
            return await acount_users_per_phase(client, THRESHOLDS, NOW)
        finally:
            await client.aclose()

    assert asyncio.run(count_async()) == [3, 2, 2, 2]


def test_users_idle_beyond_retention_are_pruned(redis_client: redis.Redis, redis_url: str) -> None:
    keep, old = uuid.uuid4().bytes, uuid.uuid4().bytes
    retention_s = 7 * 24 * 3600
    redis_client.zadd(
        ACTIVITY_KEY, {keep: NOW - retention_s * 1000, old: NOW - retention_s * 1000 - 1}
    )

    async def prune() -> int:
        client = aredis.Redis.from_url(redis_url)
        try:
            return await prune_inactive(client, NOW, retention_s)
        finally:
            await client.aclose()

    assert asyncio.run(prune()) == 1
    assert redis_client.zscore(ACTIVITY_KEY, keep) is not None
    assert redis_client.zscore(ACTIVITY_KEY, old) is None


def test_a_session_is_over_once_the_user_has_been_idle_for_the_gap() -> None:
    gap = 10 * MINUTE
    assert session_duration_ms(NOW - 30 * MINUTE, NOW - gap, NOW, gap) == 0
    assert session_duration_ms(NOW - 30 * MINUTE, NOW - gap + 1, NOW, gap) == 30 * MINUTE
    assert session_duration_ms(None, None, NOW, gap) == 0


def test_a_session_begun_before_starts_were_recorded_counts_from_the_last_activity() -> None:
    assert session_duration_ms(None, NOW - MINUTE, NOW, 10 * MINUTE) == MINUTE


def _prune_sessions(url: str) -> int:
    async def go() -> int:
        client = aredis.Redis.from_url(url)
        try:
            return await prune_ended_sessions(client, NOW, THRESHOLDS)
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_the_starts_of_ended_sessions_are_forgotten_and_live_ones_kept(
    redis_client: redis.Redis, redis_url: str
) -> None:
    live, ended, forgotten = (uuid.uuid4().bytes for _ in range(3))
    redis_client.zadd(ACTIVITY_KEY, {live: NOW - 9 * MINUTE, ended: NOW - 10 * MINUTE})
    starts = {live: NOW - 50 * MINUTE, ended: NOW - 40 * MINUTE, forgotten: NOW - 90 * MINUTE}
    redis_client.zadd(SESSION_START_KEY, starts)
    assert _prune_sessions(redis_url) == 2
    assert redis_client.zrange(SESSION_START_KEY, 0, -1) == [live]


def test_pruning_session_starts_walks_a_set_larger_than_one_batch(
    redis_client: redis.Redis, redis_url: str
) -> None:
    members = [uuid.uuid4().bytes for _ in range(2 * SESSION_PRUNE_BATCH + 5)]
    redis_client.zadd(SESSION_START_KEY, {m: NOW - 90 * MINUTE for m in members})
    assert _prune_sessions(redis_url) == len(members)
    assert redis_client.zcard(SESSION_START_KEY) == 0
