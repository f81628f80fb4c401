"""What a job sees: checkpoints and the ways it learns to stop, in-process."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any
from uuid import uuid4

import pytest
import pytest_asyncio
import redis
import redis.asyncio as aredis

from eros.core.keys import ACTIVITY_KEY, checkpoint_key, halt_key, user_jobs_key
from eros.core.phases import Phase
from eros.core.redis_client import async_redis
from eros.core.settings import Settings
from eros.pipeline.queue import JobKey
from eros.worker import stop
from eros.worker.context import RunContext
from eros.worker.work import JobContext, JobHalted, JobInterrupted, JobSuperseded

IDLE_SINCE_MS = 1_800_000_000_000
STARTED_KEY = "rq:wip:eros-phase-2"

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def _no_stop_request() -> Iterator[None]:
    stop.reset()
    yield
    stop.reset()


@pytest.fixture
def key(redis_client: redis.Redis) -> JobKey:
    key = JobKey(uuid4(), Phase.MEDIUM, IDLE_SINCE_MS)
    redis_client.zadd(ACTIVITY_KEY, {key.user_id.bytes: IDLE_SINCE_MS})
    redis_client.sadd(user_jobs_key(key.user_id), key.id)
    return key


@pytest_asyncio.fixture
async def job_redis(redis_url: str) -> AsyncIterator[aredis.Redis]:
    """The job's own client, as `eros.worker.job` makes it."""
    async with async_redis(redis_url) as client:
        yield client


def _context(
    job_redis: aredis.Redis, settings: Settings, key: JobKey, **options: object
) -> RunContext:
    return RunContext(key=key, redis=job_redis, settings=settings, **options)  # type: ignore[arg-type]


async def test_a_checkpoint_is_written_only_once_enough_cpu_was_spent(
    redis_client: redis.Redis, job_redis: aredis.Redis, pipeline_settings: Settings, key: JobKey
) -> None:
    lazy = pipeline_settings.model_copy(update={"checkpoint_cpu_seconds": 3600.0})
    ctx = _context(job_redis, lazy, key)
    await ctx.checkpoint({"step": 1})
    assert await ctx.load_checkpoint() is None
    eager = pipeline_settings.model_copy(update={"checkpoint_cpu_seconds": 1e-9})
    ctx = _context(job_redis, eager, key)
    await ctx.checkpoint({"step": 2})
    assert await ctx.load_checkpoint() == {"step": 2}
    assert ctx.resumed_from == key.id


async def test_a_halt_flag_stops_the_job_after_saving_where_it_was(
    redis_client: redis.Redis, job_redis: aredis.Redis, pipeline_settings: Settings, key: JobKey
) -> None:
    ctx = _context(job_redis, pipeline_settings, key)
    redis_client.set(halt_key(key.id), 1_800_000_100_000)
    with pytest.raises(JobHalted) as halted:
        await ctx.checkpoint({"step": 7})
    assert halted.value.requested
    assert halted.value.received_at_ms == 1_800_000_100_000
    assert await ctx.load_checkpoint() == {"step": 7}


async def test_activity_since_the_idle_period_began_stops_the_job_even_without_a_flag(
    redis_client: redis.Redis, job_redis: aredis.Redis, pipeline_settings: Settings, key: JobKey
) -> None:
    ctx = _context(job_redis, pipeline_settings, key)
    await ctx.check_halt()
    redis_client.zadd(ACTIVITY_KEY, {key.user_id.bytes: IDLE_SINCE_MS + 5})
    with pytest.raises(JobHalted) as halted:
        await _context(job_redis, pipeline_settings, key).guard_start()
    assert not halted.value.requested
    assert halted.value.received_at_ms == IDLE_SINCE_MS + 5
    assert halted.value.via == "start"


async def test_a_drain_signal_interrupts_the_job_so_that_it_is_requeued(
    redis_client: redis.Redis, job_redis: aredis.Redis, pipeline_settings: Settings, key: JobKey
) -> None:
    ctx = _context(job_redis, pipeline_settings, key)
    stop.request(stop.StopReason.DRAIN)
    with pytest.raises(JobInterrupted) as interrupted:
        await ctx.checkpoint({"step": 3})
    assert interrupted.value.reason == "shutdown"
    assert await ctx.load_checkpoint() == {"step": 3}


async def test_a_halt_outranks_a_drain(
    redis_client: redis.Redis, job_redis: aredis.Redis, pipeline_settings: Settings, key: JobKey
) -> None:
    stop.request(stop.StopReason.DRAIN)
    stop.request(stop.StopReason.HALT)
    stop.request(stop.StopReason.DRAIN)
    with pytest.raises(JobHalted):
        await _context(job_redis, pipeline_settings, key).check_halt()


async def test_a_job_whose_worker_died_interrupts_itself(
    redis_client: redis.Redis, job_redis: aredis.Redis, pipeline_settings: Settings, key: JobKey
) -> None:
    ctx = _context(job_redis, pipeline_settings, key, parent_pid=os.getppid() + 1)
    with pytest.raises(JobInterrupted) as interrupted:
        await ctx.check_halt()
    assert interrupted.value.reason == "worker-lost"


async def test_a_job_requeued_behind_its_back_stops_without_touching_the_checkpoint(
    redis_client: redis.Redis, job_redis: aredis.Redis, pipeline_settings: Settings, key: JobKey
) -> None:
    member = f"{key.id}:execution-1"
    redis_client.zadd(STARTED_KEY, {member: time.time() + 60})
    ctx = _context(job_redis, pipeline_settings, key, execution=(STARTED_KEY, member))
    await ctx.check_halt()
    redis_client.zrem(STARTED_KEY, member)
    eager = pipeline_settings.model_copy(update={"checkpoint_cpu_seconds": 1e-9})
    ctx = _context(job_redis, eager, key, execution=(STARTED_KEY, member))
    with pytest.raises(JobSuperseded):
        await ctx.checkpoint({"step": 9})
    assert not redis_client.exists(checkpoint_key(int(key.phase), key.user_id))


async def test_waiting_ends_early_when_the_job_is_halted(
    redis_client: redis.Redis, job_redis: aredis.Redis, pipeline_settings: Settings, key: JobKey
) -> None:
    ctx = _context(job_redis, pipeline_settings, key)
    await ctx.wait(0.01)
    redis_client.set(halt_key(key.id), 1)
    with pytest.raises(JobHalted):
        await ctx.wait(3600)  # returns within a poll interval, or the test times out


async def test_completing_spends_the_checkpoint_and_leaves_the_halting_index(
    redis_client: redis.Redis, job_redis: aredis.Redis, pipeline_settings: Settings, key: JobKey
) -> None:
    ctx = _context(job_redis, pipeline_settings, key)
    await ctx.save_checkpoint({"step": 1})
    await ctx.complete()
    assert await ctx.load_checkpoint() is None
    assert not redis_client.exists(user_jobs_key(key.user_id))


async def test_an_unreadable_checkpoint_means_starting_over(
    redis_client: redis.Redis, job_redis: aredis.Redis, pipeline_settings: Settings, key: JobKey
) -> None:
    redis_client.set(checkpoint_key(int(key.phase), key.user_id), b"{not json")
    assert await _context(job_redis, pipeline_settings, key).load_checkpoint() is None


class _StuckAfterOneStep:
    """Reaches one safe point, then waits on I/O that never answers."""

    async def run(self, ctx: JobContext) -> Mapping[str, Any]:
        await ctx.checkpoint({"step": 1})
        asyncio.get_running_loop().call_soon(os.kill, os.getpid(), self.signal)
        await asyncio.Event().wait()
        return {}

    signal = stop.HALT_SIGNAL


async def test_a_halt_signal_cancels_the_work_where_it_waits_and_saves_its_last_safe_point(
    redis_client: redis.Redis, job_redis: aredis.Redis, pipeline_settings: Settings, key: JobKey
) -> None:
    ctx = _context(job_redis, pipeline_settings, key)
    with pytest.raises(JobHalted) as halted:
        await ctx.run(_StuckAfterOneStep())
    assert halted.value.via == "signal"
    assert await ctx.load_checkpoint() == {"step": 1}


class _DrainedBetweenSteps:
    async def run(self, ctx: JobContext) -> Mapping[str, Any]:
        await ctx.checkpoint({"step": 1})
        os.kill(os.getpid(), stop.DRAIN_SIGNAL)
        await asyncio.sleep(0.01)  # I/O in flight: a drain lets it finish
        await ctx.checkpoint({"step": 2})
        return {}


async def test_a_drain_signal_lets_the_work_reach_its_next_safe_point(
    redis_client: redis.Redis, job_redis: aredis.Redis, pipeline_settings: Settings, key: JobKey
) -> None:
    ctx = _context(job_redis, pipeline_settings, key)
    with pytest.raises(JobInterrupted):
        await ctx.run(_DrainedBetweenSteps())
    assert await ctx.load_checkpoint() == {"step": 2}
