from __future__ import annotations

from typing import Any

import psycopg
import pytest
import redis
from fastapi.testclient import TestClient

from eros.core.clock import ManualClock, utc_from_ms
from eros.core.keys import profile_cache_key, public_profile_cache_key
from eros.core.settings import Settings
from tests.api.profile_support import (
    assert_error,
    client_with,
    man,
    profile_body,
    put_profile,
    quick_accounts,
)
from tests.conftest import RedisServer

PROFILE_URL = "/api/v1/users/profile"


def test_a_saved_profile_reads_back_with_its_age_and_flags_re_analysis(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    (account,) = quick_accounts(db, clock, 1)
    saved = put_profile(client, account, profile_body())
    assert saved["age"] == 28  # born 1995-06-15, the clock says 2023-11-14
    assert saved["availability"] == [{"weekday": "saturday", "start": "10:00", "end": "18:00"}]
    assert saved["nonNegotiables"] == [{"kind": "value", "key": "honesty"}]

    read = client.get(PROFILE_URL, headers=account.headers).json()["profile"]
    assert read == saved
    flagged = db.execute(
        "SELECT analysis_requested_at FROM profiles WHERE user_id = %s", (account.id,)
    ).fetchone()
    assert flagged is not None and flagged[0] == utc_from_ms(clock.now_ms())


INVALID_CHANGES: list[tuple[dict[str, Any], str | None]] = [
    ({"bio": "x" * 501}, "bio"),
    ({"bio": "nul \x00 byte"}, "bio"),
    ({"displayName": "   "}, "displayName"),
    ({"displayName": "two\nlines"}, "displayName"),
    ({"photoUrls": [f"https://img.example.com/{i}.jpg" for i in range(10)]}, "photoUrls"),
    ({"photoUrls": ["ftp://img.example.com/1.jpg"]}, "photoUrls"),
    ({"photoUrls": ["javascript:alert(1)"]}, "photoUrls"),
    ({"photoUrls": ["https://me:secret@img.example.com/1.jpg"]}, "photoUrls"),
    ({"birthDate": "1995-02-30"}, "birthDate"),
    ({"gender": "robot"}, "gender"),
    ({"gendersSought": []}, "gendersSought"),
    ({"gendersSought": ["man", "man"]}, "gendersSought"),
    ({"ageRange": {"min": 17, "max": 30}}, "ageRange"),
    ({"ageRange": {"min": 30, "max": 101}}, "ageRange"),
    ({"ageRange": {"min": 40, "max": 30}}, "ageRange"),
    ({"location": {"latitude": 90.5, "longitude": 0}}, "location"),
    ({"location": {"latitude": 0, "longitude": -180.5}}, "location"),
    ({"maxDistanceKm": 0}, "maxDistanceKm"),
    ({"location": None}, None),  # a distance limit without a location
    ({"interests": {"hiking": 101}}, "interests"),
    ({"interests": {"hiking": True}}, "interests"),
    ({"interests": {"Hiking Trips": 50}}, "interests"),
    ({"interests": {f"i{n}": 50 for n in range(41)}}, "interests"),
    ({"values": {"honesty": -1}}, "values"),
    ({"communicationStyle": {"sarcasm": 50}}, "communicationStyle"),
    ({"conversationDepth": "bottomless"}, "conversationDepth"),
    ({"availability": [{"weekday": "saturday", "start": "18:00", "end": "10:00"}]}, None),
    ({"availability": [{"weekday": "funday", "start": "10:00", "end": "18:00"}]}, None),
    ({"availability": [{"weekday": "monday", "start": "25:00", "end": "26:00"}]}, None),
    ({"offLimitsTopics": ["politics", "politics"]}, "offLimitsTopics"),
    ({"nonNegotiables": [{"kind": "value", "key": "wealth"}]}, None),
    ({"nonNegotiables": [{"kind": "value", "key": "honesty"}] * 2}, "nonNegotiables"),
    (
        {
            "interests": {"a": 1, "b": 2, "c": 3, "d": 4},
            "nonNegotiables": [{"kind": "interest", "key": k} for k in "abcd"],
        },
        "nonNegotiables",
    ),
    ({"unknownField": 1}, "unknownField"),
]


def test_every_invalid_profile_field_is_a_422_naming_the_field(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    (account,) = quick_accounts(db, clock, 1)
    for change, field in INVALID_CHANGES:
        response = client.put(PROFILE_URL, json=profile_body(**change), headers=account.headers)
        body = assert_error(response, 422, "validation_error")
        if field is not None:
            assert any(field in d["loc"] for d in body["details"]), (change, body["details"])
    assert_error(client.get(PROFILE_URL, headers=account.headers), 404, "profile_not_found")


def test_a_birth_date_is_judged_by_the_server_clock(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    (account,) = quick_accounts(db, clock, 1)
    for birth_date, kind in [
        ("2005-11-15", "too_young"),  # 18 tomorrow
        ("2030-01-01", "too_young"),
        ("1900-01-01", "implausible_age"),
    ]:
        response = client.put(
            PROFILE_URL, json=profile_body(birthDate=birth_date), headers=account.headers
        )
        details = assert_error(response, 422, "validation_error")["details"]
        assert [(d["loc"], d["type"]) for d in details] == [(["body", "birthDate"], kind)]
    saved = put_profile(client, account, profile_body(birthDate="2005-11-14"))
    assert saved["age"] == 18


def test_a_nan_coordinate_is_refused_not_stored(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    raw = (
        b'{"displayName": "A", "birthDate": "1990-01-01", "gender": "woman", '
        b'"gendersSought": ["man"], "location": {"latitude": NaN, "longitude": 0}}'
    )
    response = client.put(
        PROFILE_URL,
        content=raw,
        headers={**quick_accounts(db, clock, 1)[0].headers, "content-type": "application/json"},
    )
    assert response.status_code in (400, 422)
    assert response.json()["code"] in ("malformed_json", "validation_error")


def test_a_profile_update_invalidates_the_cached_profile(
    client: TestClient,
    db: psycopg.Connection[Any],
    clock: ManualClock,
    redis_client: redis.Redis,
) -> None:
    (account,) = quick_accounts(db, clock, 1)
    put_profile(client, account, profile_body())
    client.get(PROFILE_URL, headers=account.headers)
    assert redis_client.exists(profile_cache_key(account.id))  # type: ignore[arg-type]
    # Served from the cache: a change behind its back is not seen...
    db.execute("UPDATE profiles SET bio = 'changed in SQL' WHERE user_id = %s", (account.id,))
    assert client.get(PROFILE_URL, headers=account.headers).json()["profile"]["bio"] != (
        "changed in SQL"
    )
    # ...until the owner updates the profile, which drops the cached copies.
    put_profile(client, account, profile_body(bio="Updated."))
    assert not redis_client.exists(profile_cache_key(account.id))  # type: ignore[arg-type]
    assert client.get(PROFILE_URL, headers=account.headers).json()["profile"]["bio"] == "Updated."


def test_a_public_profile_shows_only_public_fields_and_follows_updates(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock, redis_client: redis.Redis
) -> None:
    owner, viewer = quick_accounts(db, clock, 2)
    put_profile(client, owner, profile_body())
    url = f"/api/v1/users/{owner.id}/profile"
    public = client.get(url, headers=viewer.headers).json()["profile"]
    assert set(public) == {
        "userId", "displayName", "age", "gender", "bio", "photoUrls", "city", "interests",
        "conversationDepth",
    }  # fmt: skip
    assert public["city"] == "Berlin" and public["age"] == 28
    assert redis_client.exists(public_profile_cache_key(owner.id))  # type: ignore[arg-type]
    put_profile(client, owner, profile_body(displayName="Anna"))
    assert client.get(url, headers=viewer.headers).json()["profile"]["displayName"] == "Anna"


@pytest.mark.parametrize("user_id", ["00000000-0000-0000-0000-000000000000", None])
def test_a_missing_public_profile_is_a_404(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock, user_id: str | None
) -> None:
    viewer, without_profile = quick_accounts(db, clock, 2)
    target = user_id or without_profile.id
    response = client.get(f"/api/v1/users/{target}/profile", headers=viewer.headers)
    assert_error(response, 404, "not_found")


def test_a_malformed_user_id_is_a_422(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    (account,) = quick_accounts(db, clock, 1)
    response = client.get("/api/v1/users/not-a-uuid/profile", headers=account.headers)
    assert_error(response, 422, "validation_error")


def test_profiles_need_an_access_token(client: TestClient) -> None:
    assert_error(client.get(PROFILE_URL), 401, "not_authenticated")
    assert_error(client.put(PROFILE_URL, json=profile_body()), 401, "not_authenticated")


def test_with_redis_down_profiles_are_read_from_postgres_and_updates_wait(
    client: TestClient,
    db: psycopg.Connection[Any],
    clock: ManualClock,
    redis_server: RedisServer,
) -> None:
    owner, viewer = quick_accounts(db, clock, 2)
    put_profile(client, owner, profile_body())
    put_profile(client, viewer, man())
    redis_server.stop()
    try:
        assert client.get(PROFILE_URL, headers=owner.headers).status_code == 200
        url = f"/api/v1/users/{owner.id}/profile"
        assert client.get(url, headers=viewer.headers).status_code == 200
        # A cache that cannot be invalidated would serve the old profile for hours.
        response = client.put(PROFILE_URL, json=profile_body(bio="new"), headers=owner.headers)
        assert_error(response, 503, "service_unavailable")
    finally:
        redis_server.start()
    assert client.get(PROFILE_URL, headers=owner.headers).json()["profile"]["bio"] != "new"


def test_profile_updates_are_rate_limited_per_user(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock, settings: Settings
) -> None:
    first, second = quick_accounts(db, clock, 2)
    with client_with(settings, clock, rate_limit_writes_per_minute=2) as limited:
        for _ in range(2):
            assert limited.put(PROFILE_URL, json=profile_body(), headers=first.headers).is_success
        refused = limited.put(PROFILE_URL, json=profile_body(), headers=first.headers)
        body = assert_error(refused, 429, "rate_limited")
        assert refused.headers["retry-after"] == "30"
        assert body["details"]["retryAfterSeconds"] == 30
        # Another user has a budget of their own.
        assert limited.put(PROFILE_URL, json=profile_body(), headers=second.headers).is_success
        clock.advance(seconds=30)
        assert limited.put(PROFILE_URL, json=profile_body(), headers=first.headers).is_success


def test_a_disabled_or_deleted_account_cannot_write_with_a_still_valid_token(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    disabled, deleted = quick_accounts(db, clock, 2)
    db.execute("UPDATE users SET is_active = false WHERE id = %s", (disabled.id,))
    db.execute("DELETE FROM users WHERE id = %s", (deleted.id,))
    for account in (disabled, deleted):
        response = client.put(PROFILE_URL, json=profile_body(), headers=account.headers)
        assert_error(response, 403, "account_disabled")
        response = client.post(
            "/api/v1/blocks", json={"userId": disabled.id}, headers=account.headers
        )
        assert_error(response, 403, "account_disabled")
