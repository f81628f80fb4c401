from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
import redis
from fastapi.testclient import TestClient

from eros.core.clock import ManualClock
from eros.core.phase_config import from_settings, publish
from eros.core.settings import Settings
from tests.conftest import Account, RedisServer

MINUTE_MS = 60_000
ACTIVE = {"appActive": True, "screenOn": True}


def _beat(
    client: TestClient, account: Account, body: dict[str, object] = ACTIVE
) -> dict[str, object]:
    response = client.post("/api/v1/heartbeat", json=body, headers=account.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_first_heartbeat_finds_the_user_active(
    client: TestClient, make_account: Callable[..., Account], clock: ManualClock
) -> None:
    body = _beat(client, make_account())
    assert body == {
        "success": True,
        "idleTime": 0,
        "processingPhase": 0,
        "haltedJobs": 0,
        "processingHalted": False,
        "timestamp": clock.now_ms(),
    }


@pytest.mark.parametrize(
    ("idle_ms", "phase"),
    [
        (10 * MINUTE_MS - 1, 0),
        (10 * MINUTE_MS, 1),
        (10 * MINUTE_MS + 1, 1),
        (30 * MINUTE_MS - 1, 1),
        (30 * MINUTE_MS, 2),
        (30 * MINUTE_MS + 1, 2),
        (60 * MINUTE_MS - 1, 2),
        (60 * MINUTE_MS, 3),
        (60 * MINUTE_MS + 1, 3),
    ],
)
def test_a_heartbeat_reports_the_phase_the_user_was_in_at_the_boundaries(
    client: TestClient,
    make_account: Callable[..., Account],
    clock: ManualClock,
    idle_ms: int,
    phase: int,
) -> None:
    account = make_account()
    _beat(client, account)
    clock.advance(ms=idle_ms)
    body = _beat(client, account)
    assert body["idleTime"] == idle_ms
    assert body["processingPhase"] == phase


def test_a_heartbeat_resets_the_idle_time(
    client: TestClient, make_account: Callable[..., Account], clock: ManualClock
) -> None:
    account = make_account()
    _beat(client, account)
    clock.advance(ms=45 * MINUTE_MS)
    _beat(client, account)
    clock.advance(ms=1000)
    assert _beat(client, account)["idleTime"] == 1000


def test_a_backgrounded_app_with_the_screen_off_does_not_count_as_activity(
    client: TestClient, make_account: Callable[..., Account], clock: ManualClock
) -> None:
    account = make_account()
    _beat(client, account)
    clock.advance(ms=20 * MINUTE_MS)
    _beat(client, account, {"appActive": False, "screenOn": False})
    clock.advance(ms=1000)
    body = _beat(client, account)
    assert body["idleTime"] == 20 * MINUTE_MS + 1000
    assert body["processingPhase"] == 1


def test_own_status_follows_the_clock(
    client: TestClient, make_account: Callable[..., Account], clock: ManualClock
) -> None:
    account = make_account()
    never = client.get("/api/v1/activity/status", headers=account.headers).json()
    assert never["lastActive"] is None
    _beat(client, account)
    clock.advance(ms=31 * MINUTE_MS)
    status = client.get("/api/v1/activity/status", headers=account.headers).json()
    assert status["idleTime"] == 31 * MINUTE_MS
    assert status["processingPhase"] == 2


def test_a_heartbeat_may_name_the_callers_own_user_id(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    account = make_account()
    assert _beat(client, account, {**ACTIVE, "userId": account.id})["success"] is True


def test_a_heartbeat_naming_another_user_is_forbidden_with_the_error_shape(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    caller, other = make_account(), make_account()
    response = client.post(
        "/api/v1/heartbeat", json={**ACTIVE, "userId": other.id}, headers=caller.headers
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    status = client.get("/api/v1/activity/status", headers=other.headers).json()
    assert status["lastActive"] is None


def test_the_session_lasts_from_the_first_beat_after_an_idle_spell(
    client: TestClient, make_account: Callable[..., Account], clock: ManualClock
) -> None:
    account = make_account()
    _beat(client, account)
    for _ in range(3):
        clock.advance(ms=5 * MINUTE_MS)
        _beat(client, account)
    clock.advance(ms=MINUTE_MS)
    status = client.get("/api/v1/activity/status", headers=account.headers).json()
    assert (status["userId"], status["sessionDuration"]) == (account.id, 16 * MINUTE_MS)
    assert status["lastInteraction"] == status["lastActive"]
    clock.advance(ms=10 * MINUTE_MS)
    over = client.get("/api/v1/activity/status", headers=account.headers).json()
    assert over["sessionDuration"] == 0
    _beat(client, account)
    clock.advance(ms=MINUTE_MS)
    again = client.get("/api/v1/activity/status", headers=account.headers).json()
    assert again["sessionDuration"] == MINUTE_MS


def test_stats_count_users_per_phase_for_admins_only(
    client: TestClient, make_account: Callable[..., Account], clock: ManualClock
) -> None:
    admin = make_account(admin=True)
    users = [make_account() for _ in range(4)]
    for offset_minutes, user in zip([70, 40, 15, 0], users, strict=True):
        clock.advance(ms=-offset_minutes * MINUTE_MS)
        _beat(client, user)
        clock.advance(ms=offset_minutes * MINUTE_MS)
    stats = client.get("/api/v1/activity/stats", headers=admin.headers).json()
    assert (stats["active"], stats["phase1"], stats["phase2"], stats["phase3"]) == (1, 1, 1, 1)
    assert stats["total"] == 4
    forbidden = client.get("/api/v1/activity/stats", headers=users[0].headers)
    assert forbidden.status_code == 403
    assert forbidden.json()["code"] == "forbidden"


def test_recorded_activity_survives_a_redis_restart(
    client: TestClient,
    make_account: Callable[..., Account],
    clock: ManualClock,
    redis_server: RedisServer,
) -> None:
    account = make_account()
    _beat(client, account)
    recorded_at = clock.now_ms()
    redis_server.stop()
    redis_server.start()
    clock.advance(ms=31 * MINUTE_MS)
    response = client.get("/api/v1/activity/status", headers=account.headers)
    assert response.status_code == 200, response.text
    status = response.json()
    assert status["lastActive"] == recorded_at
    assert status["processingPhase"] == 2


def test_a_heartbeat_reports_the_phase_by_the_thresholds_the_operator_published(
    redis_client: redis.Redis,
    client: TestClient,
    make_account: Callable[..., Account],
    settings: Settings,
    clock: ManualClock,
) -> None:
    publish(
        redis_client,
        replace(from_settings(settings), idle_seconds=(60, 120, 180), source="a/b", generation=2),
    )
    account = make_account()
    _beat(client, account)
    clock.advance(ms=2 * MINUTE_MS)
    assert _beat(client, account)["processingPhase"] == 2
