"""People and decisions in the real PostgreSQL, for the population model's tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

import psycopg
import redis.asyncio as aredis
from psycopg.rows import dict_row

from eros.core.profiles import Gender, Profile, save_profile

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
T = TypeVar("T")


def person(
    db: psycopg.Connection[Any],
    gender: Gender,
    seeks: Gender,
    birth: date = date(1994, 5, 1),
    interests: dict[str, int] | None = None,
) -> Profile:
    """A user with a profile in Berlin."""
    user_id = uuid4()
    db.execute(
        "INSERT INTO users (id, email, password_hash, name) VALUES (%s, %s, 'unusable', 'P')",
        (user_id, f"{user_id}@example.com"),
    )
    return Profile(
        user_id=user_id,
        display_name="P",
        birth_date=birth,
        gender=gender,
        genders_sought=(seeks,),
        latitude=52.52,
        longitude=13.405,
        city="Berlin",
        max_distance_km=50,
        interests=interests if interests is not None else {"hiking": 70},
    )


def decide(
    db: psycopg.Connection[Any], actor: UUID, target: UUID, liked: bool, days_ago: int = 1
) -> None:
    db.execute(
        "INSERT INTO interactions (actor_id, target_id, kind, occurred_at, source) "
        "VALUES (%s, %s, %s, %s, 'action')",
        (actor, target, "like" if liked else "skip", NOW - timedelta(days=days_ago)),
    )


def with_clients(
    database_url: str,
    redis_url: str,
    body: Callable[[psycopg.AsyncConnection[Any], aredis.Redis], Awaitable[T]],
) -> T:
    """Run `body` in a fresh event loop with an autocommit connection and a Redis client."""

    async def run() -> T:
        conn = await psycopg.AsyncConnection.connect(
            database_url, autocommit=True, row_factory=dict_row
        )
        client = aredis.Redis.from_url(redis_url)
        try:
            async with conn:
                return await body(conn, client)
        finally:
            await client.aclose()

    return asyncio.run(run())


def save_profiles(database_url: str, redis_url: str, profiles: list[Profile]) -> None:
    async def body(conn: psycopg.AsyncConnection[Any], _: aredis.Redis) -> None:
        for profile in profiles:
            await save_profile(conn, profile, NOW - timedelta(days=30))

    with_clients(database_url, redis_url, body)
