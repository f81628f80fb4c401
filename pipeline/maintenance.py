"""Maintenance jobs: periodic work that belongs to no user, run on phase 1's workers.

The retention job (`eros.core.retention`) is enqueued by the active scheduler once per
`retention_interval_seconds` on the maintenance queue, which phase 1's workers serve after
their own queue: it runs within phase 1's CPU budget instead of the API's, and never ahead
of a user's job. It is not counted as phase 1's demand (the operator scales workers for
idle users; one of them takes it when their queue is empty). Its id
names its interval (`maintenance-retention-<interval start, epoch ms>`), so a scheduler
restart, a takeover or a second scheduler in the same interval enqueues nothing twice;
its result is kept for one interval so that the id stays taken until the next one.

The population model's fit job (`eros.core.population_training`) follows the same
pattern, once per `model_fit_interval_seconds` (`maintenance-model-fit-<interval start>`);
it fits only when `model_fit_min_new_decisions` decisions arrived since the last version.
"""

from __future__ import annotations

import logging

import redis
from rq import Queue

from eros.core.clock import MS_PER_SECOND
from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.pipeline.rq_internals import JOB_KEY_PREFIX

logger = logging.getLogger(__name__)

__all__ = [
    "MAINTENANCE_PHASE",
    "MODEL_FIT_JOB_FUNCTION",
    "RETENTION_JOB_FUNCTION",
    "enqueue_model_fit",
    "enqueue_retention",
    "maintenance_queue",
    "model_fit_job_id",
    "retention_job_id",
]

# The phase whose workers serve the maintenance queue: the lightest budget that always runs.
MAINTENANCE_PHASE = Phase.LIGHT

# RQ imports it by name in the work horse; the scheduler never does.
RETENTION_JOB_FUNCTION = "eros.worker.maintenance.run_retention_job"
RETENTION_JOB_PREFIX = "maintenance-retention-"
MODEL_FIT_JOB_FUNCTION = "eros.worker.maintenance.run_model_fit_job"
MODEL_FIT_JOB_PREFIX = "maintenance-model-fit-"


def _interval_job_id(prefix: str, now_ms: int, interval_seconds: int) -> str:
    interval_ms = interval_seconds * MS_PER_SECOND
    return f"{prefix}{now_ms // interval_ms * interval_ms}"


def retention_job_id(now_ms: int, interval_seconds: int) -> str:
    """The id of the retention job of the interval `now_ms` falls in."""
    return _interval_job_id(RETENTION_JOB_PREFIX, now_ms, interval_seconds)


def model_fit_job_id(now_ms: int, interval_seconds: int) -> str:
    """The id of the model fit job of the interval `now_ms` falls in."""
    return _interval_job_id(MODEL_FIT_JOB_PREFIX, now_ms, interval_seconds)


def maintenance_queue(connection: redis.Redis, settings: Settings) -> Queue:
    return Queue(settings.maintenance_queue, connection=connection)


def _enqueue_once(
    connection: redis.Redis,
    settings: Settings,
    job_id: str,
    function: str,
    interval_seconds: int,
    description: str,
) -> str | None:
    if connection.exists(JOB_KEY_PREFIX + job_id):
        return None
    queue = maintenance_queue(connection, settings)
    queue.enqueue_call(
        function,
        job_id=job_id,
        timeout=settings.job_timeout_seconds,
        result_ttl=interval_seconds,
        failure_ttl=interval_seconds,
        description=description,
    )
    logger.info("Enqueued the maintenance job %s on %s.", job_id, queue.name)
    return job_id


def enqueue_retention(connection: redis.Redis, settings: Settings, now_ms: int) -> str | None:
    """Enqueue this interval's retention job unless it was; its id, or None."""
    return _enqueue_once(
        connection,
        settings,
        retention_job_id(now_ms, settings.retention_interval_seconds),
        RETENTION_JOB_FUNCTION,
        settings.retention_interval_seconds,
        "retention: prune interactions, shown history and idempotency keys",
    )


def enqueue_model_fit(connection: redis.Redis, settings: Settings, now_ms: int) -> str | None:
    """Enqueue this interval's population model fit unless it was; its id, or None."""
    return _enqueue_once(
        connection,
        settings,
        model_fit_job_id(now_ms, settings.model_fit_interval_seconds),
        MODEL_FIT_JOB_FUNCTION,
        settings.model_fit_interval_seconds,
        "model fit: the population model from recent decisions, when enough are new",
    )
