"""The user-to-jobs halting index: per user, the ids of their queued and running jobs.

A heartbeat reads `EXISTS` on it in the same round trip as the activity write, so a user
with nothing pending costs nothing more. Jobs join the index atomically with their enqueue
(`eros.pipeline.queue`), leave it when they end, and the halt script (`eros.pipeline.halt`)
takes the whole set at once.
"""

from __future__ import annotations

from uuid import UUID

import redis
import redis.asyncio as aredis
from redis.client import Pipeline

from eros.core.keys import user_jobs_key

__all__ = ["forget_job", "user_jobs_key"]


def forget_job(
    connection: redis.Redis | Pipeline | aredis.client.Pipeline, user_id: UUID, job_id: str
) -> None:
    """Drop a job that ended (completed, failed for good, or halted) from its user's index;
    on an asyncio pipeline, queued for its `execute`."""
    connection.srem(user_jobs_key(user_id), job_id)
