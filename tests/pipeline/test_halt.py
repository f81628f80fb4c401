"""The halt script: what a returning user's heartbeat does to their queued, waiting and
running jobs, in one round trip."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
import redis.asyncio as aredis
from rq.command import parse_payload
from rq.job import Job, JobStatus

from eros.core.keys import RECENT_HALTS_KEY, halt_key, user_jobs_key
from eros.core.phase_config import from_settings
from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.pipeline import metrics
from eros.pipeline.halt import HaltedJob, HaltMetrics, RedisHalter
from eros.pipeline.queue import JobKey, phase_queue
from eros.pipeline.rq_internals import queue_key
from tests.pipeline.fixtures import Halt

NOW_MS = 1_800_000_000_000
_COUNTED = HaltMetrics(metrics.JOBS_HALTED, metrics.HALT_LATENCY)


def test_halting_cancels_every_queued_job_of_the_user_and_only_theirs(
    halt: Halt,
    enqueue: Callable[..., JobKey],
    redis_client: redis.Redis,
    pipeline_settings: Settings,
) -> None:
    light = enqueue(Phase.LIGHT)
    medium = enqueue(Phase.MEDIUM, user_id=light.user_id, idle_since_ms=light.idle_since_ms)
    other = enqueue(Phase.LIGHT)

    halted = halt(light.user_id, NOW_MS)

    assert sorted(halted, key=lambda job: job.job_id) == sorted(
        [HaltedJob(light.id, "queued"), HaltedJob(medium.id, "queued")], key=lambda j: j.job_id
    )
    assert phase_queue(
        redis_client, from_settings(pipeline_settings), Phase.LIGHT
    ).get_job_ids() == [other.id]
    assert (
        phase_queue(redis_client, from_settings(pipeline_settings), Phase.MEDIUM).get_job_ids()
        == []
    )
    for key in (light, medium):
        assert Job.fetch(key.id, connection=redis_client).get_status() is JobStatus.CANCELED
        assert redis_client.get(halt_key(key.id)) == str(NOW_MS).encode()
        assert 0 < redis_client.ttl(Job.key_for(key.id)) <= pipeline_settings.halted_job_ttl_seconds
    assert not redis_client.exists(user_jobs_key(light.user_id))
    assert redis_client.exists(user_jobs_key(other.user_id))
    recent = [json.loads(raw) for raw in redis_client.lrange(RECENT_HALTS_KEY, 0, -1)]
    assert {entry["job"] for entry in recent} == {light.id, medium.id}
    assert {entry["at"] for entry in recent} == {NOW_MS}


def test_a_second_heartbeat_finds_nothing_left_to_halt(
    halt: Halt,
    enqueue: Callable[..., JobKey],
    redis_client: redis.Redis,
    pipeline_settings: Settings,
) -> None:
    key = enqueue()
    assert len(halt(key.user_id, NOW_MS)) == 1
    assert halt(key.user_id, NOW_MS + 1) == []


def test_a_job_waiting_for_a_retry_is_cancelled_too(
    halt: Halt,
    enqueue: Callable[..., JobKey],
    redis_client: redis.Redis,
    pipeline_settings: Settings,
) -> None:
    key = enqueue()
    queue = phase_queue(redis_client, from_settings(pipeline_settings), Phase.LIGHT)
    job = Job.fetch(key.id, connection=redis_client)
    queue.remove(job)
    job.set_status(JobStatus.SCHEDULED)
    queue.schedule_job(job, datetime.now(UTC) + timedelta(minutes=1))

    assert halt(key.user_id, NOW_MS) == [HaltedJob(key.id, "queued")]
    assert not queue.scheduled_job_registry.get_job_ids()
    assert job.get_status() is JobStatus.CANCELED


def test_a_dequeued_job_not_yet_started_is_left_to_its_start_guard(
    halt: Halt,
    enqueue: Callable[..., JobKey],
    redis_client: redis.Redis,
    pipeline_settings: Settings,
) -> None:
    key = enqueue()
    name = pipeline_settings.phase_queues[0]
    # What a worker's BLMOVE does just before the job starts.
    redis_client.lmove(queue_key(name), f"{queue_key(name)}:intermediate")
    assert halt(key.user_id, NOW_MS) == [HaltedJob(key.id, "starting")]
    assert redis_client.get(halt_key(key.id)) == str(NOW_MS).encode()


def test_a_running_job_gets_rqs_own_stop_job_command(
    halt: Halt,
    enqueue: Callable[..., JobKey],
    redis_client: redis.Redis,
    pipeline_settings: Settings,
) -> None:
    key = enqueue()
    job = Job.fetch(key.id, connection=redis_client)
    phase_queue(redis_client, from_settings(pipeline_settings), Phase.LIGHT).remove(job)
    redis_client.hset(job.key, mapping={"status": "started", "worker_name": "w1"})
    pubsub = redis_client.pubsub()  # type: ignore[no-untyped-call]
    pubsub.subscribe("rq:pubsub:w1")
    assert pubsub.get_message(timeout=1)["type"] == "subscribe"

    assert halt(key.user_id, NOW_MS) == [HaltedJob(key.id, "running")]
    message = pubsub.get_message(timeout=5)
    pubsub.close()
    assert message is not None
    assert parse_payload(message) == {"command": "stop-job", "job_id": key.id}
    # The worker records the halt once the job has stopped; until then it is running.
    assert job.get_status() is JobStatus.STARTED


def test_jobs_that_already_ended_are_not_counted(
    halt: Halt,
    enqueue: Callable[..., JobKey],
    redis_client: redis.Redis,
    pipeline_settings: Settings,
) -> None:
    key = enqueue()
    redis_client.hset(Job.key_for(key.id), "status", "finished")
    redis_client.sadd(user_jobs_key(key.user_id), "p1-gone-0")
    assert halt(key.user_id, NOW_MS) == []
    assert not redis_client.exists(user_jobs_key(key.user_id))


class _CountingRedis(aredis.Redis):
    """The real client, counting the commands it sends (each one a round trip here)."""

    sent: list[str]

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent.append(str(args[0]))
        return await super().execute_command(*args, **options)


def test_the_halt_takes_one_round_trip(
    enqueue: Callable[..., JobKey], redis_url: str, pipeline_settings: Settings
) -> None:
    key = enqueue()

    async def halt_twice() -> list[str]:
        client = _CountingRedis.from_url(redis_url)
        client.sent = []
        halter = RedisHalter(client, pipeline_settings, counted=_COUNTED)
        await halter.halt(key.user_id, NOW_MS)  # loads the script
        enqueue(user_id=key.user_id, idle_since_ms=key.idle_since_ms + 1)
        client.sent = []
        assert len(await halter.halt(key.user_id, NOW_MS)) == 1
        await client.aclose()
        return client.sent

    assert asyncio.run(halt_twice()) == ["EVALSHA"]
