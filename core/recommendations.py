"""Recommendations on demand: computed by the matcher's light path, cached 24 h, and
filtered again at every read.

The cache holds the top `MAX_RECOMMENDATIONS` candidate ids with scores and reasons.
Every read re-checks them against PostgreSQL (the visibility rule of
`eros.core.visibility`: blocks either way, disabled accounts; lowered exposure, see
`eros.core.moderation`; and the viewer's own likes/skips/reports since) and joins
their current public profile, so a cached list never shows someone it must not. When
fewer than the requested number survive and the list was not already everyone
available, it is recomputed.
What is served is recorded in `shown_history`, which feeds "already shown recently"
and the per-day exposure cap of later computations.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

import redis.asyncio as aredis
import redis.exceptions
from pydantic import BaseModel

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
    "forget_recommendations",
    "recommendations_for",
]

MAX_RECOMMENDATIONS = 50
"""Computed and cached per viewer; a request's `limit` takes the first ones still valid."""
EMPTY_RESULT_TTL_SECONDS = 15 * 60
"""An empty list is cached briefly only: new people may sign up any minute."""


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


@dataclass(frozen=True, slots=True)
class Recommendations:
    items: list[tuple[CachedMatch, Profile]]
    source: Literal["cache", "computed"]
    generated_at: datetime


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


async def _compute(
    db: AsyncPool,
    redis: aredis.Redis,
    viewer: UUID,
    now_ms: int,
    rules: FilterRules,
) -> CachedRecommendations:
    now = utc_from_ms(now_ms)
    async with db.connection() as conn:
        inputs = await load_inputs(conn, redis, viewer, now, rules)
    if inputs is None:
        raise NoProfile
    # NumPy work off the event loop, so other requests keep being served meanwhile.
    matches = await asyncio.to_thread(rank, inputs, now, MAX_RECOMMENDATIONS, rules)
    logger.info(
        "Computed %d recommendations for user %s from %d profiles.",
        len(matches),
        viewer,
        len(inputs.profiles),
    )
    return CachedRecommendations(
        generated_at_ms=now_ms,
        exhausted=len(matches) < MAX_RECOMMENDATIONS,
        matches=[CachedMatch.from_match(m) for m in matches],
    )


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
    ttl_seconds: int,
    rules: FilterRules | None = None,
) -> Recommendations:
    """Up to `limit` recommendations: from the cache if it still has enough, else computed.

    Raises `NoProfile` when the viewer has none, and Redis' connection errors when the
    activity data the matcher needs is unreachable.
    """
    rules = rules or FilterRules()
    key = recommendations_cache_key(viewer)
    cached = await cache_get_model(redis, key, CachedRecommendations)
    if cached is not None:
        items = await _servable(db, viewer, cached.matches, limit)
        if len(items) >= limit or cached.exhausted:
            await _record_shown(db, viewer, [m.user_id for m, _ in items], utc_from_ms(now_ms))
            return Recommendations(items, "cache", utc_from_ms(cached.generated_at_ms))
    fresh = await _compute(db, redis, viewer, now_ms, rules)
    ttl = ttl_seconds if fresh.matches else min(ttl_seconds, EMPTY_RESULT_TTL_SECONDS)
    await cache_set_model(redis, key, fresh, ttl)
    items = await _servable(db, viewer, fresh.matches, limit)
    await _record_shown(db, viewer, [m.user_id for m, _ in items], utc_from_ms(now_ms))
    return Recommendations(items, "computed", utc_from_ms(now_ms))
