"""Recommendations (computed by the workers, cached) and actions on a match."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import psycopg
import redis
from fastapi.testclient import TestClient

from eros.core.clock import ManualClock
from eros.core.keys import recommendations_cache_key
from eros.core.settings import Settings
from eros.worker.recommendations import run_recommendations
from tests.api.profile_support import (
    assert_error,
    man,
    profile_body,
    put_profile,
    quick_accounts,
)
from tests.conftest import Account, RedisServer

RECOMMENDATIONS = "/api/v1/matches/recommendations"
UNKNOWN = "00000000-0000-0000-0000-000000000001"


def _recommend(client: TestClient, viewer: Account, limit: int = 10) -> dict[str, Any]:
    response = client.get(RECOMMENDATIONS, params={"limit": limit}, headers=viewer.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _ids(body: dict[str, Any]) -> list[str]:
    return [r["matchId"] for r in body["recommendations"]]


def _compute_in_worker(settings: Settings, viewer: Account, clock: ManualClock) -> None:
    """What the job a cache miss queues does (tests/api/test_matches_peak.py queues it)."""
    asyncio.run(run_recommendations(settings, UUID(viewer.id), clock.now_ms()))


def _act(client: TestClient, actor: Account, target: Account, action: str) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/matches/{target.id}/action", json={"action": action}, headers=actor.headers
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_recommendations_pass_every_hard_filter_and_carry_reasons(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    people = quick_accounts(db, clock, 10)
    viewer, fit, likes_viewer, far, woman, gay, old, idle, clash, skipped_viewer = people
    put_profile(client, viewer, profile_body())
    put_profile(client, fit, man())
    put_profile(client, likes_viewer, man(interests={"hiking": 90, "reading": 70}))
    munich = {"latitude": 48.14, "longitude": 11.58, "city": "Munich"}
    put_profile(client, far, man(location=munich))
    put_profile(client, woman, profile_body())
    put_profile(client, gay, man(gendersSought=["man"]))
    put_profile(client, old, man(birthDate="1950-01-01"))
    put_profile(client, idle, man())
    put_profile(client, clash, man(interests={"politics": 95}))
    put_profile(client, skipped_viewer, man())
    # Idle: never sent a heartbeat and last saved the profile 40 days ago.
    db.execute(
        "UPDATE profiles SET updated_at = updated_at - interval '40 days' WHERE user_id = %s",
        (idle.id,),
    )
    _act(client, likes_viewer, viewer, "like")
    _act(client, skipped_viewer, viewer, "skip")

    body = _recommend(client, viewer)
    assert body["source"] == "cheap"
    assert _ids(body) == [likes_viewer.id, fit.id]
    first = body["recommendations"][0]
    assert first["reasons"][0]["code"] == "likes_you"
    assert 0 < first["score"] <= 1
    assert set(first["profile"]) >= {"displayName", "age", "photoUrls"}
    assert "birthDate" not in first["profile"]
    for item in body["recommendations"]:
        assert item["reasons"] and {"code", "score", "contribution"} == set(item["reasons"][0])


def test_recommendations_are_cached_and_recomputed_after_a_profile_update(
    client: TestClient,
    db: psycopg.Connection[Any],
    clock: ManualClock,
    redis_client: redis.Redis,
    settings: Settings,
) -> None:
    viewer, first, second, newcomer = quick_accounts(db, clock, 4)
    put_profile(client, viewer, profile_body())
    put_profile(client, first, man())
    put_profile(client, second, man())
    _compute_in_worker(settings, viewer, clock)
    assert len(_ids(_recommend(client, viewer, limit=1))) == 1
    assert redis_client.ttl(recommendations_cache_key(viewer.id)) == 24 * 3600  # type: ignore[arg-type]

    put_profile(client, newcomer, man())
    cached = _recommend(client, viewer)
    assert cached["source"] == "cache"
    assert newcomer.id not in _ids(cached)

    put_profile(client, viewer, profile_body(bio="Edited."))
    fresh = _recommend(client, viewer)
    assert fresh["source"] == "cheap"
    # Whoever was shown is not shown again so soon; the newcomer now is.
    assert _ids(fresh) == [newcomer.id]


def test_acting_on_a_recommendation_removes_it_even_from_the_cache(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock, settings: Settings
) -> None:
    viewer, liked, skipped, kept = quick_accounts(db, clock, 4)
    put_profile(client, viewer, profile_body())
    for person in (liked, skipped, kept):
        put_profile(client, person, man())
    _compute_in_worker(settings, viewer, clock)
    assert sorted(_ids(_recommend(client, viewer))) == sorted([liked.id, skipped.id, kept.id])
    assert _act(client, viewer, liked, "like")["mutual"] is False
    _act(client, viewer, skipped, "skip")
    _act(client, viewer, kept, "view")
    body = _recommend(client, viewer)
    assert body["source"] == "cache" and _ids(body) == [kept.id]


def test_a_like_answering_a_like_is_mutual(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    woman, a_man = quick_accounts(db, clock, 2)
    put_profile(client, woman, profile_body())
    put_profile(client, a_man, man())
    assert _act(client, woman, a_man, "like") == {
        "success": True,
        "matchId": a_man.id,
        "action": "like",
        "mutual": False,
        "message": "Liked.",
    }
    assert _act(client, a_man, woman, "like")["mutual"] is True


def test_a_retried_action_is_replayed(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    woman, a_man = quick_accounts(db, clock, 2)
    put_profile(client, woman, profile_body())
    put_profile(client, a_man, man())
    url = f"/api/v1/matches/{a_man.id}/action"
    headers = {**woman.headers, "Idempotency-Key": "like-1"}
    first = client.post(url, json={"action": "like"}, headers=headers)
    again = client.post(url, json={"action": "like"}, headers=headers)
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    likes = db.execute("SELECT count(*) FROM interactions WHERE actor_id = %s", (woman.id,))
    assert likes.fetchone() == (1,)
    other = client.post(url, json={"action": "skip"}, headers=headers)
    assert_error(other, 422, "idempotency_key_reused")


def test_reporting_through_an_action_hides_the_candidate(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    woman, a_man = quick_accounts(db, clock, 2)
    put_profile(client, woman, profile_body())
    put_profile(client, a_man, man())
    response = client.post(
        f"/api/v1/matches/{a_man.id}/action",
        json={"action": "report", "reason": "fake_profile", "details": "Stock photos."},
        headers=woman.headers,
    )
    assert response.status_code == 200 and response.json()["action"] == "report"
    stored = db.execute("SELECT reason, severity FROM reports").fetchall()
    assert stored == [("fake_profile", "medium")]
    assert _ids(_recommend(client, woman)) == []
    assert_error(
        client.get(f"/api/v1/users/{woman.id}/profile", headers=a_man.headers), 404, "not_found"
    )


def test_bad_actions_and_queries_are_clear_4xx(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    me, no_profile = quick_accounts(db, clock, 2)
    refused = assert_error(
        client.get(RECOMMENDATIONS, headers=me.headers), 404, "profile_not_found"
    )
    assert refused["message"] == "Create your profile to get recommendations."
    put_profile(client, me, profile_body())
    for limit in ("0", "51", "ten"):
        response = client.get(RECOMMENDATIONS, params={"limit": limit}, headers=me.headers)
        assert_error(response, 422, "validation_error")
    url = f"/api/v1/matches/{UNKNOWN}/action"
    for body in [
        {"action": "superlike"},
        {"action": "like", "reason": "spam"},
        {"action": "like", "extra": True},
        {},
    ]:
        assert_error(client.post(url, json=body, headers=me.headers), 422, "validation_error")
    like = {"action": "like"}
    assert_error(client.post(url, json=like, headers=me.headers), 404, "not_found")
    no_profile_url = f"/api/v1/matches/{no_profile.id}/action"
    assert_error(client.post(no_profile_url, json=like, headers=me.headers), 404, "not_found")
    self_url = f"/api/v1/matches/{me.id}/action"
    assert_error(client.post(self_url, json=like, headers=me.headers), 422, "self_target")
    bad_id = "/api/v1/matches/42/action"
    assert_error(client.post(bad_id, json=like, headers=me.headers), 422, "validation_error")
    assert_error(client.get(RECOMMENDATIONS), 401, "not_authenticated")


def test_recommendations_answer_503_while_redis_is_down(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock, redis_server: RedisServer
) -> None:
    (me,) = quick_accounts(db, clock, 1)
    put_profile(client, me, profile_body())
    redis_server.stop()
    try:
        response = client.get(RECOMMENDATIONS, headers=me.headers)
        assert_error(response, 503, "service_unavailable")
        assert response.headers["retry-after"]
    finally:
        redis_server.start()
    assert _recommend(client, me)["count"] == 0
