"""Builders for matcher tests: small pools of hand-made profiles, no database needed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from eros.core.matching import (
    BlockGraph,
    CandidatePool,
    InteractionLog,
    MatchContext,
    MatchProfile,
    MatchVocabulary,
    ModelTable,
    Reputation,
    prior_model,
)

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
NOW_S = NOW.timestamp()
BERLIN = (52.52, 13.405)

VOCABULARY = MatchVocabulary(
    genders=("woman", "man", "nonbinary"),
    interests=("hiking", "cooking", "music", "politics", "gaming"),
    values=("honesty", "family", "ambition"),
    communication=("directness", "humor"),
    topics=("politics", "religion", "hiking"),
)

BASE = MatchProfile(
    user_id="base",
    gender="woman",
    genders_sought=frozenset({"man"}),
    birth_date=date(1995, 6, 1),  # 30 on NOW
    age_min=25,
    age_max=40,
    last_active_at=NOW,
    latitude=BERLIN[0],
    longitude=BERLIN[1],
    max_distance_km=50.0,
    interests={"hiking": 60.0, "music": 40.0},
    values={"honesty": 90.0, "family": 50.0},
    communication_style={"directness": 50.0, "humor": 70.0},
    conversation_depth=50.0,
)


def profile(user_id: str, **changes: Any) -> MatchProfile:
    """A valid profile (a 30-year-old woman in Berlin seeking men) with `changes` applied."""
    return replace(BASE, user_id=user_id, **changes)


def man(user_id: str, **changes: Any) -> MatchProfile:
    """A man of 32 in Berlin seeking women aged 25-40."""
    fields: dict[str, Any] = {
        "gender": "man",
        "genders_sought": frozenset({"woman"}),
        "birth_date": date(1993, 1, 1),
    }
    return profile(user_id, **{**fields, **changes})


def pool_of(profiles: Sequence[MatchProfile]) -> CandidatePool:
    return CandidatePool.from_profiles(profiles, VOCABULARY)


def context(
    pool: CandidatePool,
    log: InteractionLog | None = None,
    blocks: BlockGraph | None = None,
    models: ModelTable | None = None,
) -> MatchContext:
    log = log if log is not None else InteractionLog.empty()
    none = np.zeros(0, np.int64)
    return MatchContext(
        pool=pool,
        models=models if models is not None else ModelTable.build(len(pool), prior_model()),
        reputation=Reputation.from_log(log, len(pool)),
        log=log,
        blocks=blocks if blocks is not None else BlockGraph(none, none),
    )
