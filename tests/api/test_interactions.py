from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from eros.core.clock import ManualClock, utc_from_ms
from eros.core.settings import DEFAULT_IDEMPOTENCY_KEY_TTL_SECONDS, Settings
from tests.api.profile_support import (
    assert_error,
    client_with,
    man,
    profile_body,
    put_profile,
    quick_accounts,
)
from tests.conftest import Account

URL = "/api/v1/interactions"


def _event(
    target: Account, kind: str, clock: ManualClock, minutes_ago: float = 1
) -> dict[str, Any]:
    at = utc_from_ms(clock.now_ms()) - timedelta(minutes=minutes_ago)
    return {"targetUserId": target.id, "type": kind, "occurredAt": at.isoformat()}


def _people(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock, count: int
) -> list[Account]:
    people = quick_accounts(db, clock, count)
    put_profile(client, people[0], profile_body())
    for person in people[1:]:
        put_profile(client, person, man())
    return people


def _stored(db: psycopg.Connection[Any], actor: Account) -> list[str]:
    rows = db.execute(
        "SELECT kind FROM interactions WHERE actor_id = %s ORDER BY occurred_at, id", (actor.id,)
    ).fetchall()
    return [r[0] for r in rows]


def test_a_batch_of_events_is_stored(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    me, other = _people(client, db, clock, 2)
    events = [
        _event(other, "view", clock, 5),
        _event(other, "like", clock, 4),
        _event(other, "message_sent", clock, 3),
        _event(other, "message_replied", clock, 2),
        _event(other, "call", clock, 1),
    ]
    response = client.post(URL, json={"events": events}, headers=me.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "accepted": 5, "rejected": []}
    assert _stored(db, me) == ["view", "like", "message_sent", "message_replied", "call"]


def test_a_retried_batch_with_the_same_key_is_stored_once_and_replayed(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    me, other = _people(client, db, clock, 2)
    body = {"events": [_event(other, "like", clock)]}
    headers = {**me.headers, "Idempotency-Key": "batch-0001"}
    first = client.post(URL, json=body, headers=headers)
    clock.advance(seconds=10)
    again = client.post(URL, json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert _stored(db, me) == ["like"]
    # The same key with another body is a client bug, not a retry.
    other_body = {"events": [_event(other, "skip", clock)]}
    assert_error(client.post(URL, json=other_body, headers=headers), 422, "idempotency_key_reused")
    assert _stored(db, me) == ["like"]


def test_idempotency_keys_belong_to_one_user_and_expire(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    me, other, third = _people(client, db, clock, 3)
    key = {"Idempotency-Key": "shared-key"}
    body = {"events": [_event(third, "view", clock)]}
    assert client.post(URL, json=body, headers={**me.headers, **key}).status_code == 200
    body_other = {"events": [_event(third, "like", clock)]}
    response = client.post(URL, json=body_other, headers={**other.headers, **key})
    assert response.status_code == 200 and "idempotent-replayed" not in response.headers
    clock.advance(seconds=DEFAULT_IDEMPOTENCY_KEY_TTL_SECONDS + 1)
    body = {"events": [_event(third, "view", clock)]}
    response = client.post(URL, json=body, headers={**me.headers, **key})
    assert response.status_code == 200 and "idempotent-replayed" not in response.headers
    assert _stored(db, me) == ["view", "view"]


def test_events_toward_unknown_blocked_or_self_are_refused_one_by_one(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    me, friend, blocker, no_profile = _people(client, db, clock, 3) + quick_accounts(db, clock, 1)
    client.post("/api/v1/blocks", json={"userId": me.id}, headers=blocker.headers)
    ghost = Account("00000000-0000-0000-0000-000000000001", "", "", "")
    events = [
        _event(friend, "like", clock),
        _event(blocker, "message_sent", clock),
        _event(ghost, "view", clock),
        _event(me, "like", clock),
        _event(no_profile, "like", clock),
        _event(friend, "view", clock, minutes_ago=-10),  # ten minutes in the future
        _event(friend, "view", clock, minutes_ago=31 * 24 * 60),
    ]
    response = client.post(URL, json={"events": events}, headers=me.headers)
    assert response.json() == {
        "success": True,
        "accepted": 1,
        "rejected": [
            {"index": 1, "code": "target_unavailable"},
            {"index": 2, "code": "target_unavailable"},
            {"index": 3, "code": "self_target"},
            {"index": 4, "code": "target_unavailable"},
            {"index": 5, "code": "timestamp_in_future"},
            {"index": 6, "code": "timestamp_too_old"},
        ],
    }
    assert _stored(db, me) == ["like"]


def test_a_block_event_blocks_from_its_time_on(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    me, other = _people(client, db, clock, 2)
    events = [
        _event(other, "message_sent", clock, 3),
        _event(other, "block", clock, 2),
        _event(other, "message_sent", clock, 1),
    ]
    response = client.post(URL, json={"events": events}, headers=me.headers)
    assert response.json()["rejected"] == [{"index": 2, "code": "target_unavailable"}]
    assert _stored(db, me) == ["message_sent", "block"]
    url = f"/api/v1/users/{other.id}/profile"
    assert_error(client.get(url, headers=me.headers), 404, "not_found")
    assert_error(
        client.get(f"/api/v1/users/{me.id}/profile", headers=other.headers), 404, "not_found"
    )


def test_malformed_batches_are_422s(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    me, other = _people(client, db, clock, 2)
    good = _event(other, "like", clock)
    for body in [
        {"events": []},
        {"events": [good] * 101},
        {"events": [{**good, "type": "report"}]},
        {"events": [{**good, "occurredAt": "2023-11-14T10:00:00"}]},  # no time zone
        {"events": [{**good, "occurredAt": 1700000000}]},  # a number is not a date-time
        {"events": [{**good, "occurredAt": "1700000000"}]},
        {"events": [{**good, "targetUserId": "nope"}]},
        {"events": [{**good, "extra": 1}]},
        {"event": [good]},
    ]:
        assert_error(client.post(URL, json=body, headers=me.headers), 422, "validation_error")
    for key in ["", "has space", "x" * 256]:
        headers = {**me.headers, "Idempotency-Key": key}
        response = client.post(URL, json={"events": [good]}, headers=headers)
        assert_error(response, 422, "validation_error")
    assert _stored(db, me) == []


def test_interaction_batches_are_rate_limited(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock, settings: Settings
) -> None:
    me, other = _people(client, db, clock, 2)
    body = {"events": [_event(other, "view", clock)]}
    with client_with(settings, clock, rate_limit_writes_per_minute=1) as limited:
        assert limited.post(URL, json=body, headers=me.headers).status_code == 200
        refused = limited.post(URL, json=body, headers=me.headers)
        assert_error(refused, 429, "rate_limited")
        assert refused.headers["retry-after"] == "60"
