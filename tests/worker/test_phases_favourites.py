"""Phase 2 reads phase 1's favourites summary of the same idle period from its cache, and
computes it itself otherwise; either way its 30-day like rate becomes a pattern."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import pytest
import redis
from fastapi.testclient import TestClient

from eros.core.clock import ManualClock
from eros.core.keys import favourites_cache_key
from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.worker.phases import LightPhase, MediumPhase
from tests.conftest import Account
from tests.worker.analysis_support import act, earlier, people, run_phase

LIKE_RATE = ("favourite", "stat:recent_like_rate")


def _patterns(db: Any, user: str) -> dict[tuple[str, str], tuple[Any, ...]]:
    rows = db.execute(
        "SELECT kind, feature, weight, evidence FROM learned_patterns WHERE user_id = %s",
        (user,),
    ).fetchall()
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


def _three_likes_one_skip(client: TestClient, db: Any, clock: ManualClock) -> Account:
    viewer, hikers, gamers = people(client, db, clock, 3, 1)
    for i, hiker in enumerate(hikers):
        act(db, viewer, hiker, "like", earlier(clock, 50 - i))
    act(db, viewer, gamers[0], "skip", earlier(clock, 40))
    return viewer


def test_phase_2_takes_the_like_rate_from_phase_1s_cache_of_the_same_idle_period(
    client: TestClient, db: Any, clock: ManualClock, redis_client: redis.Redis, settings: Settings
) -> None:
    viewer = _three_likes_one_skip(client, db, clock)
    idle = earlier(clock, 10)
    run_phase(LightPhase(), redis_client, settings, viewer, Phase.LIGHT, idle)
    # Rewritten, so that only a read of the cache can explain the rate phase 2 learns.
    key = favourites_cache_key(UUID(viewer.id))
    entry = json.loads(redis_client.get(key) or b"{}")
    entry["summary"] = {"like": 1, "skip": 4}
    redis_client.set(key, json.dumps(entry))
    result = run_phase(MediumPhase(), redis_client, settings, viewer, Phase.MEDIUM, idle)
    assert result is not None and result["favourites"] == "cache"
    assert _patterns(db, viewer.id)[LIKE_RATE] == (pytest.approx(0.2), 5)


def test_phase_2_computes_the_like_rate_itself_when_the_cache_is_of_another_idle_period(
    client: TestClient, db: Any, clock: ManualClock, redis_client: redis.Redis, settings: Settings
) -> None:
    viewer = _three_likes_one_skip(client, db, clock)
    run_phase(LightPhase(), redis_client, settings, viewer, Phase.LIGHT, earlier(clock, 20))
    idle = earlier(clock, 10)
    result = run_phase(MediumPhase(), redis_client, settings, viewer, Phase.MEDIUM, idle)
    assert result is not None and result["favourites"] == "database"
    assert _patterns(db, viewer.id)[LIKE_RATE] == (pytest.approx(0.75), 4)


def test_a_user_without_recent_decisions_learns_no_like_rate(
    client: TestClient, db: Any, clock: ManualClock, redis_client: redis.Redis, settings: Settings
) -> None:
    viewer, _, _ = people(client, db, clock, 1, 0)
    idle = earlier(clock, 10)
    run_phase(MediumPhase(), redis_client, settings, viewer, Phase.MEDIUM, idle)
    assert LIKE_RATE not in _patterns(db, viewer.id)
