"""Recommendations on demand: computed by the workers, cached 24 h, and filtered again
at every read; the API itself never runs the full matcher.

The cache holds the top `MAX_RECOMMENDATIONS` candidate ids with scores and reasons.
Every read re-checks them against PostgreSQL (the visibility rule of
`eros.core.visibility`: blocks either way, disabled accounts; lowered exposure, see
`eros.core.moderation`; and the viewer's own likes/skips/reports since) and joins
their current public profile, so a cached list never shows someone it must not.

A miss (no entry, or fewer survivors than asked and the list was not already everyone
available) answers at once from what is cheap, under the same filters: the viewer's
daily set of the last 24 h when it still has enough people (`daily`), else the matcher
over at most `cheap_cap` candidates, newest-updated first (`cheap`). A cheap list is
cached too, briefly and marked as such, so that asking again before a worker is done
shows the same people (they count as shown, so a new ranking would leave them out).
The answer says so (`refresh=True`) and the caller queues the full computation
(`compute_recommendations`, run by `eros.worker.recommendations`), which overwrites the
cache for the next request.
What is served is recorded in `shown_history`, which feeds "already shown recently"
and the per-day exposure cap of later computations.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import redis.asyncio as aredis
import redis.exceptions
from psycopg import AsyncConnection
from pydantic import BaseModel

from eros.core.analysis.store import load_daily_set
from eros.core.cache import cache_get_model, cache_set_model, invalidate
from eros.core.clock import utc_from_ms
from eros.core.database import AsyncPool
from eros.core.errors import ProfileNotFound
from eros.core.keys import recommendations_cache_key
from eros.core.matching import FilterRules, Match, Reason
from eros.core.moderation import exposure_lowered_sql
from eros.core.profiles import PROFILE_COLUMNS, Profile, profile_from_row
from eros.core.recommendation_inputs import load_inputs, rank
from eros.core.visibility import visible_sql

logger = logging.getLogger(__name__)

__all__ = [
    "MAX_RECOMMENDATIONS",
    "CachedMatch",
    "NoProfile",
    "Recommendations",
    "Source",
    "compute_recommendations",
    "forget_recommendations",
    "recommendations_for",
]

MAX_RECOMMENDATIONS = 50
"""Computed and cached per viewer; a request's `limit` takes the first ones still valid."""
EMPTY_RESULT_TTL_SECONDS = 15 * 60
"""An empty list is cached briefly only: new people may sign up any minute."""
CHEAP_RESULT_TTL_SECONDS = 15 * 60
"""A cheap list waits this long at most for the workers' full computation to replace it."""

# `computed` (the API's own full computation) is no longer sent, but stays in v1's
# schema: removing an enum value is a breaking change (docs/api.md#versioning).
Source = Literal["cache", "computed", "daily", "cheap"]


class NoProfile(ProfileNotFound):
    """The viewer has no profile, so there is nothing to match on."""

    message = "Create your profile to get recommendations."


class CachedMatch(BaseModel):
    user_id: UUID
    score: float
    reasons: list[Reason]

    @classmethod
    def from_match(cls, match: Match) -> CachedMatch:
        return cls(user_id=UUID(str(match.user_id)), score=match.score, reasons=list(match.reasons))


class CachedRecommendations(BaseModel):
    generated_at_ms: int
    # Fewer than MAX_RECOMMENDATIONS were found: recomputing now would find no others.
    exhausted: bool
    matches: list[CachedMatch]
    # Ranked over a few candidates in a request, until the workers' computation replaces it.
    cheap: bool = False


@dataclass(frozen=True, slots=True)
class Recommendations:
    items: list[tuple[CachedMatch, Profile]]
    source: Source
    generated_at: datetime
    # The cache could not answer: the caller queues the full computation.
    refresh: bool = False


_SERVABLE_SQL = f"""
SELECT {PROFILE_COLUMNS} FROM profiles p
WHERE p.user_id = ANY(%(ids)s)
  AND {visible_sql("%(viewer)s", "p.user_id")}
  AND NOT {exposure_lowered_sql("p.user_id")}
  AND NOT EXISTS (SELECT 1 FROM interactions i
      WHERE i.actor_id = %(viewer)s AND i.target_id = p.user_id AND i.kind <> 'view')
"""


async def _servable(
    db: AsyncPool, viewer: UUID, matches: list[CachedMatch], limit: int
) -> list[tuple[CachedMatch, Profile]]:
    """The first `limit` matches still fit to show, with their current profiles."""
    async with db.connection() as conn:
        cur = await conn.execute(
            _SERVABLE_SQL, {"ids": [m.user_id for m in matches], "viewer": viewer}
        )
        profiles = {row["user_id"]: profile_from_row(row) for row in await cur.fetchall()}
    return [(m, profiles[m.user_id]) for m in matches if m.user_id in profiles][:limit]


async def _record_shown(db: AsyncPool, viewer: UUID, shown: list[UUID], now: datetime) -> None:
    if not shown:
        return
    async with db.connection() as conn:
        await conn.execute(
            "INSERT INTO shown_history (viewer_id, candidate_id, first_shown_at, last_shown_at) "
            "SELECT %(viewer)s, c, %(now)s, %(now)s FROM unnest(%(shown)s::uuid[]) AS c "
            "ON CONFLICT (viewer_id, candidate_id) DO UPDATE SET "
            "last_shown_at = EXCLUDED.last_shown_at, times_shown = shown_history.times_shown + 1",
            {"viewer": viewer, "now": now, "shown": shown},
        )


async def _rank(
    conn: AsyncConnection[Any],
    redis: aredis.Redis,
    viewer: UUID,
    now_ms: int,
    rules: FilterRules,
    cap: int | None,
) -> CachedRecommendations:
    """The matcher over at most `cap` candidates (None: everyone eligible), as cached."""
    now = utc_from_ms(now_ms)
    inputs = await load_inputs(conn, redis, viewer, now, rules, cap=cap)
    if inputs is None:
        raise NoProfile
    # NumPy work off the event loop, so other requests keep being served meanwhile.
    matches = await asyncio.to_thread(rank, inputs, now, MAX_RECOMMENDATIONS, rules)
    logger.info(
        "Ranked %d recommendations for user %s from %d profiles.",
        len(matches),
        viewer,
        len(inputs.profiles),
    )
    return CachedRecommendations(
        generated_at_ms=now_ms,
        exhausted=len(matches) < MAX_RECOMMENDATIONS,
        matches=[CachedMatch.from_match(m) for m in matches],
        cheap=cap is not None,
    )


async def compute_recommendations(
    conn: AsyncConnection[Any],
    redis: aredis.Redis,
    viewer: UUID,
    now_ms: int,
    ttl_seconds: int,
    rules: FilterRules | None = None,
) -> int:
    """The full computation over every eligible candidate, written to the cache (the
    workers' job). Returns how many were cached; raises `NoProfile`."""
    fresh = await _rank(conn, redis, viewer, now_ms, rules or FilterRules(), None)
    ttl = ttl_seconds if fresh.matches else min(ttl_seconds, EMPTY_RESULT_TTL_SECONDS)
    await cache_set_model(redis, recommendations_cache_key(viewer), fresh, ttl)
    return len(fresh.matches)


async def _from_daily(
    db: AsyncPool, viewer: UUID, now_ms: int, limit: int
) -> tuple[list[tuple[CachedMatch, Profile]], datetime] | None:
    """The viewer's daily set of the last 24 h, filtered like the cache, if enough remain."""
    async with db.connection() as conn:
        stored = await load_daily_set(conn, viewer, now=utc_from_ms(now_ms))
    if stored is None:
        return None
    matches = [
        CachedMatch(user_id=m.candidate_id, score=m.score, reasons=list(m.reasons))
        for m in stored.daily.matches
    ]
    items = await _servable(db, viewer, matches, limit)
    if len(items) < limit:
        return None
    return items, utc_from_ms(stored.daily.generated_at_ms)


async def _cheap(
    db: AsyncPool,
    redis: aredis.Redis,
    viewer: UUID,
    now_ms: int,
    limit: int,
    rules: FilterRules,
    cap: int,
) -> list[tuple[CachedMatch, Profile]]:
    async with db.connection() as conn:
        ranked = await _rank(conn, redis, viewer, now_ms, rules, cap)
    await cache_set_model(
        redis, recommendations_cache_key(viewer), ranked, CHEAP_RESULT_TTL_SECONDS
    )
    return await _servable(db, viewer, ranked.matches, limit)


async def forget_recommendations(client: aredis.Redis, *users: UUID) -> None:
    """Drop cached recommendations after a block or report. Best effort: every read
    re-checks blocks in PostgreSQL, so a stale list still never shows a blocked user."""
    try:
        await invalidate(client, [recommendations_cache_key(u) for u in users])
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        logger.warning("Cached recommendations were not dropped: Redis is unavailable.")


async def recommendations_for(
    db: AsyncPool,
    redis: aredis.Redis,
    viewer: UUID,
    now_ms: int,
    limit: int,
    cheap_cap: int,
    rules: FilterRules | None = None,
) -> Recommendations:
    """Up to `limit` recommendations: from the cache if it still has enough, else from
    the daily set or a ranking of at most `cheap_cap` candidates, with `refresh` set.

    Raises `NoProfile` when the viewer has none, and Redis' connection errors when the
    activity data the matcher needs is unreachable.
    """
    rules = rules or FilterRules()
    now = utc_from_ms(now_ms)
    cached = await cache_get_model(redis, recommendations_cache_key(viewer), CachedRecommendations)
    if cached is not None:
        items = await _servable(db, viewer, cached.matches, limit)
        if cached.cheap:
            await _record_shown(db, viewer, [m.user_id for m, _ in items], now)
            generated_at = utc_from_ms(cached.generated_at_ms)
            return Recommendations(items, "cheap", generated_at, refresh=True)
        if len(items) >= limit or cached.exhausted:
            await _record_shown(db, viewer, [m.user_id for m, _ in items], now)
            return Recommendations(items, "cache", utc_from_ms(cached.generated_at_ms))
    daily = await _from_daily(db, viewer, now_ms, limit)
    if daily is not None:
        items, generated_at = daily
        source: Source = "daily"
    else:
        items, generated_at = await _cheap(db, redis, viewer, now_ms, limit, rules, cheap_cap), now
        source = "cheap"
    await _record_shown(db, viewer, [m.user_id for m, _ in items], now)
    return Recommendations(items, source, generated_at, refresh=True)
