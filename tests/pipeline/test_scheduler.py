"""The scheduler: threshold crossings found by range queries, watermarks, deduplication,
batching, off-peak windows and the lease, with an injected clock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from uuid import UUID, uuid4

import pytest
import redis
from rq import Queue

from eros.core.clock import ManualClock
from eros.core.keys import (
    ACTIVITY_KEY,
    PHASE_CONFIG_FOLLOWERS_KEY,
    SCHEDULER_LEASE_KEY,
    user_jobs_key,
)
from eros.core.offpeak import OffPeakWindow
from eros.core.phase_config import PhaseConfigFollower, from_settings, parse_followers, publish
from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.pipeline.queue import JobKey, phase_queue
from eros.pipeline.scheduler import DEEPEST_FIRST, Scheduler, crossing_bounds
from tests.pipeline.fixtures import Halt, wait_until

MINUTE_MS = 60_000
UTC_MIDNIGHT_MS = 1_700_006_400_000  # 2023-11-15T00:00:00Z


def _activity(client: redis.Redis, user_id: UUID, at_ms: int) -> None:
    client.zadd(ACTIVITY_KEY, {user_id.bytes: at_ms}, gt=True)


def _queued(client: redis.Redis, settings: Settings, phase: Phase) -> list[str]:
    return phase_queue(client, from_settings(settings), phase).get_job_ids()


@pytest.fixture
def make_scheduler(
    redis_client: redis.Redis, pipeline_settings: Settings, clock: ManualClock
) -> Callable[..., Scheduler]:
    def make(settings: Settings | None = None, name: str | None = None) -> Scheduler:
        return Scheduler(redis_client, settings or pipeline_settings, clock=clock, name=name)

    return make


def test_crossing_bounds_select_the_activity_times_that_reach_the_threshold_in_the_window() -> None:
    low, high = crossing_bounds(watermark_ms=1_000_000, now_ms=1_001_000, threshold_s=600)
    assert (low, high) == (400_000, 401_000)


def test_the_first_tick_schedules_from_now_on(
    make_scheduler: Callable[..., Scheduler],
    redis_client: redis.Redis,
    pipeline_settings: Settings,
    clock: ManualClock,
) -> None:
    _activity(redis_client, uuid4(), clock.now_ms() - 120 * MINUTE_MS)
    report = make_scheduler().tick()
    assert report.leader
    assert report.total_enqueued == 0
    assert all(not _queued(redis_client, pipeline_settings, p) for p in DEEPEST_FIRST)


def test_users_get_a_job_exactly_when_they_cross_each_threshold(
    make_scheduler: Callable[..., Scheduler],
    redis_client: redis.Redis,
    pipeline_settings: Settings,
    clock: ManualClock,
) -> None:
    scheduler = make_scheduler()
    scheduler.tick()
    start = clock.now_ms()
    early, late, active = uuid4(), uuid4(), uuid4()
    _activity(redis_client, early, start)
    _activity(redis_client, late, start + 1)
    _activity(redis_client, active, start)

    clock.set(start + 10 * MINUTE_MS - 1)
    assert scheduler.tick().total_enqueued == 0
    _activity(redis_client, active, clock.now_ms())  # came back before crossing

    clock.set(start + 10 * MINUTE_MS)  # `early` crosses exactly now, `late` 1 ms later
    report = scheduler.tick()
    assert report.enqueued == {Phase.DEEP: 0, Phase.MEDIUM: 0, Phase.LIGHT: 1}
    assert _queued(redis_client, pipeline_settings, Phase.LIGHT) == [
        JobKey(early, Phase.LIGHT, start).id
    ]

    clock.set(start + 10 * MINUTE_MS + 1)
    assert scheduler.tick().enqueued[Phase.LIGHT] == 1
    _activity(redis_client, active, start + 59 * MINUTE_MS)  # active again: no past crossings
    clock.set(start + 60 * MINUTE_MS + 1)
    report = scheduler.tick()
    assert report.enqueued == {Phase.DEEP: 2, Phase.MEDIUM: 2, Phase.LIGHT: 0}
    assert set(_queued(redis_client, pipeline_settings, Phase.DEEP)) == {
        JobKey(early, Phase.DEEP, start).id,
        JobKey(late, Phase.DEEP, start + 1).id,
    }
    assert redis_client.smembers(user_jobs_key(early)) == {
        JobKey(early, phase, start).id.encode() for phase in (Phase.LIGHT, Phase.MEDIUM, Phase.DEEP)
    }


def test_a_restarted_scheduler_misses_nobody_who_crossed_while_it_was_down(
    make_scheduler: Callable[..., Scheduler],
    redis_client: redis.Redis,
    pipeline_settings: Settings,
    clock: ManualClock,
) -> None:
    make_scheduler(name="before").tick()
    users = [uuid4() for _ in range(5)]
    for offset, user in enumerate(users):
        _activity(redis_client, user, clock.now_ms() + offset * MINUTE_MS)
    redis_client.delete(SCHEDULER_LEASE_KEY)  # the first scheduler is gone
    clock.advance(seconds=20 * 60)

    report = make_scheduler(name="after").tick()
    assert report.enqueued[Phase.LIGHT] == 5
    assert len(_queued(redis_client, pipeline_settings, Phase.LIGHT)) == 5


def test_scanning_a_window_again_enqueues_nothing_twice(
    make_scheduler: Callable[..., Scheduler],
    redis_client: redis.Redis,
    pipeline_settings: Settings,
    clock: ManualClock,
) -> None:
    scheduler = make_scheduler()
    scheduler.tick()
    watermarks: dict[Any, Any] = redis_client.hgetall("eros:scheduler:watermarks")
    for _ in range(7):
        _activity(redis_client, uuid4(), clock.now_ms())
    clock.advance(seconds=11 * 60)
    assert scheduler.tick().enqueued[Phase.LIGHT] == 7
    # A scheduler that died before saving its watermark: the next one scans the same window.
    redis_client.hset("eros:scheduler:watermarks", mapping=watermarks)
    report = scheduler.tick()
    assert report.examined[Phase.LIGHT] == 7
    assert report.enqueued[Phase.LIGHT] == 0
    assert len(_queued(redis_client, pipeline_settings, Phase.LIGHT)) == 7


def test_two_schedulers_racing_enqueue_every_job_exactly_once(
    make_scheduler: Callable[..., Scheduler],
    redis_client: redis.Redis,
    pipeline_settings: Settings,
    clock: ManualClock,
) -> None:
    settings = pipeline_settings.model_copy(update={"scheduler_batch_users": 7})
    first, second = make_scheduler(settings, "first"), make_scheduler(settings, "second")
    first.tick()
    base = clock.now_ms()
    for index in range(300):
        _activity(redis_client, uuid4(), base + index * 100)
    clock.advance(seconds=70 * 60)
    errors: list[BaseException] = []

    def run(scheduler: Scheduler) -> None:
        try:
            for _ in range(20):
                scheduler.tick()
                # Steal the lease back and forth, so that both scan overlapping windows.
                redis_client.delete(SCHEDULER_LEASE_KEY)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for phase in (Phase.LIGHT, Phase.MEDIUM, Phase.DEEP):
        ids = _queued(redis_client, pipeline_settings, phase)
        assert len(ids) == 300
        assert len(set(ids)) == 300


def test_users_sharing_a_millisecond_are_all_scheduled_across_batches(
    make_scheduler: Callable[..., Scheduler],
    redis_client: redis.Redis,
    pipeline_settings: Settings,
    clock: ManualClock,
) -> None:
    settings = pipeline_settings.model_copy(update={"scheduler_batch_users": 3})
    scheduler = make_scheduler(settings)
    scheduler.tick()
    same = clock.now_ms()
    for _ in range(8):
        _activity(redis_client, uuid4(), same)
    for offset in range(1, 5):
        _activity(redis_client, uuid4(), same + offset)
    clock.advance(seconds=10 * 60 + 1)
    report = scheduler.tick()
    assert report.examined[Phase.LIGHT] == 12
    assert report.enqueued[Phase.LIGHT] == 12


def test_a_phase_restricted_to_off_peak_hours_waits_for_its_window(
    make_scheduler: Callable[..., Scheduler],
    redis_client: redis.Redis,
    pipeline_settings: Settings,
    clock: ManualClock,
) -> None:
    settings = pipeline_settings.model_copy(
        update={"phase_off_peak": [None, None, "23:00-07:00"], "off_peak_timezone": "UTC"}
    )
    clock.set(UTC_MIDNIGHT_MS + 12 * 60 * MINUTE_MS)  # noon
    scheduler = make_scheduler(settings)
    scheduler.tick()
    stays, returns = uuid4(), uuid4()
    _activity(redis_client, stays, clock.now_ms())
    _activity(redis_client, returns, clock.now_ms())

    clock.advance(seconds=2 * 3600)  # 14:00: both crossed all thresholds
    report = scheduler.tick()
    assert report.skipped == [Phase.DEEP]
    assert report.enqueued[Phase.MEDIUM] == 2
    assert not _queued(redis_client, settings, Phase.DEEP)
    # Back at 22:30: their earlier crossing no longer counts, their next one is at 23:30.
    _activity(redis_client, returns, UTC_MIDNIGHT_MS + (22 * 60 + 30) * MINUTE_MS)

    clock.set(UTC_MIDNIGHT_MS + 23 * 60 * MINUTE_MS)  # the window opens
    report = scheduler.tick()
    assert report.enqueued[Phase.DEEP] == 1
    assert _queued(redis_client, settings, Phase.DEEP) == [
        JobKey(stays, Phase.DEEP, UTC_MIDNIGHT_MS + 12 * 60 * MINUTE_MS).id
    ]


def test_a_halted_user_idle_again_gets_a_new_job_for_the_new_idle_period(
    halt: Halt,
    make_scheduler: Callable[..., Scheduler],
    redis_client: redis.Redis,
    pipeline_settings: Settings,
    clock: ManualClock,
) -> None:
    scheduler = make_scheduler()
    scheduler.tick()
    user = uuid4()
    first_idle = clock.now_ms()
    _activity(redis_client, user, first_idle)
    clock.advance(seconds=10 * 60)
    scheduler.tick()
    halted = halt(user, clock.now_ms())
    assert [job.state for job in halted] == ["queued"]
    _activity(redis_client, user, clock.now_ms())
    second_idle = clock.now_ms()

    clock.advance(seconds=10 * 60)
    assert scheduler.tick().enqueued[Phase.LIGHT] == 1
    assert _queued(redis_client, pipeline_settings, Phase.LIGHT) == [
        JobKey(user, Phase.LIGHT, second_idle).id
    ]
    assert first_idle != second_idle


def test_a_standby_scheduler_takes_over_when_the_active_one_stops(
    make_scheduler: Callable[..., Scheduler],
    redis_client: redis.Redis,
    pipeline_settings: Settings,
) -> None:
    settings = pipeline_settings.model_copy(
        update={"scheduler_lease_seconds": 0.3, "scheduler_tick_seconds": 0.1}
    )
    active, standby = make_scheduler(settings, "active"), make_scheduler(settings, "standby")
    assert active.tick().leader
    assert not standby.tick().leader
    # The active one dies without releasing: the standby waits out the lease, then leads.
    wait_until(lambda: standby.tick().leader, what="the takeover")
    assert redis_client.get(SCHEDULER_LEASE_KEY) == b"standby"
    assert not active.tick().leader


def test_a_stopping_scheduler_hands_its_lease_over_at_once(
    make_scheduler: Callable[..., Scheduler],
) -> None:
    active, standby = make_scheduler(name="active"), make_scheduler(name="standby")
    assert active.tick().leader
    active.release()
    assert standby.tick().leader


def test_the_scheduler_follows_the_thresholds_and_queues_the_operator_publishes(
    make_scheduler: Callable[..., Scheduler],
    redis_client: redis.Redis,
    pipeline_settings: Settings,
    clock: ManualClock,
) -> None:
    scheduler = make_scheduler()
    scheduler.tick()
    start = clock.now_ms()
    user = uuid4()
    _activity(redis_client, user, start)
    defaults = from_settings(pipeline_settings)
    publish(
        redis_client,
        replace(
            defaults,
            idle_seconds=(300, 1800, 3600),
            queues=("light-work", *defaults.queues[1:]),
            source="eros/eros",
            generation=7,
        ),
    )
    clock.set(start + 5 * MINUTE_MS)
    scheduler.phase_config = PhaseConfigFollower(redis_client, pipeline_settings, "scheduler/t")

    assert scheduler.tick().enqueued[Phase.LIGHT] == 1
    light = Queue("light-work", connection=redis_client)
    assert light.get_job_ids() == [JobKey(user, Phase.LIGHT, start).id]
    assert _queued(redis_client, pipeline_settings, Phase.LIGHT) == []
    followers = parse_followers(redis_client.hgetall(PHASE_CONFIG_FOLLOWERS_KEY), clock.now_ms())
    assert {f.component: f.generation for f in followers}["scheduler/t"] == 7


def test_an_off_peak_window_published_for_a_phase_holds_its_jobs(
    make_scheduler: Callable[..., Scheduler],
    redis_client: redis.Redis,
    pipeline_settings: Settings,
    clock: ManualClock,
) -> None:
    clock.set(UTC_MIDNIGHT_MS + 12 * 60 * MINUTE_MS)  # noon UTC
    defaults = from_settings(pipeline_settings)
    night = OffPeakWindow.parse("23:00-07:00")
    publish(redis_client, replace(defaults, windows=(None, None, night), generation=1))
    scheduler = make_scheduler()
    scheduler.tick()
    _activity(redis_client, uuid4(), clock.now_ms())
    clock.set(clock.now_ms() + 61 * MINUTE_MS)

    report = scheduler.tick()
    assert Phase.DEEP in report.skipped
    assert _queued(redis_client, pipeline_settings, Phase.DEEP) == []
