"""The on-demand recommendations job: how the API queues the full computation.

A recommendations cache miss is answered cheaply in the request (`eros.core.
recommendations`); the full matcher runs on a worker, which writes the cache. The job's
id names the user (`recommendations-<uuid hex>`), so a user has one queued or running at
a time however often they ask. It goes on the maintenance queue: phase 1's workers take
it after their own queue, on their CPU budget instead of the API's. It belongs to no idle
period, so it is not in the user's halting index: the user is active, and their
heartbeats must not halt the computation they are waiting for.

The API holds an asyncio Redis client and RQ enqueues over a blocking one, so the job's
hash is built by RQ (`Queue.create_job`, no I/O) and written by one script that refuses
an id that exists, as `eros.pipeline.queue` does for phase jobs. A finished job is
deleted at once (`result_ttl=0`) so that the next miss may queue a new one; a failed one
keeps its id for `recommendations_job_failure_ttl_seconds`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from uuid import UUID

import redis
import redis.asyncio as aredis
from rq import Queue

from eros.core.settings import Settings
from eros.pipeline.queue import job_hash_fields
from eros.pipeline.rq_internals import JOB_KEY_PREFIX

logger = logging.getLogger(__name__)

__all__ = [
    "RECOMMENDATIONS_JOB_FUNCTION",
    "enqueue_recommendations",
    "recommendations_job_id",
]

# RQ imports it by name in the work horse; the API never does.
RECOMMENDATIONS_JOB_FUNCTION = "eros.worker.recommendations.run_recommendations_job"
RECOMMENDATIONS_JOB_PREFIX = "recommendations-"

# KEYS: job hash, queue list, RQ's set of queues. ARGV: job id, then field/value pairs.
_ENQUEUE_ONCE_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], KEYS[2])
return 1
"""

# `create_job` needs a connection object and never uses it; this one never connects.
_NO_IO = redis.Redis()


def recommendations_job_id(user_id: UUID) -> str:
    return f"{RECOMMENDATIONS_JOB_PREFIX}{user_id.hex}"


async def enqueue_recommendations(client: aredis.Redis, settings: Settings, user_id: UUID) -> bool:
    """Queue the user's full computation unless one is queued or running; True if queued.
    Raises Redis' errors."""
    queue = Queue(settings.maintenance_queue, connection=_NO_IO)
    job = queue.create_job(
        RECOMMENDATIONS_JOB_FUNCTION,
        args=(str(user_id),),
        job_id=recommendations_job_id(user_id),
        timeout=settings.job_timeout_seconds,
        result_ttl=0,
        failure_ttl=settings.recommendations_job_failure_ttl_seconds,
        description=f"recommendations for user {user_id}",
    )
    job.enqueued_at = datetime.now(UTC)
    fields = job_hash_fields(job)
    queued = await client.eval(
        _ENQUEUE_ONCE_SCRIPT,
        3,
        JOB_KEY_PREFIX + job.id,
        queue.key,
        Queue.redis_queues_keys,
        job.id,
        *fields,
    )
    if queued:
        logger.info("Queued the recommendations of user %s on %s.", user_id, queue.name)
    return bool(queued)
