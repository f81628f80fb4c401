"""The phase-3 worker's shared candidate pool, against real PostgreSQL and Valkey: it ranks
as the uncapped SQL path does, and a refresh follows profiles, members and visibility."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeVar
from uuid import UUID

import psycopg
import pytest
import redis.asyncio as aredis
from psycopg import AsyncConnection

from eros.core.analysis.generate import generate_daily
from eros.core.candidate_pool import (
    PoolKeeper,
    SharedPool,
    load_pool,
    rank_in_pool,
    refresh_pool,
)
from eros.core.clock import ManualClock, utc_from_ms
from eros.core.database import connect
from eros.core.matching import FilterRules
from eros.core.moderation import ban, suspend
from eros.core.privacy import delete_account
from eros.core.profiles import Gender, Profile, get_profile, save_profile
from eros.core.redis_client import async_redis
from eros.core.settings import Settings
from tests.core.population_support import person

INTERESTS = ("hiking", "jazz", "chess", "cooking", "film", "running", "poetry", "sailing")
SUSPENSION_SECONDS = 3600
T = TypeVar("T")


class Session(Protocol):
    def __call__(self, work: Callable[[AsyncConnection[Any], aredis.Redis], Awaitable[T]]) -> T: ...


@pytest.fixture
def session(settings: Settings) -> Session:
    """Runs a coroutine with a fresh connection and Redis client, in its own event loop."""

    def run(work: Callable[[AsyncConnection[Any], aredis.Redis], Awaitable[T]]) -> T:
        async def go() -> T:
            redis = async_redis(settings.redis_url)
            try:
                async with await connect(settings) as conn:
                    return await work(conn, redis)
            finally:
                await redis.aclose()

        return asyncio.run(go())

    return run


def _person(
    db: psycopg.Connection[Any], gender: Gender, seeks: Gender, rng: random.Random
) -> Profile:
    """A member somewhere in Berlin, of a random age and random interests."""
    birth = date(1990 + rng.randrange(8), 1 + rng.randrange(12), 1 + rng.randrange(28))
    latitude = 52.52 + rng.uniform(-0.1, 0.1)
    longitude = 13.405 + rng.uniform(-0.1, 0.1)
    interests = {k: rng.randrange(101) for k in rng.sample(INTERESTS, 4)}
    member = person(db, gender, seeks, birth=birth, interests=interests)
    return replace(member, latitude=latitude, longitude=longitude)


def _decide(
    db: psycopg.Connection[Any], actor: UUID, target: UUID, kind: str, at: datetime
) -> None:
    db.execute(
        "INSERT INTO interactions (actor_id, target_id, kind, occurred_at, source) "
        "VALUES (%s, %s, %s, %s, 'batch')",
        (actor, target, kind, at),
    )


class City:
    """One woman seeking men, 40 men seeking women, 20 other women; decisions both ways."""

    def __init__(self, db: psycopg.Connection[Any], session: Session, now: datetime) -> None:
        rng = random.Random(14)
        self.viewer = _person(db, Gender.WOMAN, Gender.MAN, rng)
        self.men = [_person(db, Gender.MAN, Gender.WOMAN, rng) for _ in range(40)]
        self.women = [_person(db, Gender.WOMAN, Gender.MAN, rng) for _ in range(20)]
        everyone = [self.viewer, *self.men, *self.women]

        async def save(conn: AsyncConnection[Any], _: aredis.Redis) -> None:
            for i, p in enumerate(everyone):
                await save_profile(conn, p, now - timedelta(hours=i))

        session(save)
        earlier = now - timedelta(days=3)
        for man in self.men[:6]:
            _decide(db, self.viewer.user_id, man.user_id, rng.choice(("like", "skip")), earlier)
        _decide(db, self.men[10].user_id, self.viewer.user_id, "skip", earlier)
        _decide(db, self.men[11].user_id, self.viewer.user_id, "like", earlier)
        for woman in self.women:
            for man in rng.sample(self.men, 8):
                _decide(db, woman.user_id, man.user_id, rng.choice(("like", "skip")), earlier)
            for man in rng.sample(self.men, 3):
                _decide(db, man.user_id, woman.user_id, rng.choice(("like", "skip")), earlier)


@pytest.fixture
def city(db: psycopg.Connection[Any], session: Session, clock: ManualClock) -> Iterator[City]:
    yield City(db, session, utc_from_ms(clock.now_ms()))


def _daily(session: Session, viewer: UUID, now_ms: int, pool: SharedPool | None) -> list[UUID]:
    async def work(conn: AsyncConnection[Any], redis: aredis.Redis) -> list[UUID]:
        daily = await generate_daily(
            conn,
            redis,
            viewer,
            now_ms,
            None,
            source="analysis",
            preferences_source="none",
            pool=pool,
        )
        assert daily is not None
        return [m.candidate_id for m in daily.matches]

    return session(work)


def _load(session: Session, clock: ManualClock) -> SharedPool:
    return session(lambda conn, redis: load_pool(conn, redis, utc_from_ms(clock.now_ms())))


def _refresh(session: Session, pool: SharedPool, clock: ManualClock) -> SharedPool:
    now = utc_from_ms(clock.now_ms())
    return session(lambda conn, redis: refresh_pool(conn, redis, pool, now))


def _ranked(session: Session, pool: SharedPool, viewer: UUID, clock: ManualClock) -> set[UUID]:
    now = utc_from_ms(clock.now_ms())

    async def work(conn: AsyncConnection[Any], _: aredis.Redis) -> set[UUID]:
        matches = await rank_in_pool(conn, pool, viewer, now, 100, FilterRules())
        assert matches is not None
        return {UUID(str(m.user_id)) for m in matches}

    return session(work)


def test_the_pool_picks_the_same_daily_set_as_the_uncapped_sql_path(
    city: City, session: Session, clock: ManualClock
) -> None:
    pool = _load(session, clock)
    from_sql = _daily(session, city.viewer.user_id, clock.now_ms(), None)
    assert len(from_sql) == 10
    assert _daily(session, city.viewer.user_id, clock.now_ms(), pool) == from_sql


def test_the_pool_never_offers_a_member_who_skipped_the_viewer_or_was_decided_on(
    city: City, session: Session, clock: ManualClock
) -> None:
    ranked = _ranked(session, _load(session, clock), city.viewer.user_id, clock)
    assert city.men[10].user_id not in ranked
    assert city.men[11].user_id in ranked
    assert not ranked & {m.user_id for m in city.men[:6]}
    assert not ranked & {w.user_id for w in city.women}


def test_a_refresh_picks_up_an_updated_profile_and_a_new_member(
    city: City, db: psycopg.Connection[Any], session: Session, clock: ManualClock
) -> None:
    pool = _load(session, clock)
    clock.advance(seconds=120)
    now = utc_from_ms(clock.now_ms())
    moved = replace(city.men[20], latitude=48.14, longitude=11.58, city="Munich")
    newcomer = _person(db, Gender.MAN, Gender.WOMAN, random.Random(1))

    async def save(conn: AsyncConnection[Any], _: aredis.Redis) -> None:
        await save_profile(conn, moved, now)
        await save_profile(conn, newcomer, now)

    session(save)
    assert moved.user_id in _ranked(session, pool, city.viewer.user_id, clock)
    pool = _refresh(session, pool, clock)
    ranked = _ranked(session, pool, city.viewer.user_id, clock)
    assert moved.user_id not in ranked  # 500 km away now
    assert newcomer.user_id in ranked


def test_hidden_suspended_banned_and_deleted_members_drop_out_on_refresh(
    city: City, db: psycopg.Connection[Any], session: Session, clock: ManualClock
) -> None:
    pool = _load(session, clock)
    hidden, suspended, banned, deleted = (m.user_id for m in city.men[20:24])
    before = _ranked(session, pool, city.viewer.user_id, clock)
    assert {hidden, suspended, banned, deleted} <= before

    async def sanction(conn: AsyncConnection[Any], _: aredis.Redis) -> None:
        await conn.execute("UPDATE users SET is_active = false WHERE id = %s", (hidden,))
        await suspend(conn, suspended, SUSPENSION_SECONDS, None, "spam")
        await ban(conn, banned, None, "abuse")
        await delete_account(conn, deleted)

    session(sanction)
    pool = _refresh(session, pool, clock)
    after = _ranked(session, pool, city.viewer.user_id, clock)
    assert not after & {hidden, suspended, banned, deleted}
    assert after == before - {hidden, suspended, banned, deleted}


def test_a_new_decision_moves_the_counts_on_refresh(
    city: City, db: psycopg.Connection[Any], session: Session, clock: ManualClock
) -> None:
    pool = _load(session, clock)
    man = city.men[30].user_id
    row = pool.pool.row_of(man)
    received = pool.decisions[row]
    _decide(db, city.viewer.user_id, man, "like", utc_from_ms(clock.now_ms()))
    pool = _refresh(session, pool, clock)
    assert pool.decisions[pool.pool.row_of(man)] == received + 1


def test_a_viewer_the_pool_does_not_hold_yet_is_ranked_from_sql(
    city: City, db: psycopg.Connection[Any], session: Session, clock: ManualClock
) -> None:
    pool = _load(session, clock)
    late = _person(db, Gender.WOMAN, Gender.MAN, random.Random(2))
    now = utc_from_ms(clock.now_ms())
    session(lambda conn, _: save_profile(conn, late, now))
    assert late.user_id not in pool.pool
    assert len(_daily(session, late.user_id, clock.now_ms(), pool)) == 10
    assert session(lambda conn, _: get_profile(conn, late.user_id)) is not None


def test_a_keeper_is_fresh_only_once_loaded_and_until_its_pool_is_older_than_the_age() -> None:
    now = [100.0]
    keeper = PoolKeeper(clock=lambda: now[0])
    assert not keeper.fresh(60.0)
    keeper._pool = SharedPool.__new__(SharedPool)  # loaded, as `current` would leave it
    keeper._refreshed = now[0]
    assert keeper.fresh(60.0)
    now[0] += 59.9
    assert keeper.fresh(60.0)
    now[0] += 0.1
    assert not keeper.fresh(60.0)
