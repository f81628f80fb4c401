"""The job pipeline through the API: heartbeats halt a returning user's jobs and report
`haltedJobs`; administrators see the pipeline's status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from uuid import UUID

import pytest
import redis
from fastapi.testclient import TestClient

from eros.core.clock import ManualClock
from eros.core.phase_config import from_settings, publish
from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.pipeline.queue import JobKey, phase_queue
from eros.pipeline.scheduler import Scheduler
from tests.conftest import Account

ACTIVE = {"appActive": True, "screenOn": True}
BACKGROUND = {"appActive": False, "screenOn": False}
HOUR_S = 3600


def _beat(client: TestClient, account: Account, body: dict[str, bool] = ACTIVE) -> int:
    response = client.post("/api/v1/heartbeat", json=body, headers=account.headers)
    assert response.status_code == 200, response.text
    return int(response.json()["haltedJobs"])


@pytest.fixture
def idle_account(
    client: TestClient,
    make_account: Callable[..., Account],
    redis_client: redis.Redis,
    settings: Settings,
    clock: ManualClock,
) -> tuple[Account, Scheduler]:
    """A user last active an hour and a second ago, with a job queued in every phase."""
    account = make_account()
    scheduler = Scheduler(redis_client, settings, clock=clock, name="scheduler-a")
    scheduler.tick()
    _beat(client, account)
    clock.advance(seconds=HOUR_S + 1)
    assert scheduler.tick().total_enqueued == 3
    return account, scheduler


def test_a_returning_users_heartbeat_halts_their_queued_jobs(
    client: TestClient,
    idle_account: tuple[Account, Scheduler],
    redis_client: redis.Redis,
    settings: Settings,
) -> None:
    account, _ = idle_account
    assert _beat(client, account) == 3
    for phase in (Phase.LIGHT, Phase.MEDIUM, Phase.DEEP):
        assert phase_queue(redis_client, from_settings(settings), phase).get_job_ids() == []
    assert _beat(client, account) == 0


def test_a_backgrounded_app_halts_nothing(
    client: TestClient,
    idle_account: tuple[Account, Scheduler],
    redis_client: redis.Redis,
    settings: Settings,
) -> None:
    account, _ = idle_account
    assert _beat(client, account, BACKGROUND) == 0
    assert len(phase_queue(redis_client, from_settings(settings), Phase.DEEP).get_job_ids()) == 1


def test_the_status_shows_the_leader_the_queues_and_the_latest_halts(
    client: TestClient,
    make_account: Callable[..., Account],
    idle_account: tuple[Account, Scheduler],
    clock: ManualClock,
) -> None:
    account, _ = idle_account
    admin = make_account(admin=True)
    before = client.get("/api/v1/eros/status", headers=admin.headers)
    assert before.status_code == 200, before.text
    body = before.json()
    assert body["scheduler"]["leader"] == "scheduler-a"
    assert body["scheduler"]["lastTickAt"] == clock.now_ms()
    assert [(p["phase"], p["queued"], p["running"]) for p in body["phases"]] == [
        (1, 1, 0),
        (2, 1, 0),
        (3, 1, 0),
    ]
    assert all(p["lagMs"] == 0 and p["inWindow"] for p in body["phases"])
    assert body["recentHalts"] == []

    _beat(client, account)
    halts = client.get("/api/v1/eros/status", headers=admin.headers).json()["recentHalts"]
    user_id = UUID(account.id)
    assert sorted((h["phase"], h["userId"], h["state"]) for h in halts) == [
        (phase, str(user_id), "queued") for phase in (1, 2, 3)
    ]
    assert {h["jobId"] for h in halts} == {
        JobKey(user_id, Phase(p), halts[0]["receivedAt"] - HOUR_S * 1000 - 1000).id
        for p in (1, 2, 3)
    }


def test_the_status_is_for_administrators_only(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    anonymous = client.get("/api/v1/eros/status")
    assert anonymous.status_code == 401
    response = client.get("/api/v1/eros/status", headers=make_account().headers)
    assert response.status_code == 403
    body = response.json()
    assert set(body) == {"code", "message", "details", "request_id"}
    assert body["code"] == "forbidden"


def test_the_status_shows_the_configuration_followed_and_by_whom(
    client: TestClient,
    make_account: Callable[..., Account],
    redis_client: redis.Redis,
    settings: Settings,
) -> None:
    publish(redis_client, replace(from_settings(settings), source="dating/eros", generation=4))
    Scheduler(redis_client, settings, name="scheduler-a").tick()
    admin = make_account(admin=True)
    body = client.get("/api/v1/eros/status", headers=admin.headers).json()

    assert body["config"]["source"] == "dating/eros"
    assert body["config"]["generation"] == 4
    assert body["config"]["queues"] == settings.phase_queues
    followers = {f["component"].split("/")[0]: f["generation"] for f in body["followers"]}
    assert followers == {"api": 4, "scheduler": 4}
