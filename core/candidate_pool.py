"""The shared candidate pool of a phase-3 worker: every member as matcher columns, loaded
once per process and refreshed incrementally, so that a viewer's nightly ranking reads
only that viewer's own facts from PostgreSQL.

Per row the pool holds the profile columns (`CandidatePool`), whether the member may be
recommended to anyone (an enabled account whose exposure is not lowered: the
viewer-independent part of `eros.core.visibility`; blocks stay per viewer), last
activity, the likes and decisions received (reputation) and given (leniency,
`offsets_from_counts`), and standing facts (`eros.core.standing`). A hidden member keeps
an inactive row, so that a viewer's decisions on them still teach the viewer's model, as
the SQL path's decided rows do; a deleted member's row becomes an inactive tombstone
until the next full load.

`refresh_pool` reads, each time: profiles saved since the watermark (rewritten in
place; new members appended), who is hidden now (one pass over the profiles that returns
the few hidden ids and the count; the whole id list only when the count says someone was
deleted), activity since the watermark (the Redis activity set), and the counts and
standing of everyone in the interactions or reports since their watermarks.

`rank_in_pool` serves one viewer: their events, blocks and the exposure of their eligible
candidates come from bounded SQL; everything else from the pool.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any, cast
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
    candidate_rows,
    offsets_from_counts,
    prior_model,
    rank_for_viewer,
)
from eros.core.matching.ranking import DEFAULT_DAILY_EXPOSURE_CAP
from eros.core.matching.standing import StandingColumns, StandingFacts
from eros.core.moderation import exposure_lowered_sql
from eros.core.population_model import load_current
from eros.core.profiles import PROFILE_COLUMNS, Profile, get_profiles, profile_from_row
from eros.core.recommendation_inputs import (
    DECISION_HISTORY_CAP,
    decisions_given,
    fit_viewer,
    last_active_of,
    reputation_counts,
    reputation_of,
    shown_today,
    to_match_profile,
    viewer_blocks,
    viewer_events,
    vocabulary_from_keys,
)
from eros.core.settings import DEFAULT_CANDIDATE_POOL_REFRESH_SECONDS
from eros.core.standing import load_standing
from eros.core.visibility import enabled_sql

logger = logging.getLogger(__name__)

__all__ = [
    "PoolKeeper",
    "SharedPool",
    "load_pool",
    "match_profiles_of",
    "rank_in_pool",
    "refresh_pool",
]

PROFILE_OVERLAP_SECONDS = 60.0
"""Profiles saved this long before the watermark are read again: commits land out of order."""
ACTIVITY_OVERLAP_MS = 60_000
"""Activity this long before the watermark is read again, for the same reason."""
INTERACTION_OVERLAP_ROWS = 1_000
"""Interaction ids this far below the watermark are read again (identity ids of concurrent
transactions commit out of order); recounting a member twice is harmless."""
LOAD_SLICE_ROWS = 20_000
"""Profiles turned into columns at a time: only one slice's Python objects live at once."""
TOMBSTONE_SHARE_FOR_RELOAD = 0.1
"""Above this share of deleted members' rows, a refresh loads the pool afresh instead."""

Float64 = NDArray[np.float64]
Rows = NDArray[np.int64]

_VOCABULARY_SQL = """
SELECT
  (SELECT coalesce(array_agg(DISTINCT k), '{}') FROM profiles, jsonb_object_keys(interest_scores) k)
    AS interests,
  (SELECT coalesce(array_agg(DISTINCT k), '{}') FROM profiles, jsonb_object_keys(value_scores) k)
    AS values,
  (SELECT coalesce(array_agg(DISTINCT t), '{}') FROM profiles, unnest(off_limits_topics) t)
    AS topics
"""
_HIDDEN_SQL = (
    "SELECT count(*) AS total, coalesce(array_agg(p.user_id) FILTER (WHERE NOT "
    f"{enabled_sql('p.user_id')} OR {exposure_lowered_sql('p.user_id')}), '{{}}') AS hidden "
    "FROM profiles p"
)


class SharedPool:
    """Every member's matcher inputs as of `as_of`; `rank_viewer` ranks one viewer at a time."""

    def __init__(self, pool: CandidatePool, as_of: datetime) -> None:
        n = len(pool)
        self.pool = pool
        self.as_of = as_of
        self.deleted = np.zeros(n, np.bool_)
        self.likes = np.zeros(n)
        self.decisions = np.zeros(n)
        self.likes_given = np.zeros(n)
        self.decisions_given = np.zeros(n)
        self.facts: dict[UUID, StandingFacts] = {}
        self.population: PreferenceModel = prior_model()
        self.profile_mark = datetime.fromtimestamp(0, UTC)
        self.interaction_mark = 0
        self.activity_mark_ms = 0.0
        self.report_mark = datetime.fromtimestamp(0, UTC)
        self.reputation = Reputation(self.likes, self.decisions)
        self.models = ModelTable.build(n, self.population)
        self.standing = StandingColumns.neutral(n)
        # The viewer's own model is written into its row of the shared table for the
        # time of one ranking.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.pool)

    @property
    def member_ids(self) -> tuple[UUID, ...]:
        """The pool's ids in row order: members are keyed by their account's UUID."""
        return cast(tuple[UUID, ...], self.pool.user_ids)

    @property
    def nbytes(self) -> int:
        """Bytes of the pool's arrays (columns, counts, models, standing), ids aside."""
        arrays: list[NDArray[Any]] = [self.likes, self.decisions, self.likes_given]
        arrays += [self.decisions_given, self.models.intercepts, self.models.weights]
        arrays += [self.deleted, *(getattr(self.standing, f.name) for f in fields(self.standing))]
        return int(self.pool.columns.nbytes) + sum(int(a.nbytes) for a in arrays)

    def rebuild(self, now: datetime) -> None:
        """Recompute what derives from the counts, the facts and the population model."""
        self.reputation = reputation_of(self.likes, self.decisions)
        offsets = offsets_from_counts(self.likes_given, self.decisions_given)
        self.models = ModelTable.build(len(self), self.population, default_offsets=offsets)
        ids = self.member_ids
        self.standing = StandingColumns.build([self.facts.get(u) for u in ids], now.timestamp())
        self.as_of = now

    def rank_viewer(
        self,
        viewer: int,
        log: InteractionLog,
        training: InteractionLog,
        blocks: BlockGraph,
        shown: NDArray[np.int32],
        now: float,
        k: int,
        rules: FilterRules,
        exposure_cap: int = DEFAULT_DAILY_EXPOSURE_CAP,
    ) -> list[Match]:
        """The viewer's k best matches (pure CPU: call it in a worker thread)."""
        with self._lock:
            own = fit_viewer(self.pool, viewer, now, self.reputation, training, self.population)
            models = self.models
            saved = float(models.intercepts[viewer]), models.weights[viewer].copy()
            models.intercepts[viewer], models.weights[viewer] = own.intercept, own.weights
            try:
                ctx = MatchContext(
                    self.pool, models, self.reputation, log, blocks, rules, self.standing
                )
                matches = rank_for_viewer(ctx, viewer, now, k, ExposureLedger(shown, exposure_cap))
            finally:
                models.intercepts[viewer], models.weights[viewer] = saved
        return [m for m in matches if math.isfinite(m.score)]


async def _vocabulary(conn: AsyncConnection[Any]) -> MatchVocabulary:
    cur = await conn.execute(_VOCABULARY_SQL)
    row = await cur.fetchone()
    assert row is not None
    return vocabulary_from_keys(row["interests"], row["values"], row["topics"])


def _fits(vocabulary: MatchVocabulary, profiles: Sequence[Profile]) -> bool:
    interests, values = set(vocabulary.interests), set(vocabulary.values)
    topics = set(vocabulary.topics)
    return all(
        p.interests.keys() <= interests
        and p.values.keys() <= values
        and set(p.off_limits_topics) <= topics
        for p in profiles
    )


async def _columns(
    redis: aredis.Redis, profiles: Sequence[Profile], vocabulary: MatchVocabulary
) -> CandidatePool:
    seen = await last_active_of(redis, profiles)
    matched = [to_match_profile(p, s, True) for p, s in zip(profiles, seen, strict=True)]
    return CandidatePool.from_profiles(matched, vocabulary)


async def _marks(conn: AsyncConnection[Any], redis: aredis.Redis) -> tuple[int, float, datetime]:
    """Interaction, activity and report watermarks, read before what they guard."""
    cur = await conn.execute(
        "SELECT (SELECT coalesce(max(id), 0) FROM interactions) AS interactions, "
        "(SELECT max(greatest(created_at, updated_at)) FROM reports) AS reports"
    )
    row = await cur.fetchone()
    assert row is not None
    newest = await redis.zrange(ACTIVITY_KEY, -1, -1, withscores=True)
    activity = float(newest[0][1]) if newest else 0.0
    reports = row["reports"] or datetime.fromtimestamp(0, UTC)
    return int(row["interactions"]), activity, reports


async def load_pool(conn: AsyncConnection[Any], redis: aredis.Redis, now: datetime) -> SharedPool:
    """Every member's profile, counts and standing as of `now`."""
    started = time.perf_counter()
    interaction_mark, activity_mark, report_mark = await _marks(conn, redis)
    vocabulary = await _vocabulary(conn)
    parts: list[CandidatePool] = []
    profile_mark = datetime.fromtimestamp(0, UTC)
    after: UUID | None = None
    while True:
        cur = await conn.execute(
            f"SELECT {PROFILE_COLUMNS} FROM profiles "
            "WHERE %(after)s::uuid IS NULL OR user_id > %(after)s ORDER BY user_id LIMIT %(n)s",
            {"after": after, "n": LOAD_SLICE_ROWS},
        )
        profiles = [profile_from_row(r) for r in await cur.fetchall()]
        if not profiles:
            break
        parts.append(await _columns(redis, profiles, vocabulary))
        profile_mark = max([profile_mark, *(p.updated_at for p in profiles if p.updated_at)])
        after = profiles[-1].user_id
    pool = CandidatePool.concatenate(parts) if parts else _empty(vocabulary)
    shared = SharedPool(pool, now)
    shared.profile_mark, shared.interaction_mark = profile_mark, interaction_mark
    shared.activity_mark_ms, shared.report_mark = activity_mark, report_mark
    await _hide(conn, shared)
    await _recount(conn, shared, None, now)
    shared.population = await load_current(conn, redis) or prior_model()
    shared.rebuild(now)
    logger.info(
        "Loaded the candidate pool: %d members, %.1f MiB, in %.2f s.",
        len(shared),
        shared.nbytes / 2**20,
        time.perf_counter() - started,
    )
    return shared


def _empty(vocabulary: MatchVocabulary) -> CandidatePool:
    return CandidatePool.from_profiles([], vocabulary)


async def _hide(conn: AsyncConnection[Any], shared: SharedPool) -> list[UUID]:
    """Mark who may be recommended now; returns members missing from the pool (saved
    with an old `updated_at`), tombstoning the deleted ones on the way."""
    cur = await conn.execute(_HIDDEN_SQL)
    row = await cur.fetchone()
    assert row is not None
    missing: list[UUID] = []
    pool = shared.pool
    if int(row["total"]) != len(pool) - int(shared.deleted.sum()):
        cur = await conn.execute("SELECT user_id FROM profiles")
        present = {r["user_id"] for r in await cur.fetchall()}
        gone = [u for u in shared.member_ids if u not in present]
        rows = pool.rows_of(gone)
        shared.deleted[rows] = True
        for array in (shared.likes, shared.decisions, shared.likes_given, shared.decisions_given):
            array[rows] = 0.0
        for user_id in gone:
            shared.facts.pop(user_id, None)
        missing = [u for u in present if u not in pool]
    active = ~shared.deleted
    active[pool.rows_of(row["hidden"])] = False
    pool.columns.active[:] = active
    return missing


async def _recount(
    conn: AsyncConnection[Any], shared: SharedPool, members: list[UUID] | None, now: datetime
) -> None:
    """Counts received and given, and standing facts, of `members` (None: everyone)."""
    pool = shared.pool
    ids = list(shared.member_ids) if members is None else [u for u in members if u in pool]
    if not ids:
        return
    rows = pool.rows_of(ids)
    targets = (shared.likes, shared.decisions, shared.likes_given, shared.decisions_given)
    counts = (*await reputation_counts(conn, members), *await decisions_given(conn, members))
    for array, found in zip(targets, counts, strict=True):
        array[rows] = 0.0
        for user_id, value in found.items():
            if user_id in pool:
                array[pool.row_of(user_id)] = value
    shared.facts.update(await load_standing(conn, ids, now))


async def _changed_profiles(conn: AsyncConnection[Any], since: datetime) -> list[Profile]:
    cur = await conn.execute(
        f"SELECT {PROFILE_COLUMNS} FROM profiles WHERE updated_at >= %s",
        (since - timedelta(seconds=PROFILE_OVERLAP_SECONDS),),
    )
    return [profile_from_row(r) for r in await cur.fetchall()]


async def _apply_profiles(
    conn: AsyncConnection[Any], redis: aredis.Redis, shared: SharedPool, profiles: list[Profile]
) -> None:
    """Rewrite the rows of `profiles` in place and append the new members."""
    pool = shared.pool
    known = [p for p in profiles if p.user_id in pool]
    new = [p for p in profiles if p.user_id not in pool]
    if known:
        part = await _columns(redis, known, pool.vocabulary)
        rows = pool.rows_of(p.user_id for p in known)
        for f in fields(pool.columns):
            getattr(pool.columns, f.name)[rows] = getattr(part.columns, f.name)
    if new:
        shared.pool = CandidatePool.concatenate([pool, await _columns(redis, new, pool.vocabulary)])
        grow = np.zeros(len(new))
        shared.deleted = np.concatenate([shared.deleted, np.zeros(len(new), np.bool_)])
        shared.likes = np.concatenate([shared.likes, grow])
        shared.decisions = np.concatenate([shared.decisions, grow])
        shared.likes_given = np.concatenate([shared.likes_given, grow])
        shared.decisions_given = np.concatenate([shared.decisions_given, grow])
    marks = [p.updated_at for p in profiles if p.updated_at is not None]
    shared.profile_mark = max([shared.profile_mark, *marks])


async def _touched(conn: AsyncConnection[Any], shared: SharedPool) -> set[UUID]:
    """Members in interactions or reports since the watermarks, which move on."""
    cur = await conn.execute(
        "SELECT coalesce(max(id), 0) AS mark, array_agg(actor_id) AS actors, "
        "array_agg(target_id) AS targets FROM interactions WHERE id > %s",
        (shared.interaction_mark - INTERACTION_OVERLAP_ROWS,),
    )
    row = await cur.fetchone()
    assert row is not None
    touched = set(row["actors"] or ()) | set(row["targets"] or ())
    shared.interaction_mark = max(shared.interaction_mark, int(row["mark"]))
    cur = await conn.execute(
        "SELECT max(greatest(created_at, updated_at)) AS mark, "
        "array_agg(DISTINCT reported_id) AS reported FROM reports "
        "WHERE greatest(created_at, updated_at) >= %s AND reported_id IS NOT NULL",
        (shared.report_mark,),
    )
    row = await cur.fetchone()
    assert row is not None
    touched |= set(row["reported"] or ())
    if row["mark"] is not None:
        shared.report_mark = max(shared.report_mark, row["mark"])
    return touched


async def _activity(redis: aredis.Redis, shared: SharedPool) -> None:
    since = shared.activity_mark_ms - ACTIVITY_OVERLAP_MS
    seen: Any = await redis.zrange(ACTIVITY_KEY, f"({since}", "+inf", byscore=True, withscores=True)
    pool = shared.pool
    last_active = pool.columns.last_active
    for member, score in seen:
        user_id = UUID(bytes=member)
        if user_id in pool:
            row = pool.row_of(user_id)
            last_active[row] = max(last_active[row], float(score) / 1000)
        shared.activity_mark_ms = max(shared.activity_mark_ms, float(score))


async def refresh_pool(
    conn: AsyncConnection[Any], redis: aredis.Redis, shared: SharedPool, now: datetime
) -> SharedPool:
    """`shared` brought up to date as of `now`, or a freshly loaded pool when a new key
    widens the vocabulary or deleted members' rows have piled up."""
    started = time.perf_counter()
    touched = await _touched(conn, shared)
    changed = await _changed_profiles(conn, shared.profile_mark)
    if not _fits(shared.pool.vocabulary, changed):
        logger.info("A profile uses a key the pool has no column for: loading it afresh.")
        return await load_pool(conn, redis, now)
    await _apply_profiles(conn, redis, shared, changed)
    missing = await _hide(conn, shared)
    if missing:
        cur = await conn.execute(
            f"SELECT {PROFILE_COLUMNS} FROM profiles WHERE user_id = ANY(%s)", (missing,)
        )
        late = [profile_from_row(r) for r in await cur.fetchall()]
        if not _fits(shared.pool.vocabulary, late):
            return await load_pool(conn, redis, now)
        await _apply_profiles(conn, redis, shared, late)
        await _hide(conn, shared)
        changed += late
    if shared.deleted.mean() > TOMBSTONE_SHARE_FOR_RELOAD:
        logger.info("Many members left since the pool was loaded: loading it afresh.")
        return await load_pool(conn, redis, now)
    await _activity(redis, shared)
    await _recount(conn, shared, sorted(touched | {p.user_id for p in changed}), now)
    shared.population = await load_current(conn, redis) or prior_model()
    shared.rebuild(now)
    logger.info(
        "Refreshed the candidate pool: %d profiles saved, %d members recounted, in %.3f s.",
        len(changed),
        len(touched),
        time.perf_counter() - started,
    )
    return shared


def _decisions_to_learn_from(events: Sequence[Interaction], viewer: UUID) -> list[Interaction]:
    """The viewer's likes and skips of their `DECISION_HISTORY_CAP` latest-decided
    targets: what the SQL path's decided rows let the viewer's model learn from."""
    decisions = [
        e
        for e in events
        if e.actor_id == viewer and e.kind in (InteractionKind.LIKE, InteractionKind.SKIP)
    ]
    latest: dict[Any, datetime] = {}
    for e in decisions:
        latest[e.target_id] = max(latest.get(e.target_id, e.at), e.at)
    kept = set(sorted(latest, key=lambda t: latest[t], reverse=True)[:DECISION_HISTORY_CAP])
    return [e for e in decisions if e.target_id in kept]


def _skipped_viewer(events: Sequence[Interaction], viewer: UUID) -> list[tuple[Any, UUID]]:
    """(candidate, viewer) pairs for candidates whose latest decision on the viewer is a
    skip: like the SQL path, never recommend someone who said no."""
    latest: dict[Any, Interaction] = {}
    for e in events:
        decision = e.kind in (InteractionKind.LIKE, InteractionKind.SKIP)
        if (
            e.target_id == viewer
            and decision
            and (e.actor_id not in latest or e.at >= latest[e.actor_id].at)
        ):
            latest[e.actor_id] = e
    return [(a, viewer) for a, e in latest.items() if e.kind is InteractionKind.SKIP]


async def rank_in_pool(
    conn: AsyncConnection[Any],
    shared: SharedPool,
    viewer_id: UUID,
    now: datetime,
    k: int,
    rules: FilterRules,
    exposure_cap: int = DEFAULT_DAILY_EXPOSURE_CAP,
) -> list[Match] | None:
    """The viewer's k best matches from the pool; None when the viewer has no row yet."""
    pool = shared.pool
    if viewer_id not in pool or shared.deleted[pool.row_of(viewer_id)]:
        return None
    viewer = pool.row_of(viewer_id)
    events = await viewer_events(conn, viewer_id)
    log = InteractionLog.from_events(events, pool)
    training = InteractionLog.from_events(_decisions_to_learn_from(events, viewer_id), pool)
    # A skip of the viewer separates the pair for this ranking as a block does.
    pairs = [*await viewer_blocks(conn, viewer_id), *_skipped_viewer(events, viewer_id)]
    blocks = BlockGraph.from_pairs(pairs, pool)
    now_s = now.timestamp()
    eligible = candidate_rows(pool, viewer, now_s, blocks, log, rules)
    # Only the eligible candidates' exposure today can matter: a bounded read.
    exposure = await shown_today(conn, [pool.user_ids[r] for r in eligible], now)
    shown = np.zeros(len(pool), np.int32)
    for user_id, count in exposure.items():
        shown[pool.row_of(user_id)] = count
    return await asyncio.to_thread(
        shared.rank_viewer, viewer, log, training, blocks, shown, now_s, k, rules, exposure_cap
    )


async def match_profiles_of(
    conn: AsyncConnection[Any], shared: SharedPool, user_ids: Sequence[UUID]
) -> dict[UUID, MatchProfile]:
    """The matched members' profiles (for the daily re-rank), with the pool's activity."""
    found = await get_profiles(conn, list(user_ids))
    last_active = shared.pool.columns.last_active
    return {
        u: to_match_profile(
            p, datetime.fromtimestamp(float(last_active[shared.pool.row_of(u)]), UTC), True
        )
        for u, p in found.items()
        if u in shared.pool
    }


Clock = Callable[[], float]


class PoolKeeper:
    """One process's shared pool: loaded on first use, refreshed when older than the
    given age (the process's monotonic clock)."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._pool: SharedPool | None = None
        self._refreshed = -math.inf

    @property
    def pool(self) -> SharedPool | None:
        """The pool as last loaded or refreshed; None before the first use."""
        return self._pool

    def fresh(self, max_age_seconds: float = DEFAULT_CANDIDATE_POOL_REFRESH_SECONDS) -> bool:
        """Loaded, and refreshed within `max_age_seconds`: `current` would not touch the
        databases."""
        return self._pool is not None and self._clock() - self._refreshed < max_age_seconds

    async def current(
        self,
        conn: AsyncConnection[Any],
        redis: aredis.Redis,
        now: datetime,
        max_age_seconds: float = DEFAULT_CANDIDATE_POOL_REFRESH_SECONDS,
    ) -> SharedPool:
        if self._pool is None:
            self._pool = await load_pool(conn, redis, now)
            self._refreshed = self._clock()
        elif not self.fresh(max_age_seconds):
            self._pool = await refresh_pool(conn, redis, self._pool, now)
            self._refreshed = self._clock()
        return self._pool
