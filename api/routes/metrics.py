"""Prometheus exposition of the API process: its own registry, never the pipeline's."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from eros.api.deps import ClockDep, PhaseConfigDep, RedisDep
from eros.api.metrics import REGISTRY, USERS_PER_PHASE
from eros.core.activity import acount_users_per_phase

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    response_class=Response,
    response_model=None,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text."}},
)
async def metrics(redis: RedisDep, config: PhaseConfigDep, clock: ClockDep) -> Response:
    # Phase counts are sampled here rather than on every heartbeat: O(log n) per scrape.
    try:
        counts = await acount_users_per_phase(redis, config.idle_seconds, clock.now_ms())
    except RedisError:
        logger.warning("Could not sample users per phase for /metrics; Redis is unavailable.")
    else:
        for phase, count in enumerate(counts):
            USERS_PER_PHASE.labels(str(phase)).set(count)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
