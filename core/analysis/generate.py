"""Computing a user's daily matches: the matcher's light path plus the preferences.

Used by phase 3 (with freshly synthesised preferences) and by the API when a user has
no matches yet today (with whatever preferences were stored earlier, if any). Phase 3
(`source="analysis"`) ranks against every eligible member: from the worker's shared
pool (`eros.core.candidate_pool`) when given one, else from rows loaded without a cap;
the API's path keeps the on-demand `CANDIDATE_CAP`, since a user waits for it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import redis.asyncio as aredis
from psycopg import AsyncConnection

from eros.core.analysis.daily import (
    DAILY_POOL,
    DailySet,
    MatchSource,
    PreferencesSource,
    pick_daily,
)
from eros.core.analysis.preferences import UltimatePreferences
from eros.core.candidate_pool import SharedPool, match_profiles_of, rank_in_pool
from eros.core.clock import utc_from_ms
from eros.core.matching import FilterRules, Match, MatchProfile
from eros.core.recommendation_inputs import CANDIDATE_CAP, load_inputs, rank

__all__ = ["generate_daily"]


async def generate_daily(
    conn: AsyncConnection[Any],
    redis: aredis.Redis,
    user_id: UUID,
    now_ms: int,
    prefs: UltimatePreferences | None,
    *,
    source: MatchSource,
    preferences_source: PreferencesSource,
    pool: SharedPool | None = None,
) -> DailySet | None:
    """The day's set for `user_id`; None when the user has no profile.

    `pool` (phase 3 only) is the worker's shared pool; a user it does not hold yet (a
    profile newer than its last refresh) is ranked from SQL rows instead.
    """
    now = utc_from_ms(now_ms)
    rules = FilterRules()
    found: tuple[list[Match], dict[UUID, MatchProfile]] | None = None
    if source == "analysis" and pool is not None:
        ranked = await rank_in_pool(conn, pool, user_id, now, DAILY_POOL, rules)
        if ranked is not None:
            ids = [UUID(str(m.user_id)) for m in ranked]
            found = ranked, await match_profiles_of(conn, pool, ids)
    if found is None:
        cap = None if source == "analysis" else CANDIDATE_CAP
        inputs = await load_inputs(conn, redis, user_id, now, rules, cap=cap)
        if inputs is None:
            return None
        # NumPy work off the event loop: the API keeps serving others meanwhile.
        matches = await asyncio.to_thread(rank, inputs, now, DAILY_POOL, rules)
        found = matches, {UUID(str(p.user_id)): p for p in inputs.profiles}
    matches, profiles = found
    return DailySet(
        user_id=user_id,
        match_date=datetime.fromtimestamp(now_ms / 1000, UTC).date(),
        source=source,
        preferences_source=preferences_source if prefs is not None else "none",
        generated_at_ms=now_ms,
        matches=pick_daily(matches, profiles, prefs),
    )
