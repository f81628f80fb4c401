"""Maintenance jobs are enqueued once per interval, under an id naming the interval."""

from __future__ import annotations

import redis

from eros.core.clock import ManualClock
from eros.core.settings import Settings
from eros.pipeline.maintenance import (
    MODEL_FIT_JOB_FUNCTION,
    enqueue_model_fit,
    maintenance_queue,
    model_fit_job_id,
)
from eros.pipeline.scheduler import Scheduler

INTERVAL_S = 3600
MS = 1000


def test_the_model_fit_is_enqueued_once_per_interval(
    redis_client: redis.Redis, settings: Settings
) -> None:
    settings = settings.model_copy(update={"model_fit_interval_seconds": INTERVAL_S})
    start = 1_700_002_800_000  # an interval's first millisecond
    first = enqueue_model_fit(redis_client, settings, start)
    assert first == model_fit_job_id(start, INTERVAL_S)
    # Later in the same interval: a restart, a takeover, a second scheduler.
    assert enqueue_model_fit(redis_client, settings, start + INTERVAL_S * MS - 1) is None
    following = enqueue_model_fit(redis_client, settings, start + INTERVAL_S * MS)
    assert following is not None and following != first

    queue = maintenance_queue(redis_client, settings)
    assert queue.get_job_ids() == [first, following]
    job = queue.fetch_job(first)
    assert job is not None and job.func_name == MODEL_FIT_JOB_FUNCTION
    assert job.result_ttl == INTERVAL_S  # keeps the id taken until the next interval


def test_the_active_scheduler_enqueues_this_intervals_model_fit(
    redis_client: redis.Redis, settings: Settings, clock: ManualClock
) -> None:
    scheduler = Scheduler(redis_client, settings, clock=clock, name="scheduler-a")
    assert scheduler.tick().leader
    expected = model_fit_job_id(clock.now_ms(), settings.model_fit_interval_seconds)
    assert expected in maintenance_queue(redis_client, settings).get_job_ids()
