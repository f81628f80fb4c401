"""Serving daily matches: the cache, then PostgreSQL, then an on-demand computation.

The cache entry (`eros:matches:daily:<uuid>`) is written by phase 3 without profiles;
the first read delivers it (marks the set delivered, records its people as shown) and
rewrites it complete, with the candidates' profiles (domain data: the API renders them
on every read, so an age stays right across a birthday), so that every later read is
one GET plus one PostgreSQL query that drops anyone blocked either way or disabled
since. The entry expires 24 h after the set was generated. With Redis down, reads come
from PostgreSQL; only the on-demand computation needs Redis (the matcher reads recent
activity there), so a user with no set at all gets a 503 until it is back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Literal
from uuid import UUID

import redis.asyncio as aredis
import redis.exceptions
from pydantic import BaseModel

from eros.core.analysis.daily import DailyMatch, DailySet
from eros.core.analysis.generate import generate_daily
from eros.core.analysis.store import (
    hidden_candidates,
    load_daily_set,
    load_preferences,
    mark_delivered,
    save_daily_set,
)
from eros.core.cache import cache_get_model, cache_set_model
from eros.core.clock import MS_PER_SECOND, utc_from_ms
from eros.core.database import AsyncPool
from eros.core.errors import ProfileNotFound
from eros.core.keys import daily_matches_cache_key
from eros.core.profiles import Profile, get_profiles

logger = logging.getLogger(__name__)

__all__ = ["DailyAnswer", "NoDailyProfile", "cache_daily", "daily_for_date", "daily_matches"]

Source = Literal["cache", "database", "computed"]
_UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class NoDailyProfile(ProfileNotFound):
    """The user has no profile, so there is nothing to match on."""

    message = "Create your profile to get daily matches."


class CachedDaily(BaseModel):
    daily: DailySet
    # Set by the first delivery: the candidates' profiles.
    profiles: dict[UUID, Profile] | None = None


@dataclass(frozen=True, slots=True)
class DailyAnswer:
    daily: DailySet
    items: list[tuple[DailyMatch, Profile]]
    source: Source


def _remaining_ttl(daily: DailySet, now_ms: int, ttl_seconds: int) -> int:
    age_seconds = max(0, (now_ms - daily.generated_at_ms) // MS_PER_SECOND)
    return max(1, ttl_seconds - age_seconds)


async def cache_daily(client: aredis.Redis, daily: DailySet, now_ms: int, ttl_seconds: int) -> None:
    """Phase 3's fill: the set without profiles (best effort; PostgreSQL has it)."""
    key = daily_matches_cache_key(daily.user_id)
    ttl = _remaining_ttl(daily, now_ms, ttl_seconds)
    await cache_set_model(client, key, CachedDaily(daily=daily), ttl)


def _visible(
    daily: DailySet, profiles: dict[UUID, Profile], hidden: set[UUID]
) -> list[tuple[DailyMatch, Profile]]:
    return [
        (m, profiles[m.candidate_id])
        for m in daily.matches
        if m.candidate_id not in hidden and m.candidate_id in profiles
    ]


async def daily_matches(
    db: AsyncPool,
    client: aredis.Redis,
    user_id: UUID,
    now_ms: int,
    ttl_seconds: int,
) -> DailyAnswer:
    """Today's matches. Raises `NoDailyProfile` when there is none and no profile to
    compute them from, and Redis' connection errors when computing needs Redis."""
    cached = await cache_get_model(client, daily_matches_cache_key(user_id), CachedDaily)
    if cached is not None and cached.profiles is not None:
        ids = [m.candidate_id for m in cached.daily.matches]
        async with db.connection() as conn:
            hidden = await hidden_candidates(conn, user_id, ids)
        return DailyAnswer(cached.daily, _visible(cached.daily, cached.profiles, hidden), "cache")
    now = utc_from_ms(now_ms)
    source: Source = "cache"
    async with db.connection() as conn:
        daily = cached.daily if cached is not None else None
        if daily is None:
            stored = await load_daily_set(conn, user_id, now=now)
            daily, source = (stored.daily, "database") if stored else (None, "computed")
        if daily is None:
            prefs = await load_preferences(conn, user_id)
            daily = await generate_daily(
                conn,
                client,
                user_id,
                now_ms,
                prefs.preferences if prefs else None,
                source="computed",
                preferences_source=prefs.source if prefs else "none",
            )
            if daily is None:
                raise NoDailyProfile
            await save_daily_set(conn, daily, delivered_at=None)
            logger.info(
                "Computed %d daily matches on demand for user %s.", len(daily.matches), user_id
            )
        await mark_delivered(conn, daily, now)
        ids = [m.candidate_id for m in daily.matches]
        hidden = await hidden_candidates(conn, user_id, ids)
        profiles = await get_profiles(conn, ids)
    ttl = _remaining_ttl(daily, now_ms, ttl_seconds)
    await cache_set_model(
        client, daily_matches_cache_key(user_id), CachedDaily(daily=daily, profiles=profiles), ttl
    )
    return DailyAnswer(daily, _visible(daily, profiles, hidden), source)


async def daily_for_date(db: AsyncPool, user_id: UUID, match_date: date) -> DailyAnswer | None:
    """The user's set of `match_date` from PostgreSQL, or None."""
    async with db.connection() as conn:
        stored = await load_daily_set(conn, user_id, match_date=match_date)
        if stored is None:
            return None
        ids = [m.candidate_id for m in stored.daily.matches]
        hidden = await hidden_candidates(conn, user_id, ids)
        profiles = await get_profiles(conn, ids)
    return DailyAnswer(stored.daily, _visible(stored.daily, profiles, hidden), "database")
