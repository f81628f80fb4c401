"""Peak hours stay cheap: a recommendations cache miss never runs the full matcher in the
request. It answers from the daily set or a bounded ranking, queues one job per user,
and the job's result is what the next request serves."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from uuid import UUID

import psycopg
import redis
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb
from rq import Queue
from rq.job import Job

from eros.core.clock import ManualClock, utc_from_ms
from eros.core.keys import recommendations_cache_key
from eros.core.settings import Settings
from eros.pipeline.recommendations import RECOMMENDATIONS_JOB_FUNCTION, recommendations_job_id
from eros.worker.recommendations import run_recommendations
from tests.api.profile_support import man, profile_body, put_profile, quick_accounts
from tests.conftest import Account

RECOMMENDATIONS = "/api/v1/matches/recommendations"


def _recommend(client: TestClient, viewer: Account, limit: int = 10) -> dict[str, Any]:
    response = client.get(RECOMMENDATIONS, params={"limit": limit}, headers=viewer.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _ids(body: dict[str, Any]) -> list[str]:
    return [r["matchId"] for r in body["recommendations"]]


def _queued(redis_client: redis.Redis, settings: Settings) -> list[str]:
    return Queue(settings.maintenance_queue, connection=redis_client).get_job_ids()


def _run_job(settings: Settings, viewer: Account, clock: ManualClock) -> dict[str, Any]:
    return asyncio.run(run_recommendations(settings, UUID(viewer.id), clock.now_ms()))


def _store_daily_set(
    db: psycopg.Connection[Any], clock: ManualClock, viewer: Account, people: list[Account]
) -> None:
    generated = utc_from_ms(clock.now_ms()) - timedelta(hours=2)
    db.execute(
        "INSERT INTO daily_match_sets (user_id, match_date, source, preferences_source, "
        "generated_at) VALUES (%s, %s, 'analysis', 'none', %s)",
        (viewer.id, generated.date(), generated),
    )
    for rank, person in enumerate(people, start=1):
        reasons = [{"code": "shared_interests", "score": 0.8, "contribution": 0.5}]
        db.execute(
            "INSERT INTO daily_matches (user_id, match_date, rank, candidate_id, score, reasons) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (viewer.id, generated.date(), rank, person.id, 0.9 - rank / 100, Jsonb(reasons)),
        )


def _ban(db: psycopg.Connection[Any], member: Account) -> None:
    db.execute(
        "INSERT INTO account_sanctions (user_id, kind, reason) VALUES (%s, 'banned', 'Scam.')",
        (member.id,),
    )


def test_a_miss_answers_from_the_daily_set_and_queues_exactly_one_job(
    client: TestClient,
    db: psycopg.Connection[Any],
    clock: ManualClock,
    redis_client: redis.Redis,
    settings: Settings,
) -> None:
    viewer, first, second, other = quick_accounts(db, clock, 4)
    put_profile(client, viewer, profile_body())
    for person in (first, second, other):
        put_profile(client, person, man())
    _store_daily_set(db, clock, viewer, [first, second])

    body = _recommend(client, viewer, limit=2)
    assert body["source"] == "daily"
    assert _ids(body) == [first.id, second.id]
    assert body["recommendations"][0]["reasons"][0]["code"] == "shared_interests"
    _recommend(client, viewer, limit=2)  # still a miss: no second job

    assert _queued(redis_client, settings) == [recommendations_job_id(UUID(viewer.id))]
    job = Job.fetch(recommendations_job_id(UUID(viewer.id)), connection=redis_client)
    assert (job.func_name, job.args) == (RECOMMENDATIONS_JOB_FUNCTION, (viewer.id,))
    assert not redis_client.exists(recommendations_cache_key(viewer.id))  # type: ignore[arg-type]


def test_a_miss_without_a_daily_set_ranks_cheaply_and_the_job_fills_the_cache(
    client: TestClient,
    db: psycopg.Connection[Any],
    clock: ManualClock,
    redis_client: redis.Redis,
    settings: Settings,
) -> None:
    viewer, first, second = quick_accounts(db, clock, 3)
    put_profile(client, viewer, profile_body())
    put_profile(client, first, man())
    put_profile(client, second, man())

    cheap = _recommend(client, viewer, limit=1)
    assert cheap["source"] == "cheap" and len(_ids(cheap)) == 1
    assert len(_queued(redis_client, settings)) == 1

    # Whoever the cheap answer showed is not shown again so soon: the full computation
    # keeps the other one.
    assert _run_job(settings, viewer, clock) == {"outcome": "completed", "cached": 1}
    assert redis_client.ttl(recommendations_cache_key(viewer.id)) == 24 * 3600  # type: ignore[arg-type]
    served = _recommend(client, viewer, limit=1)
    assert served["source"] == "cache"
    assert _ids(served) == [({first.id, second.id} - set(_ids(cheap))).pop()]
    assert _queued(redis_client, settings) == [recommendations_job_id(UUID(viewer.id))]


def test_a_banned_candidate_in_the_cache_is_not_served(
    client: TestClient,
    db: psycopg.Connection[Any],
    clock: ManualClock,
    settings: Settings,
) -> None:
    viewer, banned, kept = quick_accounts(db, clock, 3)
    put_profile(client, viewer, profile_body())
    put_profile(client, banned, man())
    put_profile(client, kept, man())
    _run_job(settings, viewer, clock)
    assert sorted(_ids(_recommend(client, viewer))) == sorted([banned.id, kept.id])

    _ban(db, banned)
    body = _recommend(client, viewer)
    assert body["source"] == "cache" and _ids(body) == [kept.id]


def test_a_banned_candidate_in_the_daily_set_is_not_served(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    viewer, banned, first, second = quick_accounts(db, clock, 4)
    put_profile(client, viewer, profile_body())
    for person in (banned, first, second):
        put_profile(client, person, man())
    _store_daily_set(db, clock, viewer, [banned, first, second])
    _ban(db, banned)

    body = _recommend(client, viewer, limit=2)
    assert body["source"] == "daily" and _ids(body) == [first.id, second.id]


def test_asking_again_before_the_workers_are_done_shows_the_same_cheap_list(
    client: TestClient,
    db: psycopg.Connection[Any],
    clock: ManualClock,
    redis_client: redis.Redis,
    settings: Settings,
) -> None:
    viewer, first, second = quick_accounts(db, clock, 3)
    put_profile(client, viewer, profile_body())
    put_profile(client, first, man())
    put_profile(client, second, man())

    cheap = _recommend(client, viewer)
    again = _recommend(client, viewer)
    assert again["source"] == "cheap" and _ids(again) == _ids(cheap)
    assert len(_ids(cheap)) == 2
    assert _queued(redis_client, settings) == [recommendations_job_id(UUID(viewer.id))]
