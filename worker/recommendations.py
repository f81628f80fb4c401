"""The on-demand recommendations job RQ runs on phase 1's workers
(`eros.pipeline.recommendations` queues it on a recommendations cache miss).

It runs the full matcher for one user and writes the recommendations cache, so that the
user's next request is answered from it. A user without a profile (deleted meanwhile)
is nothing to compute: the job completes with that outcome.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from rq import get_current_job

from eros.core.clock import wall_ms
from eros.core.database import connect
from eros.core.recommendations import NoProfile, compute_recommendations
from eros.core.redis_client import async_redis
from eros.core.settings import Settings
from eros.worker.job import current_runtime, run_in_loop

logger = logging.getLogger(__name__)

__all__ = ["run_recommendations", "run_recommendations_job"]


async def run_recommendations(settings: Settings, user_id: UUID, now_ms: int) -> dict[str, Any]:
    if not settings.redis_url:
        raise RuntimeError("EROS_REDIS_URL is not set")
    redis = async_redis(settings.redis_url)
    try:
        async with await connect(settings) as conn:
            cached = await compute_recommendations(
                conn, redis, user_id, now_ms, settings.recommendations_cache_ttl_seconds
            )
    except NoProfile:
        logger.info("User %s has no profile: no recommendations to compute.", user_id)
        return {"outcome": "no_profile"}
    finally:
        await redis.aclose()
    return {"outcome": "completed", "cached": cached}


def run_recommendations_job(user_id: str) -> dict[str, Any]:
    if get_current_job() is None:
        raise RuntimeError("run_recommendations_job runs inside an RQ worker")
    return run_in_loop(run_recommendations(current_runtime().settings, UUID(user_id), wall_ms()))
