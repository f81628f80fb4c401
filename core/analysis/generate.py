"""Computing a user's daily matches: the matcher's light path plus the preferences.

Used by phase 3 (with freshly synthesised preferences) and by the API when a user has
no matches yet today (with whatever preferences were stored earlier, if any). Phase 3
(`source="analysis"`) ranks against every eligible member; the API's path keeps the
on-demand `CANDIDATE_CAP`, since a user waits for it.
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
from eros.core.clock import utc_from_ms
from eros.core.matching import FilterRules
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
) -> DailySet | None:
    """The day's set for `user_id`; None when the user has no profile."""
    now = utc_from_ms(now_ms)
    rules = FilterRules()
    cap = None if source == "analysis" else CANDIDATE_CAP
    inputs = await load_inputs(conn, redis, user_id, now, rules, cap=cap)
    if inputs is None:
        return None
    # NumPy work off the event loop: the API keeps serving others meanwhile.
    matches = await asyncio.to_thread(rank, inputs, now, DAILY_POOL, rules)
    profiles = {UUID(str(p.user_id)): p for p in inputs.profiles}
    return DailySet(
        user_id=user_id,
        match_date=datetime.fromtimestamp(now_ms / 1000, UTC).date(),
        source=source,
        preferences_source=preferences_source if prefs is not None else "none",
        generated_at_ms=now_ms,
        matches=pick_daily(matches, profiles, prefs),
    )
