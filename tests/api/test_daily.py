"""Daily matches delivery (cache, PostgreSQL, on demand) and the feedback loop."""

from __future__ import annotations

from typing import Any

import psycopg
import redis
from fastapi.testclient import TestClient

from eros.core.clock import ManualClock
from tests.api.profile_support import assert_error
from tests.conftest import Account, RedisServer
from tests.worker.analysis_support import people

DAILY = "/api/v1/matches/daily"
QUALITY = "/api/v1/eros/quality"


def _daily(client: TestClient, user: Account, path: str = DAILY) -> dict[str, Any]:
    response = client.get(path, headers=user.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _ids(body: dict[str, Any]) -> list[str]:
    return [m["matchId"] for m in body["matches"]]


def test_daily_matches_are_computed_then_cached_then_read_from_postgres_without_redis(
    client: TestClient,
    db: psycopg.Connection[Any],
    clock: ManualClock,
    redis_server: RedisServer,
    redis_client: redis.Redis,
) -> None:
    viewer, _, _ = people(client, db, clock, 6, 6)
    first = _daily(client, viewer)
    assert first["source"] == "computed" and first["count"] == 10
    assert all(m["reasons"] and m["profile"]["displayName"] for m in first["matches"])
    second = _daily(client, viewer)
    assert second["source"] == "cache" and _ids(second) == _ids(first)
    redis_server.stop()
    try:
        third = _daily(client, viewer)
    finally:
        redis_server.start()
    assert third["source"] == "database" and _ids(third) == _ids(first)
    by_date = _daily(client, viewer, f"{DAILY}/{first['date']}")
    assert by_date["source"] == "database" and _ids(by_date) == _ids(first)


def test_a_blocked_user_never_appears_in_daily_matches_even_from_the_cache(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    viewer, _, _ = people(client, db, clock, 6, 6)
    first = _daily(client, viewer)
    blocked = first["matches"][0]["matchId"]
    db.execute(
        "INSERT INTO blocks (blocker_id, blocked_id, source) VALUES (%s, %s, 'manual')",
        (blocked, viewer.id),
    )
    again = _daily(client, viewer)
    assert again["source"] == "cache"
    assert blocked not in _ids(again) and again["count"] == 9
    assert blocked not in _ids(_daily(client, viewer, f"{DAILY}/{first['date']}"))


def test_daily_routes_validate_dates_and_keep_to_the_callers_own_matches(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    viewer, hikers, _ = people(client, db, clock, 6, 6)
    day = _daily(client, viewer)["date"]
    assert_error(client.get(f"{DAILY}/2023-13-40", headers=viewer.headers), 422, "validation_error")
    assert_error(client.get(f"{DAILY}/yesterday", headers=viewer.headers), 422, "validation_error")
    assert_error(client.get(f"{DAILY}/2020-01-01", headers=viewer.headers), 404, "not_found")
    # Someone else's day is theirs: another user sees only their own (none yet).
    assert_error(client.get(f"{DAILY}/{day}", headers=hikers[0].headers), 404, "not_found")
    assert client.get(DAILY).status_code == 401


def test_no_profile_means_no_daily_matches(client: TestClient, make_account: Any) -> None:
    user = make_account()
    assert_error(client.get(DAILY, headers=user.headers), 404, "profile_not_found")


def test_precision_at_10_counts_likes_after_delivery_per_day(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock, make_account: Any
) -> None:
    viewer, _, _ = people(client, db, clock, 6, 6)
    ids = _ids(_daily(client, viewer))
    clock.advance(seconds=60)
    for target, action in zip(ids[:3], ["like", "like", "skip"], strict=True):
        response = client.post(
            f"/api/v1/matches/{target}/action", json={"action": action}, headers=viewer.headers
        )
        assert response.status_code == 200, response.text
    admin = make_account(admin=True)
    assert_error(client.get(QUALITY, headers=viewer.headers), 403, "forbidden")
    assert_error(
        client.get(QUALITY, params={"days": 0}, headers=admin.headers), 422, "validation_error"
    )
    body = client.get(QUALITY, params={"days": 7}, headers=admin.headers).json()
    assert (body["delivered"], body["liked"], body["skipped"]) == (10, 2, 1)
    assert body["precisionAt10"] == 0.2
    assert len(body["perDay"]) == 1 and body["perDay"][0]["users"] == 1
