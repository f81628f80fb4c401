"""The console's history: the active scheduler samples the loop once a minute, keeps the
retention's worth, and summarises the minute's halts."""

from __future__ import annotations

import asyncio
import json
from uuid import uuid4

import redis
import redis.asyncio as aredis

from eros.core.clock import ManualClock
from eros.core.keys import ACTIVITY_KEY, HISTORY_KEY, RECENT_HALTS_KEY
from eros.core.phase_config import from_settings
from eros.core.settings import Settings
from eros.pipeline.history import (
    MS_PER_MINUTE,
    HistorySampler,
    Sample,
    minute_of,
    percentile,
    read_history,
    record_halt_latency,
    take_sample,
)
from eros.pipeline.scheduler import Scheduler


def _history(redis_url: str, since_ms: int = 0) -> list[Sample]:
    async def read() -> list[Sample]:
        client = aredis.Redis.from_url(redis_url)
        try:
            return await read_history(client, since_ms)
        finally:
            await client.aclose()

    return asyncio.run(read())


def test_the_nearest_rank_percentile_is_a_value_that_was_seen() -> None:
    assert percentile([], 50) is None
    assert percentile([30.0, 10.0, 20.0], 50) == 20.0
    assert percentile([float(v) for v in range(1, 101)], 99) == 99.0
    assert percentile([5.0], 99) == 5.0


def test_a_minute_starts_on_the_minute() -> None:
    assert minute_of(3 * MS_PER_MINUTE + 59_999) == 3 * MS_PER_MINUTE


def test_the_active_scheduler_samples_once_per_minute_of_its_clock(
    redis_client: redis.Redis, redis_url: str, settings: Settings, clock: ManualClock
) -> None:
    scheduler = Scheduler(redis_client, settings, clock=clock, name="scheduler-a")
    scheduler.tick()
    scheduler.tick()
    assert len(_history(redis_url)) == 1

    redis_client.zadd(ACTIVITY_KEY, {uuid4().bytes: clock.now_ms()})
    clock.advance(seconds=11 * 60)
    scheduler.tick()

    samples = _history(redis_url)
    assert [s.at_ms for s in samples] == [
        minute_of(clock.now_ms()) - 11 * MS_PER_MINUTE,
        minute_of(clock.now_ms()),
    ]
    assert samples[-1].users == [0, 1, 0, 0]  # the user went idle into phase 1
    assert samples[-1].desired is None  # no operator has published a plan


def test_a_standby_scheduler_writes_no_sample(
    redis_client: redis.Redis, redis_url: str, settings: Settings, clock: ManualClock
) -> None:
    Scheduler(redis_client, settings, clock=clock, name="scheduler-a").tick()
    redis_client.delete(HISTORY_KEY)
    assert not Scheduler(redis_client, settings, clock=clock, name="scheduler-b").tick().leader
    assert _history(redis_url) == []


def test_samples_older_than_the_retention_are_dropped(
    redis_client: redis.Redis, redis_url: str, settings: Settings, clock: ManualClock
) -> None:
    sampler = HistorySampler(redis_client, retention_minutes=3)
    config = from_settings(settings)
    for _ in range(5):
        assert sampler.maybe_sample(config, clock.now_ms())
        clock.advance(seconds=60)
    assert len(_history(redis_url)) == 4  # the retention's 3 minutes before the last, and it


def test_a_sample_counts_the_previous_minutes_halts_and_their_latency_percentiles(
    redis_client: redis.Redis, settings: Settings, clock: ManualClock
) -> None:
    now = clock.now_ms()
    minute = minute_of(now)
    # The first is two minutes back; the last in the current minute, for the next sample.
    halts = [minute - 90_000, minute - 60_000, minute - 1, minute]
    for at in halts:
        redis_client.lpush(RECENT_HALTS_KEY, json.dumps({"job": "x", "state": "queued", "at": at}))
    with redis_client.pipeline() as pipe:
        for latency in (40, 10, 20, 30):
            record_halt_latency(pipe, minute - 5_000, latency)
        record_halt_latency(pipe, minute - 120_000, 9_000)  # an older minute's
        pipe.execute()

    sample = take_sample(redis_client, from_settings(settings), now)

    assert sample.halts == 2
    assert sample.halt_latency_ms == {"p50": 20.0, "p95": 40.0, "p99": 40.0}
