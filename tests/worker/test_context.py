"""What a job sees: checkpoints and the three ways it learns to stop, in-process."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from uuid import uuid4

import pytest
import redis

from eros.core.keys import ACTIVITY_KEY, checkpoint_key, halt_key, user_jobs_key
from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.pipeline.queue import JobKey
from eros.worker import stop
from eros.worker.context import RunContext
from eros.worker.work import JobHalted, JobInterrupted, JobSuperseded

IDLE_SINCE_MS = 1_800_000_000_000
STARTED_KEY = "rq:wip:eros-phase-2"


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


def _context(
    redis_client: redis.Redis, settings: Settings, key: JobKey, **options: object
) -> RunContext:
    return RunContext(key=key, connection=redis_client, settings=settings, **options)  # type: ignore[arg-type]


def test_a_checkpoint_is_written_only_once_enough_cpu_was_spent(
    redis_client: redis.Redis, pipeline_settings: Settings, key: JobKey
) -> None:
    lazy = pipeline_settings.model_copy(update={"checkpoint_cpu_seconds": 3600.0})
    ctx = _context(redis_client, lazy, key)
    ctx.checkpoint({"step": 1})
    assert ctx.load_checkpoint() is None
    eager = pipeline_settings.model_copy(update={"checkpoint_cpu_seconds": 1e-9})
    ctx = _context(redis_client, eager, key)
    ctx.checkpoint({"step": 2})
    assert ctx.load_checkpoint() == {"step": 2}
    assert ctx.resumed_from == key.id


def test_a_halt_flag_stops_the_job_after_saving_where_it_was(
    redis_client: redis.Redis, pipeline_settings: Settings, key: JobKey
) -> None:
    ctx = _context(redis_client, pipeline_settings, key)
    redis_client.set(halt_key(key.id), 1_800_000_100_000)
    with pytest.raises(JobHalted) as halted:
        ctx.checkpoint({"step": 7})
    assert halted.value.requested
    assert halted.value.received_at_ms == 1_800_000_100_000
    assert ctx.load_checkpoint() == {"step": 7}


def test_activity_since_the_idle_period_began_stops_the_job_even_without_a_flag(
    redis_client: redis.Redis, pipeline_settings: Settings, key: JobKey
) -> None:
    ctx = _context(redis_client, pipeline_settings, key)
    ctx.check_halt()
    redis_client.zadd(ACTIVITY_KEY, {key.user_id.bytes: IDLE_SINCE_MS + 5})
    with pytest.raises(JobHalted) as halted:
        _context(redis_client, pipeline_settings, key).guard_start()
    assert not halted.value.requested
    assert halted.value.received_at_ms == IDLE_SINCE_MS + 5
    assert halted.value.via == "start"


def test_a_drain_signal_interrupts_the_job_so_that_it_is_requeued(
    redis_client: redis.Redis, pipeline_settings: Settings, key: JobKey
) -> None:
    ctx = _context(redis_client, pipeline_settings, key)
    stop.request(stop.StopReason.DRAIN)
    with pytest.raises(JobInterrupted) as interrupted:
        ctx.checkpoint({"step": 3})
    assert interrupted.value.reason == "shutdown"
    assert ctx.load_checkpoint() == {"step": 3}


def test_a_halt_outranks_a_drain(
    redis_client: redis.Redis, pipeline_settings: Settings, key: JobKey
) -> None:
    stop.request(stop.StopReason.DRAIN)
    stop.request(stop.StopReason.HALT)
    stop.request(stop.StopReason.DRAIN)
    with pytest.raises(JobHalted):
        _context(redis_client, pipeline_settings, key).check_halt()


def test_a_job_whose_worker_died_interrupts_itself(
    redis_client: redis.Redis, pipeline_settings: Settings, key: JobKey
) -> None:
    ctx = _context(redis_client, pipeline_settings, key, parent_pid=os.getppid() + 1)
    with pytest.raises(JobInterrupted) as interrupted:
        ctx.check_halt()
    assert interrupted.value.reason == "worker-lost"


def test_a_job_requeued_behind_its_back_stops_without_touching_the_checkpoint(
    redis_client: redis.Redis, pipeline_settings: Settings, key: JobKey
) -> None:
    member = f"{key.id}:execution-1"
    redis_client.zadd(STARTED_KEY, {member: time.time() + 60})
    ctx = _context(redis_client, pipeline_settings, key, execution=(STARTED_KEY, member))
    ctx.check_halt()
    redis_client.zrem(STARTED_KEY, member)
    eager = pipeline_settings.model_copy(update={"checkpoint_cpu_seconds": 1e-9})
    ctx = _context(redis_client, eager, key, execution=(STARTED_KEY, member))
    with pytest.raises(JobSuperseded):
        ctx.checkpoint({"step": 9})
    assert not redis_client.exists(checkpoint_key(int(key.phase), key.user_id))


def test_waiting_ends_early_when_the_job_is_halted(
    redis_client: redis.Redis, pipeline_settings: Settings, key: JobKey
) -> None:
    ctx = _context(redis_client, pipeline_settings, key)
    ctx.wait(0.01)
    redis_client.set(halt_key(key.id), 1)
    with pytest.raises(JobHalted):
        ctx.wait(3600)  # returns within a poll interval, or the test times out


def test_completing_spends_the_checkpoint_and_leaves_the_halting_index(
    redis_client: redis.Redis, pipeline_settings: Settings, key: JobKey
) -> None:
    ctx = _context(redis_client, pipeline_settings, key)
    ctx.save_checkpoint({"step": 1})
    ctx.complete()
    assert ctx.load_checkpoint() is None
    assert not redis_client.exists(user_jobs_key(key.user_id))


def test_an_unreadable_checkpoint_means_starting_over(
    redis_client: redis.Redis, pipeline_settings: Settings, key: JobKey
) -> None:
    redis_client.set(checkpoint_key(int(key.phase), key.user_id), b"{not json")
    assert _context(redis_client, pipeline_settings, key).load_checkpoint() is None
