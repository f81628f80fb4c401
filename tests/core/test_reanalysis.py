"""A profile change is analysed again at the user's next idle crossing, measured from the
save: through the API, the real scheduler with an injected clock, and the deep phase."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import pytest
import redis
from fastapi.testclient import TestClient

from eros.core.clock import ManualClock
from eros.core.keys import ACTIVITY_KEY
from eros.core.phase_config import from_settings
from eros.core.phases import Phase
from eros.core.reanalysis import schedule_reanalysis
from eros.core.redis_client import async_redis
from eros.core.settings import Settings
from eros.pipeline.queue import JobKey, phase_queue
from eros.pipeline.scheduler import Scheduler
from eros.worker.phases import DeepPhase, MediumPhase
from tests.api.profile_support import profile_body, put_profile, quick_accounts
from tests.worker.analysis_support import people, run_phase

SECOND_MS = 1000
HOUR_MS = 3_600_000


def _heartbeat(client: TestClient, headers: dict[str, str]) -> None:
    body = {"appActive": True, "screenOn": True}
    response = client.post("/api/v1/heartbeat", json=body, headers=headers)
    assert response.status_code == 200, response.text


def _deep_jobs(redis_client: redis.Redis, settings: Settings) -> list[str]:
    return phase_queue(redis_client, from_settings(settings), Phase.DEEP).get_job_ids()


def _preferences(db: Any, user: str) -> tuple[dict[str, Any], int]:
    row = db.execute(
        "SELECT preferences, basis_ms FROM ultimate_preferences WHERE user_id = %s", (user,)
    ).fetchone()
    return row[0], row[1]


def _flag(db: Any, user: str) -> Any:
    return db.execute(
        "SELECT analysis_requested_at FROM profiles WHERE user_id = %s", (user,)
    ).fetchone()[0]


def _score(redis_client: redis.Redis, user: UUID) -> float | None:
    return redis_client.zscore(ACTIVITY_KEY, user.bytes)


def test_a_profile_saved_after_phase_3_ran_is_analysed_again_from_the_save(
    client: TestClient,
    db: Any,
    clock: ManualClock,
    redis_client: redis.Redis,
    pipeline_settings: Settings,
) -> None:
    viewer, _, _ = people(client, db, clock, 8, 0)
    user = UUID(viewer.id)
    deep_s = pipeline_settings.phase_idle_seconds[2]
    scheduler = Scheduler(redis_client, pipeline_settings, clock=clock)
    scheduler.tick()  # the first tick schedules from now on
    _heartbeat(client, viewer.headers)
    active_ms = clock.now_ms()

    clock.advance(seconds=deep_s + 1)
    scheduler.tick()
    assert _deep_jobs(redis_client, pipeline_settings) == [JobKey(user, Phase.DEEP, active_ms).id]
    deep = DeepPhase(clock=clock.now_ms, client_factory=lambda _: None)
    run_phase(MediumPhase(), redis_client, pipeline_settings, viewer, Phase.MEDIUM, active_ms)
    run_phase(deep, redis_client, pipeline_settings, viewer, Phase.DEEP, active_ms)
    redis_client.delete(phase_queue(redis_client, from_settings(pipeline_settings), Phase.DEEP).key)
    before, basis = _preferences(db, viewer.id)
    assert basis == active_ms and "interest:cooking" not in before["weights"]

    # An hour later, still idle (no heartbeat), the user changes their profile.
    clock.advance(ms=HOUR_MS)
    put_profile(client, viewer, profile_body(interests={"cooking": 90}))
    saved_ms = clock.now_ms()
    assert _flag(db, viewer.id) is not None
    clock.advance(seconds=deep_s - 1)
    scheduler.tick()
    assert _deep_jobs(redis_client, pipeline_settings) == []

    clock.advance(seconds=2)
    scheduler.tick()
    assert _deep_jobs(redis_client, pipeline_settings) == [JobKey(user, Phase.DEEP, saved_ms).id]
    run_phase(deep, redis_client, pipeline_settings, viewer, Phase.DEEP, saved_ms)
    after, basis = _preferences(db, viewer.id)
    assert basis == saved_ms and after["weights"]["interest:cooking"] > 0
    assert _flag(db, viewer.id) is None


def test_an_analysed_idle_period_without_a_profile_change_gets_no_second_deep_job(
    client: TestClient,
    db: Any,
    clock: ManualClock,
    redis_client: redis.Redis,
    pipeline_settings: Settings,
) -> None:
    viewer, _, _ = people(client, db, clock, 1, 0)
    deep_s = pipeline_settings.phase_idle_seconds[2]
    scheduler = Scheduler(redis_client, pipeline_settings, clock=clock)
    scheduler.tick()
    _heartbeat(client, viewer.headers)
    clock.advance(seconds=deep_s + 1)
    assert scheduler.tick().enqueued[Phase.DEEP] == 1
    clock.advance(ms=2 * HOUR_MS)
    assert scheduler.tick().enqueued[Phase.DEEP] == 0


def test_a_profile_save_never_starts_tracking_a_user_who_never_sent_a_heartbeat(
    client: TestClient, db: Any, clock: ManualClock, redis_client: redis.Redis
) -> None:
    (account,) = quick_accounts(db, clock, 1)
    put_profile(client, account, profile_body())
    assert _score(redis_client, UUID(account.id)) is None


@pytest.mark.parametrize(("save_offset_ms", "moved"), [(-SECOND_MS, False), (SECOND_MS, True)])
def test_a_save_moves_activity_only_forward(
    redis_client: redis.Redis, settings: Settings, save_offset_ms: int, moved: bool
) -> None:
    user, active_ms = UUID(int=7), 1_700_000_000_000
    redis_client.zadd(ACTIVITY_KEY, {user.bytes: active_ms})

    async def save() -> bool:
        async with async_redis(str(settings.redis_url)) as client:
            return await schedule_reanalysis(client, user, active_ms + save_offset_ms)

    assert asyncio.run(save()) is moved
    assert _score(redis_client, user) == active_ms + max(0, save_offset_ms)
