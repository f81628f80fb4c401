"""The on-demand ("light") path's inputs: PostgreSQL and Redis rows turned into the
matcher's pool, interaction log, blocks, reputation and models for one viewer.

`load_inputs` does the I/O (async); `rank` is pure CPU and runs in a thread. SQL
pre-filters candidates by the cheap, exact-or-looser hard filters (mutual gender and
age, a latitude band for distance, the visibility rule of `eros.core.visibility`,
acted-on and recently shown); the matcher re-applies every filter. The `cap` of
`load_inputs` bounds how many it sees: `CANDIDATE_CAP` (newest-updated first) for the
API's on-demand path, None -- no LIMIT, so every eligible member -- for phase 3.
Members whose exposure is lowered (enough open reports, see
`eros.core.moderation.exposure_lowered_sql`) are not recommended until a moderator
reviews those reports. Candidates who already skipped the viewer are left out too:
recommending someone who said no helps nobody and would reveal their answer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import numpy as np
import redis.asyncio as aredis
from numpy.typing import NDArray
from psycopg import AsyncConnection

from eros.core.keys import ACTIVITY_KEY
from eros.core.matching import (
    BlockGraph,
    CandidatePool,
    ExposureLedger,
    FilterRules,
    Interaction,
    InteractionKind,
    InteractionLog,
    Match,
    MatchContext,
    MatchProfile,
    MatchVocabulary,
    ModelTable,
    PreferenceModel,
    Reputation,
    fit_user_model,
    offsets_from_counts,
    prior_model,
    rank_for_viewer,
    training_examples,
)
from eros.core.matching.ranking import DEFAULT_DAILY_EXPOSURE_CAP
from eros.core.matching.standing import StandingColumns, StandingFacts
from eros.core.moderation import exposure_lowered_sql
from eros.core.population_model import load_current
from eros.core.profiles import (
    PROFILE_COLUMNS,
    CommunicationDimension,
    Gender,
    Profile,
    age_on,
    get_profile,
    profile_from_row,
)
from eros.core.standing import load_standing
from eros.core.visibility import visible_flag_sql, visible_sql

__all__ = [
    "CANDIDATE_CAP",
    "DECISION_HISTORY_CAP",
    "MatcherInputs",
    "decisions_given",
    "fit_viewer",
    "last_active_of",
    "load_inputs",
    "rank",
    "reputation_counts",
    "reputation_of",
    "shown_today",
    "to_match_profile",
    "viewer_blocks",
    "viewer_events",
    "vocabulary_from_keys",
    "vocabulary_of",
]

CANDIDATE_CAP = 5000
"""Most candidates one on-demand computation scores by default; phase 3 passes no cap."""
DECISION_HISTORY_CAP = 500
"""The viewer's latest decisions whose targets join the pool, to learn the viewer's taste."""
# A degree of latitude is at least this long, so the band is never too narrow.
MIN_KM_PER_DEGREE_LATITUDE = 110.0
MIN_DECISIONS_FOR_GLOBAL_RATE = 50
FEB, LEAP_DAY = 2, 29


@dataclass(frozen=True, slots=True)
class MatcherInputs:
    viewer: UUID
    user_ids: list[UUID]  # of `profiles`, in the same order
    profiles: list[MatchProfile]
    events: list[Interaction]
    block_pairs: list[tuple[UUID, UUID]]
    # Latest-decision counts received, per profile, and the like-rate to smooth towards.
    likes: dict[UUID, int]
    decisions: dict[UUID, int]
    # Likes and decisions each member gave (their latest per target): how lenient they are.
    likes_given: dict[UUID, int]
    decisions_given: dict[UUID, int]
    shown_today: dict[UUID, int]
    # The fitted population model (eros.core.population_model); None: the hand-set prior.
    population: PreferenceModel | None
    # New, established, good standing and cooldowns (eros.core.standing), per profile.
    standing: dict[UUID, StandingFacts]


def _years_before(today: date, years: int) -> date:
    year = today.year - years
    if (today.month, today.day) == (FEB, LEAP_DAY) and not _is_leap(year):
        return date(year, FEB, LEAP_DAY - 1)
    return today.replace(year=year)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def to_match_profile(profile: Profile, last_active: datetime, active: bool) -> MatchProfile:
    return MatchProfile(
        user_id=profile.user_id,
        gender=profile.gender.value,
        genders_sought=frozenset(g.value for g in profile.genders_sought),
        birth_date=profile.birth_date,
        age_min=profile.age_min,
        age_max=profile.age_max,
        last_active_at=last_active,
        latitude=profile.latitude,
        longitude=profile.longitude,
        max_distance_km=profile.max_distance_km,
        interests={k: float(v) for k, v in profile.interests.items()},
        values={k: float(v) for k, v in profile.values.items()},
        communication_style={k: float(v) for k, v in profile.communication_style.items()},
        conversation_depth=profile.conversation_depth.slider
        if profile.conversation_depth
        else None,
        availability=profile.availability,
        off_limits_topics=frozenset(profile.off_limits_topics),
        non_negotiables=profile.non_negotiables,
        photo_count=len(profile.photo_urls),
        bio_length=len(profile.bio),
        active=active,
    )


_VISIBLE_TO_VIEWER = visible_sql("%(viewer)s", "p.user_id")
_CANDIDATES_SQL = """
SELECT {columns} FROM profiles p
WHERE p.user_id <> %(viewer)s
  AND p.gender = ANY(%(sought)s) AND %(gender)s = ANY(p.genders_sought)
  AND p.birth_date <= %(youngest_birth)s AND p.birth_date > %(oldest_birth)s
  AND %(viewer_age)s BETWEEN p.age_min AND p.age_max
  {band}
  AND {visible}
  AND NOT {exposure_lowered}
  AND NOT EXISTS (SELECT 1 FROM interactions i
      WHERE i.actor_id = %(viewer)s AND i.target_id = p.user_id
        AND (i.kind <> 'view' OR i.occurred_at >= %(shown_since)s))
  AND NOT EXISTS (SELECT 1 FROM shown_history s
      WHERE s.viewer_id = %(viewer)s AND s.candidate_id = p.user_id
        AND s.last_shown_at >= %(shown_since)s)
  AND NOT EXISTS (SELECT 1 FROM (
      SELECT i.kind FROM interactions i
      WHERE i.actor_id = p.user_id AND i.target_id = %(viewer)s AND i.kind IN ('like', 'skip')
      ORDER BY i.occurred_at DESC, i.id DESC LIMIT 1) last WHERE last.kind = 'skip')
ORDER BY p.updated_at DESC, p.user_id
LIMIT %(cap)s
"""


async def _candidate_rows(
    conn: AsyncConnection[Any], viewer: Profile, now: datetime, rules: FilterRules, cap: int | None
) -> list[dict[str, Any]]:
    today = now.date()
    params: dict[str, Any] = {
        "viewer": viewer.user_id,
        "sought": [g.value for g in viewer.genders_sought],
        "gender": viewer.gender.value,
        "youngest_birth": _years_before(today, viewer.age_min),
        "oldest_birth": _years_before(today, viewer.age_max + 1),
        "viewer_age": age_on(viewer.birth_date, today),
        "shown_since": now - timedelta(days=rules.reshow_cooldown_days),
        "cap": cap,  # LIMIT NULL is no limit
    }
    band = ""
    if viewer.latitude is not None and viewer.max_distance_km is not None:
        params["lat_lo"] = viewer.latitude - viewer.max_distance_km / MIN_KM_PER_DEGREE_LATITUDE
        params["lat_hi"] = viewer.latitude + viewer.max_distance_km / MIN_KM_PER_DEGREE_LATITUDE
        band = "AND p.latitude BETWEEN %(lat_lo)s AND %(lat_hi)s"
    sql = _CANDIDATES_SQL.format(
        columns=PROFILE_COLUMNS,
        band=band,
        visible=_VISIBLE_TO_VIEWER,
        exposure_lowered=exposure_lowered_sql("p.user_id"),
    )
    cur = await conn.execute(sql, params)
    return list(await cur.fetchall())


async def _decided_rows(conn: AsyncConnection[Any], viewer: UUID) -> list[dict[str, Any]]:
    """Profiles the viewer decided on (their training examples), with whether the viewer
    may still see them (the matcher never suggests a profile marked inactive)."""
    cur = await conn.execute(
        f"SELECT {PROFILE_COLUMNS}, {visible_flag_sql('%(viewer)s', 'p.user_id')} AS visible "
        "FROM profiles p WHERE p.user_id IN ("
        " SELECT target_id FROM interactions WHERE actor_id = %(viewer)s "
        " AND kind IN ('like', 'skip') "
        " GROUP BY target_id ORDER BY max(occurred_at) DESC LIMIT %(cap)s)",
        {"viewer": viewer, "cap": DECISION_HISTORY_CAP},
    )
    return list(await cur.fetchall())


async def viewer_events(conn: AsyncConnection[Any], viewer: UUID) -> list[Interaction]:
    """The viewer's own events and shows, and everyone's likes and skips of the viewer."""
    cur = await conn.execute(
        "SELECT actor_id, target_id, kind, occurred_at FROM interactions WHERE actor_id = %(v)s "
        "UNION ALL SELECT actor_id, target_id, kind, occurred_at FROM interactions "
        " WHERE target_id = %(v)s AND kind IN ('like', 'skip') "
        "UNION ALL SELECT viewer_id, candidate_id, 'impression', last_shown_at "
        " FROM shown_history WHERE viewer_id = %(v)s",
        {"v": viewer},
    )
    return [
        Interaction(
            row["actor_id"],
            row["target_id"],
            InteractionKind[row["kind"].upper()],
            row["occurred_at"],
        )
        for row in await cur.fetchall()
    ]


async def _latest_decision_counts(
    conn: AsyncConnection[Any], side: str, user_ids: list[UUID] | None
) -> tuple[dict[UUID, int], dict[UUID, int]]:
    """Likes and decisions per member on `side` (actor_id: given, target_id: received),
    counting each pair's latest like or skip; `user_ids` None counts every member (the
    shared pool's load, one scan instead of a million-element array)."""
    among = "" if user_ids is None else f"AND {side} = ANY(%(ids)s)"
    cur = await conn.execute(
        f"SELECT {side} AS member, count(*) FILTER (WHERE kind = 'like') AS likes, "
        "count(*) AS decisions "
        f"FROM (SELECT DISTINCT ON (actor_id, target_id) {side}, kind FROM interactions "
        f" WHERE kind IN ('like', 'skip') {among} "
        " ORDER BY actor_id, target_id, occurred_at DESC, id DESC) latest "
        f"GROUP BY {side}",
        {"ids": user_ids},
    )
    rows = await cur.fetchall()
    return (
        {r["member"]: r["likes"] for r in rows},
        {r["member"]: r["decisions"] for r in rows},
    )


async def reputation_counts(
    conn: AsyncConnection[Any], user_ids: list[UUID] | None
) -> tuple[dict[UUID, int], dict[UUID, int]]:
    """Likes and decisions each member received (None: every member)."""
    return await _latest_decision_counts(conn, "target_id", user_ids)


async def decisions_given(
    conn: AsyncConnection[Any], user_ids: list[UUID] | None
) -> tuple[dict[UUID, int], dict[UUID, int]]:
    """Likes and decisions each member gave (None: every member): how lenient they are."""
    return await _latest_decision_counts(conn, "actor_id", user_ids)


async def shown_today(
    conn: AsyncConnection[Any], user_ids: list[UUID], now: datetime
) -> dict[UUID, int]:
    """Viewers each of `user_ids` was shown to since midnight UTC (the exposure cap's count)."""
    midnight = datetime.combine(now.date(), datetime.min.time(), UTC)
    cur = await conn.execute(
        "SELECT candidate_id, count(*) AS viewers FROM shown_history "
        "WHERE candidate_id = ANY(%s) AND last_shown_at >= %s GROUP BY candidate_id",
        (user_ids, midnight),
    )
    return {r["candidate_id"]: r["viewers"] for r in await cur.fetchall()}


async def viewer_blocks(conn: AsyncConnection[Any], viewer: UUID) -> list[tuple[UUID, UUID]]:
    """(blocker, blocked) pairs with the viewer on either side."""
    cur = await conn.execute(
        "SELECT blocker_id, blocked_id FROM blocks WHERE blocker_id = %(v)s OR blocked_id = %(v)s",
        {"v": viewer},
    )
    return [(r["blocker_id"], r["blocked_id"]) for r in await cur.fetchall()]


async def last_active_of(redis: aredis.Redis, profiles: Sequence[Profile]) -> list[datetime]:
    """Last activity from the activity set; a profile saved later counts as activity too."""
    members: list[Any] = [p.user_id.bytes for p in profiles]  # raw 16-byte members
    scores = await redis.zmscore(ACTIVITY_KEY, members)
    result = []
    for profile, score in zip(profiles, scores, strict=True):
        saved = profile.updated_at or datetime.fromtimestamp(0, UTC)
        seen = datetime.fromtimestamp(score / 1000, UTC) if score is not None else saved
        result.append(max(seen, saved))
    return result


async def load_inputs(
    conn: AsyncConnection[Any],
    redis: aredis.Redis,
    viewer_id: UUID,
    now: datetime,
    rules: FilterRules,
    *,
    cap: int | None = CANDIDATE_CAP,
) -> MatcherInputs | None:
    """Everything `rank` needs for `viewer_id`; None when the viewer has no profile.

    At most `cap` candidates pass the SQL pre-filter, newest-updated first; None loads
    every eligible member (phase 3).
    """
    viewer = await get_profile(conn, viewer_id)
    if viewer is None:
        return None
    loaded: dict[UUID, tuple[Profile, bool]] = {viewer_id: (viewer, True)}
    for row in await _candidate_rows(conn, viewer, now, rules, cap):
        loaded[row["user_id"]] = (profile_from_row(row), True)
    for row in await _decided_rows(conn, viewer_id):
        loaded.setdefault(row["user_id"], (profile_from_row(row), bool(row["visible"])))
    ids = list(loaded)
    profiles = [loaded[i][0] for i in ids]
    last_active = await last_active_of(redis, profiles)
    likes, decisions = await reputation_counts(conn, ids)
    likes_given, given = await decisions_given(conn, ids)
    return MatcherInputs(
        viewer=viewer_id,
        user_ids=ids,
        profiles=[
            to_match_profile(p, seen, loaded[p.user_id][1])
            for p, seen in zip(profiles, last_active, strict=True)
        ],
        events=await viewer_events(conn, viewer_id),
        block_pairs=await viewer_blocks(conn, viewer_id),
        likes=likes,
        decisions=decisions,
        likes_given=likes_given,
        decisions_given=given,
        shown_today=await shown_today(conn, ids, now),
        population=await load_current(conn, redis),
        standing=await load_standing(conn, ids, now),
    )


def vocabulary_of(profiles: Sequence[MatchProfile]) -> MatchVocabulary:
    return vocabulary_from_keys(
        {k for p in profiles for k in p.interests},
        {k for p in profiles for k in p.values},
        {t for p in profiles for t in p.off_limits_topics},
    )


def vocabulary_from_keys(
    interests: Iterable[str], values: Iterable[str], topics: Iterable[str]
) -> MatchVocabulary:
    """The vocabulary of profiles using these interest, value and off-limits topic keys."""
    return MatchVocabulary(
        genders=tuple(g.value for g in Gender),
        interests=tuple(sorted(set(interests))),
        values=tuple(sorted(set(values))),
        communication=tuple(d.value for d in CommunicationDimension),
        topics=tuple(sorted(set(topics))),
    )


def _per_row(counts: dict[UUID, int], user_ids: Sequence[UUID]) -> NDArray[np.float64]:
    # The pool keeps the order of `inputs.profiles`, hence of `inputs.user_ids`.
    return np.asarray([counts.get(u, 0) for u in user_ids], np.float64)


def reputation_of(likes: NDArray[np.float64], decisions: NDArray[np.float64]) -> Reputation:
    """Reputation from per-row counts received, smoothed towards their global like-rate
    once there are enough decisions to trust it."""
    total = decisions.sum()
    if total >= MIN_DECISIONS_FOR_GLOBAL_RATE:
        return Reputation(likes, decisions, prior_rate=float(likes.sum() / total))
    return Reputation(likes, decisions)


def fit_viewer(
    pool: CandidatePool,
    viewer: int,
    now_s: float,
    reputation: Reputation,
    log: InteractionLog,
    prior: PreferenceModel,
) -> PreferenceModel:
    """The viewer's own model: their decisions on members of `pool`, starting from `prior`."""
    x, liked = training_examples(pool, viewer, now_s, reputation, log)
    return fit_user_model(x, liked, prior) if liked.shape[0] else prior


def rank(
    inputs: MatcherInputs,
    now: datetime,
    k: int,
    rules: FilterRules,
    exposure_cap: int = DEFAULT_DAILY_EXPOSURE_CAP,
) -> list[Match]:
    """The viewer's k best matches (pure CPU: call it in a worker thread)."""
    pool = CandidatePool.from_profiles(inputs.profiles, vocabulary_of(inputs.profiles))
    viewer = pool.row_of(inputs.viewer)
    log = InteractionLog.from_events(inputs.events, pool)
    blocks = BlockGraph.from_pairs(inputs.block_pairs, pool)
    reputation = reputation_of(
        _per_row(inputs.likes, inputs.user_ids), _per_row(inputs.decisions, inputs.user_ids)
    )
    now_s = now.timestamp()
    # Everyone scores with the population model; the viewer's own fit starts from it.
    prior = inputs.population or prior_model()
    own = fit_viewer(pool, viewer, now_s, reputation, log, prior)
    # A candidate's predicted interest in the viewer follows how often they say yes at all
    # (docs/matching.md: without it the reciprocal score loses to a selectivity baseline).
    offsets = offsets_from_counts(
        _per_row(inputs.likes_given, inputs.user_ids),
        _per_row(inputs.decisions_given, inputs.user_ids),
    )
    models = ModelTable.build(len(pool), prior, {viewer: own}, default_offsets=offsets)
    standing = StandingColumns.build([inputs.standing.get(u) for u in inputs.user_ids], now_s)
    ctx = MatchContext(pool, models, reputation, log, blocks, rules, standing)
    shown = np.asarray([inputs.shown_today.get(u, 0) for u in inputs.user_ids], np.int32)
    matches = rank_for_viewer(ctx, viewer, now_s, k, ExposureLedger(shown, exposure_cap))
    return [m for m in matches if math.isfinite(m.score)]
