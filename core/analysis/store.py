"""PostgreSQL storage of the analysis: evidence read, patterns, preferences, daily sets.

Every write is idempotent: a kind's patterns are replaced in one transaction, the
preferences row is upserted, and a day's set is replaced unless it was delivered
already (then the user has seen it, and the feedback loop judges what they saw).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from eros.core.analysis.daily import DailyMatch, DailySet
from eros.core.analysis.patterns import Pattern, PatternKind, features_of
from eros.core.analysis.preferences import PreferenceSource, UltimatePreferences
from eros.core.clock import MS_PER_SECOND, utc_from_ms
from eros.core.profiles import get_profiles
from eros.core.visibility import visible_sql

logger = logging.getLogger(__name__)

Conn = AsyncConnection[Any]
DELIVERY_WINDOW = timedelta(hours=24)
"""A set generated this recently is "today's" matches, whatever its UTC date."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a user did to others up to `as_of`, with those people's features."""

    liked: list[dict[str, float]]
    skipped: list[dict[str, float]]
    messaged: list[dict[str, float]]
    liked_not_messaged: list[dict[str, float]]
    blocked: list[dict[str, float]]


async def load_evidence(conn: Conn, user_id: UUID, as_of: datetime) -> Evidence:
    cur = await conn.execute(
        "SELECT DISTINCT ON (target_id) target_id, kind FROM interactions "
        "WHERE actor_id = %s AND kind IN ('like', 'skip') AND occurred_at <= %s "
        "ORDER BY target_id, occurred_at DESC, id DESC",
        (user_id, as_of),
    )
    decisions = {row["target_id"]: row["kind"] for row in await cur.fetchall()}
    cur = await conn.execute(
        "SELECT DISTINCT target_id FROM interactions WHERE actor_id = %s "
        "AND kind IN ('message_sent', 'message_replied', 'call') AND occurred_at <= %s",
        (user_id, as_of),
    )
    messaged = {row["target_id"] for row in await cur.fetchall()}
    cur = await conn.execute(
        "SELECT blocked_id AS id FROM blocks WHERE blocker_id = %(u)s UNION "
        "SELECT target_id FROM interactions WHERE actor_id = %(u)s "
        "AND kind IN ('block', 'report') AND occurred_at <= %(as_of)s",
        {"u": user_id, "as_of": as_of},
    )
    blocked = {row["id"] for row in await cur.fetchall()}
    people = sorted(set(decisions) | messaged | blocked)
    profiles = await get_profiles(conn, people)
    features = {uid: features_of(p) for uid, p in profiles.items()}

    def of(ids: set[UUID]) -> list[dict[str, float]]:
        return [features[i] for i in sorted(ids) if i in features]

    liked = {t for t, kind in decisions.items() if kind == "like"}
    return Evidence(
        liked=of(liked),
        skipped=of({t for t, kind in decisions.items() if kind == "skip"}),
        messaged=of(messaged),
        liked_not_messaged=of(liked - messaged),
        blocked=of(blocked),
    )


async def save_patterns(
    conn: Conn, user_id: UUID, kind: PatternKind, patterns: list[Pattern], now: datetime
) -> None:
    async with conn.transaction():
        await conn.execute(
            "DELETE FROM learned_patterns WHERE user_id = %s AND kind = %s", (user_id, kind.value)
        )
        if patterns:
            async with conn.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO learned_patterns (user_id, kind, feature, weight, evidence, "
                    "confidence, learned_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    [
                        (user_id, kind.value, p.feature, p.weight, p.evidence, p.confidence, now)
                        for p in patterns
                    ],
                )


async def load_patterns(conn: Conn, user_id: UUID) -> list[Pattern]:
    cur = await conn.execute(
        "SELECT kind, feature, weight, evidence, confidence FROM learned_patterns "
        "WHERE user_id = %s ORDER BY kind, feature",
        (user_id,),
    )
    return [
        Pattern(PatternKind(r["kind"]), r["feature"], r["weight"], r["evidence"], r["confidence"])
        for r in await cur.fetchall()
    ]


@dataclass(frozen=True, slots=True)
class StoredPreferences:
    preferences: UltimatePreferences
    source: PreferenceSource
    basis_ms: int


async def save_preferences(
    conn: Conn,
    user_id: UUID,
    prefs: UltimatePreferences,
    source: PreferenceSource,
    basis_ms: int,
    now: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO ultimate_preferences (user_id, source, preferences, basis_ms, computed_at) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (user_id) DO UPDATE SET "
        "source = EXCLUDED.source, preferences = EXCLUDED.preferences, "
        "basis_ms = EXCLUDED.basis_ms, computed_at = EXCLUDED.computed_at",
        (user_id, source, Jsonb(prefs.model_dump(mode="json")), basis_ms, now),
    )


async def load_preferences(conn: Conn, user_id: UUID) -> StoredPreferences | None:
    cur = await conn.execute(
        "SELECT source, preferences, basis_ms FROM ultimate_preferences WHERE user_id = %s",
        (user_id,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    prefs = UltimatePreferences.model_validate(row["preferences"])
    return StoredPreferences(prefs, row["source"], row["basis_ms"])


async def save_daily_set(conn: Conn, daily: DailySet, *, delivered_at: datetime | None) -> bool:
    """Store the day's set; False (and nothing written) when that day's set was delivered."""
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT delivered_at FROM daily_match_sets WHERE user_id = %s AND match_date = %s "
            "FOR UPDATE",
            (daily.user_id, daily.match_date),
        )
        row = await cur.fetchone()
        if row is not None and row["delivered_at"] is not None:
            return False
        await conn.execute(
            "INSERT INTO daily_match_sets (user_id, match_date, source, preferences_source, "
            "generated_at, delivered_at) VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (user_id, match_date) DO UPDATE SET source = EXCLUDED.source, "
            "preferences_source = EXCLUDED.preferences_source, "
            "generated_at = EXCLUDED.generated_at, delivered_at = EXCLUDED.delivered_at",
            (
                daily.user_id,
                daily.match_date,
                daily.source,
                daily.preferences_source,
                utc_from_ms(daily.generated_at_ms),
                delivered_at,
            ),
        )
        await conn.execute(
            "DELETE FROM daily_matches WHERE user_id = %s AND match_date = %s",
            (daily.user_id, daily.match_date),
        )
        if daily.matches:
            async with conn.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO daily_matches (user_id, match_date, rank, candidate_id, score, "
                    "reasons) VALUES (%s, %s, %s, %s, %s, %s)",
                    [
                        (
                            daily.user_id,
                            daily.match_date,
                            m.rank,
                            m.candidate_id,
                            m.score,
                            Jsonb([r.to_dict() for r in m.reasons]),
                        )
                        for m in daily.matches
                    ],
                )
    return True


@dataclass(frozen=True, slots=True)
class StoredSet:
    daily: DailySet
    delivered_at: datetime | None


async def load_daily_set(
    conn: Conn, user_id: UUID, *, match_date: date | None = None, now: datetime | None = None
) -> StoredSet | None:
    """The set of `match_date`, or (with `now`) the newest one generated within a day."""
    if match_date is not None:
        where, params = "match_date = %(d)s", {"u": user_id, "d": match_date}
    else:
        assert now is not None
        where, params = "generated_at > %(since)s", {"u": user_id, "since": now - DELIVERY_WINDOW}
    cur = await conn.execute(
        "SELECT match_date, source, preferences_source, generated_at, delivered_at "
        f"FROM daily_match_sets WHERE user_id = %(u)s AND {where} "
        "ORDER BY generated_at DESC LIMIT 1",
        params,
    )
    head = await cur.fetchone()
    if head is None:
        return None
    cur = await conn.execute(
        "SELECT rank, candidate_id, score, reasons FROM daily_matches "
        "WHERE user_id = %s AND match_date = %s ORDER BY rank",
        (user_id, head["match_date"]),
    )
    matches = [
        DailyMatch(
            candidate_id=r["candidate_id"],
            rank=r["rank"],
            score=r["score"],
            reasons=r["reasons"],  # JSON objects, validated into Reasons
        )
        for r in await cur.fetchall()
    ]
    daily = DailySet(
        user_id=user_id,
        match_date=head["match_date"],
        source=head["source"],
        preferences_source=head["preferences_source"],
        generated_at_ms=int(head["generated_at"].timestamp() * MS_PER_SECOND),
        matches=matches,
    )
    return StoredSet(daily, head["delivered_at"])


async def mark_delivered(conn: Conn, daily: DailySet, now: datetime) -> None:
    """The first delivery of a set: its predictions start counting, and its people count
    as shown (so tomorrow's matches and recommendations do not repeat them)."""
    async with conn.transaction():
        cur = await conn.execute(
            "UPDATE daily_match_sets SET delivered_at = %s WHERE user_id = %s "
            "AND match_date = %s AND delivered_at IS NULL",
            (now, daily.user_id, daily.match_date),
        )
        if cur.rowcount == 0:
            return
        await conn.execute(
            "INSERT INTO shown_history (viewer_id, candidate_id, first_shown_at, last_shown_at) "
            "SELECT %(viewer)s, c, %(now)s, %(now)s FROM unnest(%(shown)s::uuid[]) AS c "
            "ON CONFLICT (viewer_id, candidate_id) DO UPDATE SET "
            "last_shown_at = EXCLUDED.last_shown_at, times_shown = shown_history.times_shown + 1",
            {
                "viewer": daily.user_id,
                "now": now,
                "shown": [m.candidate_id for m in daily.matches],
            },
        )
    logger.info("Delivered the daily matches of %s to user %s.", daily.match_date, daily.user_id)


async def hidden_candidates(conn: Conn, viewer: UUID, candidates: list[UUID]) -> set[UUID]:
    """Those of `candidates` the visibility rule hides from `viewer` now (blocked either
    way, disabled, unknown)."""
    if not candidates:
        return set()
    cur = await conn.execute(
        f"SELECT c AS id FROM unnest(%(ids)s::uuid[]) AS c WHERE NOT {visible_sql('%(v)s', 'c')}",
        {"ids": candidates, "v": viewer},
    )
    return {row["id"] for row in await cur.fetchall()}
