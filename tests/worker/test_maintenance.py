"""The model fit job as RQ runs it: fits and reports a version, or skips when too few
decisions are new."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import redis

from eros.core.keys import POPULATION_MODEL_KEY
from eros.core.profiles import Gender
from eros.core.settings import Settings
from eros.worker.maintenance import run_model_fit
from tests.core.population_support import NOW, decide, person, save_profiles

NOW_MS = int(NOW.timestamp() * 1000)


def test_the_fit_job_stores_a_version_then_skips_until_new_decisions_arrive(
    db: psycopg.Connection[Any],
    database_url: str,
    redis_url: str,
    redis_client: redis.Redis,
    settings: Settings,
) -> None:
    settings = settings.model_copy(update={"model_fit_min_new_decisions": 4})
    women = [person(db, Gender.WOMAN, Gender.MAN) for _ in range(2)]
    men = [person(db, Gender.MAN, Gender.WOMAN) for _ in range(2)]
    save_profiles(database_url, redis_url, women + men)
    for woman in women:
        for i, man in enumerate(men):
            decide(db, woman.user_id, man.user_id, liked=bool(i))

    fitted = asyncio.run(run_model_fit(settings, NOW_MS))
    assert fitted["outcome"] == "completed"
    assert (fitted["version"], fitted["examples"], fitted["users"]) == (1, 4, 2)
    assert redis_client.exists(POPULATION_MODEL_KEY)

    assert asyncio.run(run_model_fit(settings, NOW_MS)) == {
        "outcome": "skipped",
        "newDecisions": 0,
    }
