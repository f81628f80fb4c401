"""The maintenance jobs RQ runs on phase workers (`eros.pipeline.maintenance` enqueues them).

The retention job deletes what is past its horizon (`eros.core.retention`) in batches.
It belongs to no user, so no heartbeat halts it; a worker shutting down asks it to stop,
which it does between two batches, to be requeued and carry on from where the data now
is (each batch commits by itself, so nothing is lost or done twice).

The model fit job fits the population model (`eros.core.population_training.refit`) when
enough new decisions arrived; asked to stop, it gives up the fit before storing anything,
and the next interval's job starts over.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from rq import get_current_job

from eros.core.clock import utc_from_ms, wall_ms
from eros.core.database import connect
from eros.core.population_training import refit
from eros.core.redis_client import async_redis
from eros.core.retention import cutoffs, prune
from eros.core.settings import Settings
from eros.worker import stop
from eros.worker.job import current_runtime, run_in_loop
from eros.worker.work import JobInterrupted

logger = logging.getLogger(__name__)

__all__ = ["run_model_fit", "run_model_fit_job", "run_retention", "run_retention_job"]


def _stop_if_asked() -> None:
    if stop.requested() is not stop.StopReason.NONE:
        raise JobInterrupted("shutdown")


async def run_retention(settings: Settings, now_ms: int) -> dict[str, Any]:
    async with await connect(settings) as conn:
        report = await prune(
            conn,
            cutoffs(settings, utc_from_ms(now_ms)),
            settings.retention_batch_rows,
            _stop_if_asked,
        )
    return {"outcome": "completed", "deleted": asdict(report)}


def run_retention_job() -> dict[str, Any]:
    if get_current_job() is None:
        raise RuntimeError("run_retention_job runs inside an RQ worker")
    return run_in_loop(run_retention(current_runtime().settings, wall_ms()))


async def run_model_fit(settings: Settings, now_ms: int) -> dict[str, Any]:
    if not settings.redis_url:
        raise RuntimeError("EROS_REDIS_URL is not set")
    redis = async_redis(settings.redis_url)
    try:
        async with await connect(settings) as conn:
            outcome = await refit(
                conn,
                redis,
                utc_from_ms(now_ms),
                min_new_decisions=settings.model_fit_min_new_decisions,
                stop_if_asked=_stop_if_asked,
            )
    finally:
        await redis.aclose()
    if outcome.version is None:
        return {"outcome": "skipped", "newDecisions": outcome.new_decisions}
    info = outcome.version
    return {
        "outcome": "completed",
        "version": info.version,
        "examples": info.examples,
        "users": info.users,
        "fitSeconds": round(info.fit_seconds, 3),
    }


def run_model_fit_job() -> dict[str, Any]:
    if get_current_job() is None:
        raise RuntimeError("run_model_fit_job runs inside an RQ worker")
    return run_in_loop(run_model_fit(current_runtime().settings, wall_ms()))
