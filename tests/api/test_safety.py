"""Blocks and reports: a block either way separates two users on every route."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from eros.core.clock import ManualClock, utc_from_ms
from eros.core.settings import Settings
from tests.api.profile_support import (
    assert_error,
    client_with,
    man,
    profile_body,
    put_profile,
    quick_accounts,
)
from tests.conftest import Account, RedisServer

BLOCKS = "/api/v1/blocks"
REPORTS = "/api/v1/reports"
UNKNOWN = "00000000-0000-0000-0000-000000000001"


def _couple(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> tuple[Account, Account]:
    woman, a_man = quick_accounts(db, clock, 2)
    put_profile(client, woman, profile_body())
    put_profile(client, a_man, man())
    return woman, a_man


def _recommended(client: TestClient, viewer: Account) -> list[str]:
    response = client.get("/api/v1/matches/recommendations", headers=viewer.headers)
    assert response.status_code == 200, response.text
    return [r["matchId"] for r in response.json()["recommendations"]]


def _separated_everywhere(
    client: TestClient, clock: ManualClock, viewer: Account, other: Account
) -> None:
    """`viewer` can reach `other` on no route."""
    profile = client.get(f"/api/v1/users/{other.id}/profile", headers=viewer.headers)
    assert_error(profile, 404, "not_found")
    action = client.post(
        f"/api/v1/matches/{other.id}/action", json={"action": "like"}, headers=viewer.headers
    )
    assert_error(action, 404, "not_found")
    at = (utc_from_ms(clock.now_ms()) - timedelta(seconds=1)).isoformat()
    batch = client.post(
        "/api/v1/interactions",
        json={"events": [{"targetUserId": other.id, "type": "message_sent", "occurredAt": at}]},
        headers=viewer.headers,
    )
    assert batch.json()["rejected"] == [{"index": 0, "code": "target_unavailable"}]
    assert other.id not in _recommended(client, viewer)


@pytest.mark.parametrize("blocker_is_woman", [True, False])
def test_a_block_separates_both_users_on_every_route(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock, blocker_is_woman: bool
) -> None:
    woman, a_man = _couple(client, db, clock)
    # Before the block each sees the other (recommendations are cached from here on).
    assert _recommended(client, woman) == [a_man.id]
    assert _recommended(client, a_man) == [woman.id]
    blocker, blocked = (woman, a_man) if blocker_is_woman else (a_man, woman)
    response = client.post(BLOCKS, json={"userId": blocked.id}, headers=blocker.headers)
    assert response.status_code == 201, response.text
    assert response.json() == {
        "success": True,
        "userId": blocked.id,
        "blocked": True,
        "created": True,
    }
    _separated_everywhere(client, clock, blocker, blocked)
    _separated_everywhere(client, clock, blocked, blocker)


def test_blocks_are_listed_lifted_and_idempotent(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    woman, a_man = _couple(client, db, clock)
    client.post(BLOCKS, json={"userId": a_man.id, "reason": "rude"}, headers=woman.headers)
    again = client.post(BLOCKS, json={"userId": a_man.id}, headers=woman.headers)
    assert again.status_code == 200 and again.json()["created"] is False
    listed = client.get(BLOCKS, headers=woman.headers).json()
    assert [b["userId"] for b in listed["blocks"]] == [a_man.id] and listed["count"] == 1
    # The blocked side never learns it from the list.
    assert client.get(BLOCKS, headers=a_man.headers).json()["blocks"] == []

    lifted = client.delete(f"{BLOCKS}/{a_man.id}", headers=woman.headers)
    assert lifted.json() == {"success": True, "userId": a_man.id, "removed": True}
    assert client.delete(f"{BLOCKS}/{a_man.id}", headers=woman.headers).json()["removed"] is False
    profile = client.get(f"/api/v1/users/{a_man.id}/profile", headers=woman.headers)
    assert profile.status_code == 200
    # Lifting one's own block does not lift the other side's.
    client.post(BLOCKS, json={"userId": woman.id}, headers=a_man.headers)
    client.delete(f"{BLOCKS}/{a_man.id}", headers=woman.headers)
    profile = client.get(f"/api/v1/users/{a_man.id}/profile", headers=woman.headers)
    assert_error(profile, 404, "not_found")


def test_bad_block_requests_are_clear_4xx(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    (me,) = quick_accounts(db, clock, 1)
    assert_error(
        client.post(BLOCKS, json={"userId": UNKNOWN}, headers=me.headers), 404, "not_found"
    )
    assert_error(
        client.post(BLOCKS, json={"userId": me.id}, headers=me.headers), 422, "self_target"
    )
    for body in [{}, {"userId": "x"}, {"userId": UNKNOWN, "reason": "a" * 201}, {"user": UNKNOWN}]:
        assert_error(client.post(BLOCKS, json=body, headers=me.headers), 422, "validation_error")
    assert_error(client.delete(f"{BLOCKS}/not-a-uuid", headers=me.headers), 422, "validation_error")
    assert_error(client.post(BLOCKS, json={"userId": UNKNOWN}), 401, "not_authenticated")


def test_a_report_is_filed_and_hides_the_reported_user(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    woman, a_man = _couple(client, db, clock)
    body = {
        "reportedUserId": a_man.id,
        "reason": "harassment",
        "severity": "high",
        "details": "Sent threats.\nTwice.",
    }
    response = client.post(REPORTS, json=body, headers=woman.headers)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "open"
    stored = db.execute(
        "SELECT reason, severity, status FROM reports WHERE reporter_id = %s", (woman.id,)
    ).fetchall()
    assert stored == [("harassment", "high", "open")]
    _separated_everywhere(client, clock, woman, a_man)
    _separated_everywhere(client, clock, a_man, woman)


def test_a_report_works_even_after_the_reported_user_blocked_the_reporter(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    woman, a_man = _couple(client, db, clock)
    client.post(BLOCKS, json={"userId": woman.id}, headers=a_man.headers)
    body = {"reportedUserId": a_man.id, "reason": "scam", "severity": "critical"}
    assert client.post(REPORTS, json=body, headers=woman.headers).status_code == 201


def test_a_retried_report_is_filed_once_and_a_failed_one_frees_its_key(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    woman, a_man = _couple(client, db, clock)
    headers = {**woman.headers, "Idempotency-Key": "report-1"}
    missing = {"reportedUserId": UNKNOWN, "reason": "spam"}
    assert_error(client.post(REPORTS, json=missing, headers=headers), 404, "not_found")
    body = {"reportedUserId": a_man.id, "reason": "spam"}
    first = client.post(REPORTS, json=body, headers=headers)
    again = client.post(REPORTS, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    count = db.execute("SELECT count(*) FROM reports WHERE reporter_id = %s", (woman.id,))
    assert count.fetchone() == (1,)


def test_bad_reports_are_422s(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    (me,) = quick_accounts(db, clock, 1)
    good = {"reportedUserId": UNKNOWN, "reason": "spam"}
    for body in [
        {**good, "reason": "ugly"},
        {**good, "severity": "apocalyptic"},
        {**good, "details": "x" * 2001},
        {**good, "details": "null \x00 byte"},
        {**good, "details": ""},
        {"reason": "spam"},
    ]:
        assert_error(client.post(REPORTS, json=body, headers=me.headers), 422, "validation_error")
    self_report = {**good, "reportedUserId": me.id}
    assert_error(client.post(REPORTS, json=self_report, headers=me.headers), 422, "self_target")


def test_reports_have_their_own_hourly_rate_limit(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock, settings: Settings
) -> None:
    me, *others = quick_accounts(db, clock, 3)
    with client_with(settings, clock, rate_limit_reports_per_hour=1) as limited:
        body = {"reportedUserId": others[0].id, "reason": "spam"}
        assert limited.post(REPORTS, json=body, headers=me.headers).status_code == 201
        body = {"reportedUserId": others[1].id, "reason": "spam"}
        refused = limited.post(REPORTS, json=body, headers=me.headers)
        assert_error(refused, 429, "rate_limited")
        assert refused.headers["retry-after"] == "3600"
        # Blocking has a budget of its own.
        assert limited.post(BLOCKS, json={"userId": others[1].id}, headers=me.headers).is_success


def test_blocking_still_works_while_redis_is_down(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock, redis_server: RedisServer
) -> None:
    woman, a_man = _couple(client, db, clock)
    redis_server.stop()
    try:
        response = client.post(BLOCKS, json={"userId": a_man.id}, headers=woman.headers)
        assert response.status_code == 201
        profile = client.get(f"/api/v1/users/{woman.id}/profile", headers=a_man.headers)
        assert_error(profile, 404, "not_found")
    finally:
        redis_server.start()
