"""Recovery of jobs whose worker died, without a worker: executions crafted as a dead
worker leaves them."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis
from rq.job import Job, JobStatus

from eros.core.keys import ACTIVITY_KEY, user_jobs_key
from eros.core.phase_config import from_settings
from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.pipeline.queue import JobKey, phase_queue
from eros.pipeline.recovery import RecoveryReport, recover_abandoned

STARTED_KEY = "rq:wip:eros-phase-1"


def _abandon(client: redis.Redis, settings: Settings, key: JobKey, *, expired: bool) -> str:
    """Leave the job as a SIGKILLed worker does: started, with an execution that stops
    being renewed."""
    job = Job.fetch(key.id, connection=client)
    phase_queue(client, from_settings(settings), key.phase).remove(job)
    client.hset(job.key, mapping={"status": "started", "worker_name": "dead-worker"})
    member = f"{key.id}:execution-1"
    expires_at = time.time() + (-1 if expired else 60)
    client.zadd(STARTED_KEY, {member: expires_at})
    return member


def test_a_job_whose_execution_expired_goes_back_to_the_front_of_its_queue(
    enqueue: Callable[..., JobKey], redis_client: redis.Redis, pipeline_settings: Settings
) -> None:
    abandoned = enqueue(Phase.LIGHT)
    waiting = enqueue(Phase.LIGHT)
    _abandon(redis_client, pipeline_settings, abandoned, expired=True)

    assert recover_abandoned(redis_client, pipeline_settings) == RecoveryReport(requeued=1)
    queue = phase_queue(redis_client, from_settings(pipeline_settings), Phase.LIGHT)
    assert queue.get_job_ids() == [abandoned.id, waiting.id]
    job = Job.fetch(abandoned.id, connection=redis_client)
    assert job.get_status() is JobStatus.QUEUED
    assert job.meta["lastRequeue"] == "abandoned"
    assert not redis_client.zcard(STARTED_KEY)
    # Once is enough: a second pass finds nothing.
    assert recover_abandoned(redis_client, pipeline_settings) == RecoveryReport()


def test_a_job_still_heard_from_is_left_alone(
    enqueue: Callable[..., JobKey], redis_client: redis.Redis, pipeline_settings: Settings
) -> None:
    key = enqueue(Phase.LIGHT)
    _abandon(redis_client, pipeline_settings, key, expired=False)
    assert recover_abandoned(redis_client, pipeline_settings) == RecoveryReport()
    assert Job.fetch(key.id, connection=redis_client).get_status() is JobStatus.STARTED


def test_an_abandoned_job_whose_user_came_back_is_recorded_halted_not_requeued(
    enqueue: Callable[..., JobKey], redis_client: redis.Redis, pipeline_settings: Settings
) -> None:
    key = enqueue(Phase.LIGHT)
    _abandon(redis_client, pipeline_settings, key, expired=True)
    redis_client.zadd(ACTIVITY_KEY, {key.user_id.bytes: key.idle_since_ms + 1})

    assert recover_abandoned(redis_client, pipeline_settings) == RecoveryReport(halted=1)
    job = Job.fetch(key.id, connection=redis_client)
    assert job.get_status() is JobStatus.STOPPED
    assert job.meta["halted"]["via"] == "abandoned"
    assert not redis_client.exists(user_jobs_key(key.user_id))
    assert (
        phase_queue(redis_client, from_settings(pipeline_settings), Phase.LIGHT).get_job_ids() == []
    )


def test_leftovers_of_executions_that_ended_are_cleared(
    enqueue: Callable[..., JobKey], redis_client: redis.Redis, pipeline_settings: Settings
) -> None:
    key = enqueue(Phase.LIGHT)
    _abandon(redis_client, pipeline_settings, key, expired=True)
    redis_client.hset(Job.key_for(key.id), "status", "finished")
    redis_client.zadd(STARTED_KEY, {"p1-no-such-job-1:execution-2": 1.0})
    assert recover_abandoned(redis_client, pipeline_settings) == RecoveryReport(cleared=2)
    assert not redis_client.zcard(STARTED_KEY)
