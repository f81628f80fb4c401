"""Fixtures of the job pipeline's tests, for every test folder (`pytest_plugins` in
tests/conftest.py): fast settings, idle users with queued jobs, and the API's halt."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import pytest
import redis
import redis.asyncio as aredis

from eros.core.keys import ACTIVITY_KEY
from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.pipeline import metrics
from eros.pipeline.halt import HaltedJob, HaltMetrics, RedisHalter
from eros.pipeline.queue import Enqueuer, JobKey

WAIT_TIMEOUT_SECONDS = 45.0
WAIT_INTERVAL_SECONDS = 0.02
# Short intervals, so that abandonment, polling and retries happen within a test.
FAST_PIPELINE: dict[str, Any] = {
    "worker_heartbeat_seconds": 1,
    "worker_abandoned_after_seconds": 3,
    "halt_poll_seconds": 0.05,
    "halt_grace_seconds": 3.0,
    "checkpoint_cpu_seconds": 0.02,
    "worker_shutdown_grace_seconds": 10.0,
    "job_retry_max": 2,
    "job_retry_backoff_seconds": [1],
    "recovery_interval_seconds": 0.5,
    "worker_work_modules": ["tests.worker.cpu_work"],
}


def wait_until(
    predicate: Callable[[], Any], *, timeout: float = WAIT_TIMEOUT_SECONDS, what: str = "condition"
) -> Any:
    """Poll until `predicate()` is truthy and return it; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(WAIT_INTERVAL_SECONDS)


Halt = Callable[[UUID, int], list[HaltedJob]]


def halt_jobs(
    redis_url: str, settings: Settings, user_id: UUID, received_at_ms: int
) -> list[HaltedJob]:
    """The API's halt of a returning user's jobs, from blocking test code: its own client
    and event loop, counted into the pipeline's series."""

    async def run() -> list[HaltedJob]:
        client = aredis.Redis.from_url(redis_url)
        try:
            counted = HaltMetrics(metrics.JOBS_HALTED, metrics.HALT_LATENCY)
            return await RedisHalter(client, settings, counted=counted).halt(
                user_id, received_at_ms
            )
        finally:
            await client.aclose()

    return asyncio.run(run())


@pytest.fixture
def pipeline_settings(settings: Settings) -> Settings:
    return settings.model_copy(update=FAST_PIPELINE)


@pytest.fixture
def halt(redis_url: str, pipeline_settings: Settings) -> Halt:
    return lambda user_id, received_at_ms: halt_jobs(
        redis_url, pipeline_settings, user_id, received_at_ms
    )


@pytest.fixture
def enqueue(redis_client: redis.Redis, pipeline_settings: Settings) -> Callable[..., JobKey]:
    """Make a user idle since `idle_since_ms` and enqueue their job for `phase`."""
    enqueuer = Enqueuer(redis_client, pipeline_settings)

    def make(
        phase: Phase = Phase.LIGHT, *, user_id: UUID | None = None, idle_since_ms: int | None = None
    ) -> JobKey:
        user_id = user_id or uuid4()
        idle_since_ms = idle_since_ms or time.time_ns() // 1_000_000 - 3_600_000
        redis_client.zadd(ACTIVITY_KEY, {user_id.bytes: idle_since_ms})
        counts = enqueuer.enqueue(phase, [(user_id.bytes, idle_since_ms)])
        assert counts.enqueued == 1
        return JobKey(user_id, phase, idle_since_ms)

    return make
