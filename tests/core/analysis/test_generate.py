"""Phase 3 ranks against every eligible member; the on-demand path keeps its cap.

The city is seeded cheaply in SQL: one woman, the man who suits her best, whose profile
is the oldest-updated of all, and `CANDIDATE_CAP` copies of a plainer man saved later,
so that the old newest-updated-first cap would never have let the best man be scored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest

from eros.core.analysis.generate import generate_daily
from eros.core.candidate_pool import load_pool
from eros.core.clock import ManualClock, utc_from_ms
from eros.core.database import connect
from eros.core.matching import FilterRules
from eros.core.profiles import Gender, save_profile
from eros.core.recommendation_inputs import CANDIDATE_CAP, load_inputs
from eros.core.redis_client import async_redis
from eros.core.settings import Settings
from tests.core.population_support import person

SHARED_INTERESTS = {"hiking": 95, "jazz": 90, "chess": 85, "cooking": 80}


@dataclass(frozen=True)
class City:
    viewer: UUID
    best: UUID  # the best match, saved before everyone else
    members: int  # candidates eligible for the viewer


def _copy_profile(db: psycopg.Connection[Any], template: UUID, copies: int) -> None:
    """`copies` new members with `template`'s profile, saved a day after it."""
    columns = [
        row[0]
        for row in db.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'profiles' AND column_name NOT IN ('user_id', 'updated_at') "
            "ORDER BY ordinal_position"
        )
    ]
    listed = ", ".join(columns)
    db.execute(
        "CREATE TEMP TABLE new_ids AS SELECT gen_random_uuid() AS id FROM generate_series(1, %s)",
        (copies,),
    )
    db.execute(
        "INSERT INTO users (id, email, password_hash, name) "
        "SELECT id, id::text || '@example.com', 'unusable', 'x' FROM new_ids"
    )
    db.execute(
        f"INSERT INTO profiles (user_id, updated_at, {listed}) "
        f"SELECT n.id, t.updated_at + interval '1 day', {', '.join('t.' + c for c in columns)} "
        "FROM new_ids n CROSS JOIN profiles t WHERE t.user_id = %s",
        (template,),
    )
    db.execute("DROP TABLE new_ids")


@pytest.fixture
def city(db: psycopg.Connection[Any], settings: Settings, clock: ManualClock) -> Iterator[City]:
    viewer = person(db, Gender.WOMAN, Gender.MAN, interests=SHARED_INTERESTS)
    best = person(db, Gender.MAN, Gender.WOMAN, interests=SHARED_INTERESTS)
    plain = person(db, Gender.MAN, Gender.WOMAN, interests={})
    now = utc_from_ms(clock.now_ms())

    async def save() -> None:
        async with await connect(settings) as conn:
            await save_profile(conn, best, now - timedelta(days=2))
            await save_profile(conn, plain, now - timedelta(days=1))
            await save_profile(conn, viewer, now)

    asyncio.run(save())
    _copy_profile(db, plain.user_id, CANDIDATE_CAP)
    yield City(viewer.user_id, best.user_id, members=CANDIDATE_CAP + 2)


def _scored(settings: Settings, clock: ManualClock, viewer: UUID, cap: int | None) -> set[UUID]:
    async def load() -> set[UUID]:
        redis = async_redis(settings.redis_url)
        try:
            async with await connect(settings) as conn:
                now = utc_from_ms(clock.now_ms())
                inputs = await load_inputs(conn, redis, viewer, now, FilterRules(), cap=cap)
        finally:
            await redis.aclose()
        assert inputs is not None
        return set(inputs.user_ids) - {viewer}

    return asyncio.run(load())


def test_the_on_demand_path_scores_at_most_the_cap_newest_first(
    city: City, settings: Settings, clock: ManualClock
) -> None:
    scored = _scored(settings, clock, city.viewer, CANDIDATE_CAP)
    assert len(scored) == CANDIDATE_CAP
    assert city.best not in scored


def test_without_a_cap_every_eligible_member_is_scored(
    city: City, settings: Settings, clock: ManualClock
) -> None:
    scored = _scored(settings, clock, city.viewer, None)
    assert len(scored) == city.members
    assert city.best in scored


def test_phase_three_finds_the_best_match_beyond_the_old_cap(
    city: City, settings: Settings, clock: ManualClock
) -> None:
    async def generate() -> set[UUID]:
        redis = async_redis(settings.redis_url)
        try:
            async with await connect(settings) as conn:
                daily = await generate_daily(
                    conn,
                    redis,
                    city.viewer,
                    clock.now_ms(),
                    None,
                    source="analysis",
                    preferences_source="none",
                )
        finally:
            await redis.aclose()
        assert daily is not None
        return {m.candidate_id for m in daily.matches}

    assert city.best in asyncio.run(generate())


def test_phase_three_with_the_shared_pool_finds_the_best_match_beyond_the_old_cap(
    city: City, settings: Settings, clock: ManualClock
) -> None:
    async def generate() -> set[UUID]:
        redis = async_redis(settings.redis_url)
        try:
            async with await connect(settings) as conn:
                pool = await load_pool(conn, redis, utc_from_ms(clock.now_ms()))
                assert len(pool) == city.members + 1
                daily = await generate_daily(
                    conn,
                    redis,
                    city.viewer,
                    clock.now_ms(),
                    None,
                    source="analysis",
                    preferences_source="none",
                    pool=pool,
                )
        finally:
            await redis.aclose()
        assert daily is not None
        return {m.candidate_id for m in daily.matches}

    assert city.best in asyncio.run(generate())
