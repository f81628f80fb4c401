"""The on-demand recommendations job, run by a real phase-1 worker, fills the cache."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
import redis
import redis.asyncio as aredis
from rq.job import Job

from eros.core.keys import recommendations_cache_key
from eros.core.profiles import Gender, save_profile
from eros.core.settings import Settings
from eros.pipeline.recommendations import enqueue_recommendations, recommendations_job_id
from tests.core.population_support import person, with_clients
from tests.pipeline.fixtures import wait_until
from tests.worker.conftest import WorkerProcess


def test_a_phase_one_worker_computes_the_queued_recommendations_into_the_cache(
    db: psycopg.Connection[Any],
    database_url: str,
    redis_url: str,
    redis_client: redis.Redis,
    pipeline_settings: Settings,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    viewer = person(db, Gender.WOMAN, Gender.MAN)
    men = [person(db, Gender.MAN, Gender.WOMAN) for _ in range(2)]

    async def body(conn: psycopg.AsyncConnection[Any], client: aredis.Redis) -> bool:
        for profile in (viewer, *men):
            await save_profile(conn, profile, datetime.now(UTC))
        return await enqueue_recommendations(client, pipeline_settings, viewer.user_id)

    assert with_clients(database_url, redis_url, body)
    start_worker(phase=1, env={"EROS_DATABASE_URL": database_url})

    key = recommendations_cache_key(viewer.user_id)
    wait_until(lambda: redis_client.exists(key), what="the recommendations cache")
    # A finished job is gone at once, so that the next miss may queue a new one.
    job_id = recommendations_job_id(viewer.user_id)
    wait_until(lambda: not Job.exists(job_id, connection=redis_client), what="the job's end")
    assert with_clients(
        database_url,
        redis_url,
        lambda _, client: enqueue_recommendations(client, pipeline_settings, viewer.user_id),
    )
