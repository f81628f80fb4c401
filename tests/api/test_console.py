"""The admin console: a public page shell without data, and the admin-only history and
plan routes it polls."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis
from fastapi.testclient import TestClient

from eros.core.clock import ManualClock
from eros.core.settings import Settings
from eros.pipeline.history import MS_PER_MINUTE, minute_of
from eros.pipeline.operator_plan import OperatorPlanRecord, PhasePlanRecord, publish_plan
from eros.pipeline.scheduler import Scheduler
from tests.conftest import Account

DATA_ROUTES = ["/api/v1/eros/history", "/api/v1/eros/plan"]


def test_the_page_and_its_assets_are_served_from_the_package_without_data(
    client: TestClient,
) -> None:
    page = client.get("/console")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert 'id="login-form"' in page.text
    assert "https://" not in page.text  # no CDN: every asset is the API's own
    for asset, kind in (("console.js", "text/javascript"), ("console.css", "text/css")):
        response = client.get(f"/console/{asset}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(kind)
        assert "https://" not in response.text


def test_an_unknown_asset_is_a_404_in_the_error_shape(client: TestClient) -> None:
    response = client.get("/console/other.js")
    assert response.status_code == 404
    assert set(response.json()) == {"code", "message", "details", "request_id"}


@pytest.mark.parametrize("path", DATA_ROUTES)
def test_the_consoles_data_is_for_administrators_only(
    client: TestClient, make_account: Callable[..., Account], path: str
) -> None:
    assert client.get(path).status_code == 401
    response = client.get(path, headers=make_account().headers)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize("minutes", ["0", "1441", "many"])
def test_a_history_window_out_of_range_is_a_422_in_the_error_shape(
    client: TestClient, make_account: Callable[..., Account], minutes: str
) -> None:
    admin = make_account(admin=True)
    response = client.get(f"/api/v1/eros/history?minutes={minutes}", headers=admin.headers)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["details"][0]["loc"] == ["query", "minutes"]


def test_the_history_returns_the_minutes_asked_for_oldest_first(
    client: TestClient,
    make_account: Callable[..., Account],
    redis_client: redis.Redis,
    settings: Settings,
    clock: ManualClock,
) -> None:
    admin = make_account(admin=True)
    scheduler = Scheduler(redis_client, settings, clock=clock, name="scheduler-a")
    for _ in range(3):
        scheduler.tick()
        clock.advance(seconds=60)
    beat = client.post(
        "/api/v1/heartbeat", json={"appActive": True, "screenOn": True}, headers=admin.headers
    )
    assert beat.status_code == 200, beat.text
    scheduler.tick()

    body = client.get("/api/v1/eros/history?minutes=2", headers=admin.headers).json()

    now_minute = minute_of(clock.now_ms())
    assert [s["at"] for s in body["samples"]] == [now_minute - MS_PER_MINUTE, now_minute]
    latest = body["samples"][-1]
    assert latest["users"] == [1, 0, 0, 0]  # the admin's heartbeat: one active user
    assert (latest["queued"], latest["halts"]) == ([0, 0, 0], 0)
    assert latest["haltLatencyMs"] == {"p50": None, "p95": None, "p99": None}


def test_the_plan_is_null_until_an_operator_publishes_one(
    client: TestClient, make_account: Callable[..., Account], redis_client: redis.Redis
) -> None:
    admin = make_account(admin=True)
    assert client.get("/api/v1/eros/plan", headers=admin.headers).json()["plan"] is None

    phase = PhasePlanRecord("phase-1", 2, 1, 3, "Demand", "200m", 5)
    publish_plan(
        redis_client,
        OperatorPlanRecord("dating/eros", 4, 1000, "4", 4000, 3800, None, (phase,)),
    )
    plan = client.get("/api/v1/eros/plan", headers=admin.headers).json()["plan"]

    assert (plan["source"], plan["generation"], plan["usableMillicores"]) == (
        "dating/eros",
        4,
        3800,
    )
    assert plan["phases"] == [
        {
            "name": "phase-1",
            "desired": 2,
            "ready": 1,
            "budget": 3,
            "reason": "Demand",
            "cpuAllocated": "200m",
            "idleUsers": 5,
        }
    ]
