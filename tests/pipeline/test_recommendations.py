"""The on-demand recommendations job enters the maintenance queue once per user."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import redis
import redis.asyncio as aredis
from rq import Queue
from rq.job import Job

from eros.core.keys import user_jobs_key
from eros.core.settings import Settings
from eros.pipeline.recommendations import (
    RECOMMENDATIONS_JOB_FUNCTION,
    enqueue_recommendations,
    recommendations_job_id,
)


def _enqueue(redis_url: str, settings: Settings, user_id: UUID) -> bool:
    async def run() -> bool:
        client = aredis.Redis.from_url(redis_url)
        try:
            return await enqueue_recommendations(client, settings, user_id)
        finally:
            await client.aclose()

    return asyncio.run(run())


def test_a_user_has_one_recommendations_job_queued_at_a_time(
    redis_url: str, redis_client: redis.Redis, settings: Settings
) -> None:
    user, other = uuid4(), uuid4()
    assert _enqueue(redis_url, settings, user) is True
    assert _enqueue(redis_url, settings, user) is False
    assert _enqueue(redis_url, settings, other) is True

    queue = Queue(settings.maintenance_queue, connection=redis_client)
    assert queue.get_job_ids() == [recommendations_job_id(user), recommendations_job_id(other)]
    job = Job.fetch(recommendations_job_id(user), connection=redis_client)
    assert (job.func_name, job.args, job.origin) == (
        RECOMMENDATIONS_JOB_FUNCTION,
        (str(user),),
        settings.maintenance_queue,
    )
    assert job.result_ttl == 0
    assert queue.key.encode() in redis_client.smembers(Queue.redis_queues_keys)  # type: ignore[operator]


def test_a_recommendations_job_is_not_halted_by_the_users_heartbeats(
    redis_url: str, redis_client: redis.Redis, settings: Settings
) -> None:
    user = uuid4()
    _enqueue(redis_url, settings, user)
    assert not redis_client.exists(user_jobs_key(user))


def test_a_finished_job_lets_the_next_miss_queue_another(
    redis_url: str, redis_client: redis.Redis, settings: Settings
) -> None:
    user = uuid4()
    _enqueue(redis_url, settings, user)
    Job.fetch(recommendations_job_id(user), connection=redis_client).delete()
    assert _enqueue(redis_url, settings, user) is True
