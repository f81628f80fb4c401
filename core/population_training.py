"""Fitting the population model from real decisions in PostgreSQL.

`refit` is the fit job's body (`eros.worker.maintenance`): it does nothing until
`min_new_decisions` likes and skips arrived since the current version, then reads the
newest `TRAINING_DECISION_CAP` of them (a bounded read, whatever the table's size) with
the profiles of everyone involved, turns them into the matcher's training examples with
`training_set` (pure), fits `fit_population_model` and stores the next version
(`eros.core.population_model`). Features come from the same function the ranking's
`training_examples` uses (`pair_features`, tested equal), so the weights mean the same
thing where they are applied.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import numpy as np
import redis.asyncio as aredis
from numpy.typing import NDArray
from psycopg import AsyncConnection

from eros.core.matching import (
    CandidatePool,
    Interaction,
    InteractionKind,
    InteractionLog,
    MatchProfile,
    PreferenceModel,
    Reputation,
    fit_population_model,
)
from eros.core.matching.features import N_FEATURES, pair_features
from eros.core.population_model import ModelVersion, current_version, save_version
from eros.core.profiles import PROFILE_COLUMNS, profile_from_row
from eros.core.recommendation_inputs import last_active_of, to_match_profile, vocabulary_of

logger = logging.getLogger(__name__)

__all__ = [
    "TRAINING_DECISION_CAP",
    "FitOutcome",
    "TrainingSet",
    "count_new_decisions",
    "refit",
    "training_set",
]

TRAINING_DECISION_CAP = 200_000
"""Most decisions (newest first) one fit reads: bounds its time and memory (about 7 s of
one core and 130 MB at the cap, docs/benchmarks.md)."""

Float64 = NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class TrainingSet:
    features: Float64  # (examples, N_FEATURES)
    liked: NDArray[np.bool_]  # (examples,)
    user_index: NDArray[np.int64]  # (examples,) which user, 0..users-1, made each decision

    @property
    def examples(self) -> int:
        return int(self.liked.shape[0])

    @property
    def users(self) -> int:
        return int(self.user_index.max()) + 1 if self.examples else 0


@dataclass(frozen=True, slots=True)
class FitOutcome:
    new_decisions: int  # counted up to the threshold only
    version: ModelVersion | None  # None: not fitted (too few new decisions, or no examples)


def training_set(
    profiles: Sequence[MatchProfile], decisions: Sequence[Interaction], now: datetime
) -> TrainingSet:
    """Every decider's examples, as `training_examples` builds one viewer's for ranking.

    The same `pair_features` over every (decider, target) pair at once: one call instead
    of one per decider (77 s -> 6 s at the cap). Decisions by or on someone without
    a profile are dropped; each pair counts by its latest decision; each target's
    reputation leaves the decider's own decision out.
    """
    if not profiles:
        return _empty()
    pool = CandidatePool.from_profiles(profiles, vocabulary_of(profiles))
    log = InteractionLog.from_events(decisions, pool)
    keep = (log.decision_actor < len(pool)) & (log.decision_target < len(pool))
    actors, targets = log.decision_actor[keep], log.decision_target[keep]
    liked = log.decision_liked[keep]
    if actors.shape[0] == 0:
        return _empty()
    reputation = Reputation.from_log(log, len(pool))
    cols = pool.columns
    _, x = pair_features(
        cols.take(actors),
        cols.take(targets),
        now.timestamp(),
        reputation.logit_leaving_out(targets, liked),
    )
    _, user_index = np.unique(actors, return_inverse=True)
    return TrainingSet(x, liked == 1, user_index.astype(np.int64))


def _empty() -> TrainingSet:
    return TrainingSet(np.empty((0, N_FEATURES)), np.empty(0, np.bool_), np.empty(0, np.int64))


def fit(examples: TrainingSet) -> PreferenceModel:
    return fit_population_model(examples.features, examples.liked, examples.user_index)


async def count_new_decisions(conn: AsyncConnection[Any], since_id: int, up_to: int) -> int:
    """Likes and skips recorded after interaction `since_id`, counted up to `up_to` only."""
    cur = await conn.execute(
        "SELECT count(*) AS n FROM (SELECT 1 FROM interactions WHERE id > %s "
        "AND kind IN ('like', 'skip') LIMIT %s) recent",
        (since_id, up_to),
    )
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


async def _decisions(
    conn: AsyncConnection[Any], cap: int
) -> tuple[list[Interaction], int, list[UUID]]:
    """The newest `cap` likes and skips, the id of the newest (0: none), and everyone
    they involve."""
    cur = await conn.execute(
        "SELECT id, actor_id, target_id, kind, occurred_at FROM interactions "
        "WHERE kind IN ('like', 'skip') ORDER BY id DESC LIMIT %s",
        (cap,),
    )
    rows = await cur.fetchall()
    events = [
        Interaction(
            r["actor_id"], r["target_id"], InteractionKind[r["kind"].upper()], r["occurred_at"]
        )
        for r in reversed(rows)
    ]
    people: set[UUID] = {r["actor_id"] for r in rows} | {r["target_id"] for r in rows}
    return events, (rows[0]["id"] if rows else 0), list(people)


async def _profiles(
    conn: AsyncConnection[Any], redis: aredis.Redis, ids: list[UUID]
) -> list[MatchProfile]:
    cur = await conn.execute(
        f"SELECT {PROFILE_COLUMNS} FROM profiles p WHERE p.user_id = ANY(%s)", (ids,)
    )
    profiles = [profile_from_row(row) for row in await cur.fetchall()]
    last_active = await last_active_of(redis, profiles)
    return [to_match_profile(p, seen, True) for p, seen in zip(profiles, last_active, strict=True)]


async def refit(
    conn: AsyncConnection[Any],
    redis: aredis.Redis,
    now: datetime,
    *,
    min_new_decisions: int,
    cap: int = TRAINING_DECISION_CAP,
    stop_if_asked: Callable[[], None] = lambda: None,
) -> FitOutcome:
    """Fit and store the next version when enough new decisions arrived since the last."""
    current = await current_version(conn)
    since = current.last_decision_id if current else 0
    new = await count_new_decisions(conn, since, min_new_decisions)
    if new < min_new_decisions:
        logger.info(
            "Population model not refitted: %d new decisions, %d needed.", new, min_new_decisions
        )
        return FitOutcome(new, None)
    started = time.perf_counter()
    decisions, newest, people = await _decisions(conn, cap)
    profiles = await _profiles(conn, redis, people)
    stop_if_asked()
    examples = await asyncio.to_thread(training_set, profiles, decisions, now)
    if not examples.examples:
        logger.info("Population model not refitted: no decision between two profiles.")
        return FitOutcome(new, None)
    model = await asyncio.to_thread(fit, examples)
    stop_if_asked()
    info = await save_version(
        conn,
        redis,
        model,
        examples=examples.examples,
        users=examples.users,
        last_decision_id=newest,
        fitted_at=now,
        fit_seconds=time.perf_counter() - started,
    )
    return FitOutcome(new, info)
