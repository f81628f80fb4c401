"""Maintenance jobs: periodic work that belongs to no user, run on phase 1's workers.

The retention job (`eros.core.retention`) is enqueued by the active scheduler once per
`retention_interval_seconds` on the maintenance queue, which phase 1's workers serve after
their own queue: it runs within phase 1's CPU budget instead of the API's, and never ahead
of a user's job. It is not counted as phase 1's demand (the operator scales workers for
idle users; one of them takes it when their queue is empty). Its id
names its interval (`maintenance-retention-<interval start, epoch ms>`), so a scheduler
restart, a takeover or a second scheduler in the same interval enqueues nothing twice;
its result is kept for one interval so that the id stays taken until the next one.
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
    "RETENTION_JOB_FUNCTION",
    "enqueue_retention",
    "maintenance_queue",
    "retention_job_id",
]

# The phase whose workers serve the maintenance queue: the lightest budget that always runs.
MAINTENANCE_PHASE = Phase.LIGHT

# RQ imports it by name in the work horse; the scheduler never does.
RETENTION_JOB_FUNCTION = "eros.worker.maintenance.run_retention_job"
RETENTION_JOB_PREFIX = "maintenance-retention-"


def retention_job_id(now_ms: int, interval_seconds: int) -> str:
    """The id of the retention job of the interval `now_ms` falls in."""
    interval_ms = interval_seconds * MS_PER_SECOND
    return f"{RETENTION_JOB_PREFIX}{now_ms // interval_ms * interval_ms}"


def maintenance_queue(connection: redis.Redis, settings: Settings) -> Queue:
    return Queue(settings.maintenance_queue, connection=connection)


def enqueue_retention(connection: redis.Redis, settings: Settings, now_ms: int) -> str | None:
    """Enqueue this interval's retention job unless it was; its id, or None."""
    job_id = retention_job_id(now_ms, settings.retention_interval_seconds)
    if connection.exists(JOB_KEY_PREFIX + job_id):
        return None
    queue = maintenance_queue(connection, settings)
    queue.enqueue_call(
        RETENTION_JOB_FUNCTION,
        job_id=job_id,
        timeout=settings.job_timeout_seconds,
        result_ttl=settings.retention_interval_seconds,
        failure_ttl=settings.retention_interval_seconds,
        description="retention: prune interactions, shown history and idempotency keys",
    )
    logger.info("Enqueued the retention job %s on %s.", job_id, queue.name)
    return job_id
