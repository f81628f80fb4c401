"""Job identity and the atomic enqueue: deterministic ids, no duplicates, no job for a
user who is back, and the demand per phase."""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import uuid4

import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st
from rq.job import Job, JobStatus

from eros.core.keys import ACTIVITY_KEY, user_jobs_key
from eros.core.phase_config import from_settings
from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.pipeline.queue import EnqueueCounts, Enqueuer, JobKey, PhaseLoad, phase_loads


@given(
    user=st.uuids(),
    phase=st.sampled_from([Phase.LIGHT, Phase.MEDIUM, Phase.DEEP]),
    idle_since=st.integers(min_value=0, max_value=2**53),
)
def test_a_job_id_names_its_user_phase_and_idle_period(
    user: object, phase: Phase, idle_since: int
) -> None:
    key = JobKey(user, phase, idle_since)  # type: ignore[arg-type]
    assert JobKey.parse(key.id) == key


@pytest.mark.parametrize("job_id", ["", "p0-" + "a" * 32 + "-1", "p4-" + "a" * 32 + "-1", "x"])
def test_foreign_job_ids_are_not_parsed(job_id: str) -> None:
    assert JobKey.parse(job_id) is None


def test_a_job_is_enqueued_once_and_joins_its_users_halting_index(
    redis_client: redis.Redis, pipeline_settings: Settings
) -> None:
    user, idle_since = uuid4(), 1_800_000_000_000
    redis_client.zadd(ACTIVITY_KEY, {user.bytes: idle_since})
    enqueuer = Enqueuer(redis_client, pipeline_settings)
    candidates = [(user.bytes, idle_since)]
    assert enqueuer.enqueue(Phase.DEEP, candidates) == EnqueueCounts(enqueued=1)
    assert enqueuer.enqueue(Phase.DEEP, candidates) == EnqueueCounts(duplicates=1)
    assert redis_client.smembers(user_jobs_key(user)) == {
        JobKey(user, Phase.DEEP, idle_since).id.encode()
    }


def test_no_job_is_enqueued_for_a_user_active_since_the_scheduler_read_them(
    redis_client: redis.Redis, pipeline_settings: Settings
) -> None:
    user, idle_since = uuid4(), 1_800_000_000_000
    redis_client.zadd(ACTIVITY_KEY, {user.bytes: idle_since + 1})
    counts = Enqueuer(redis_client, pipeline_settings).enqueue(
        Phase.LIGHT, [(user.bytes, idle_since)]
    )
    assert counts == EnqueueCounts(returned=1)
    assert not redis_client.exists(user_jobs_key(user))


def test_the_load_of_each_phase_counts_queued_and_live_running_jobs(
    enqueue: Callable[..., JobKey], redis_client: redis.Redis, pipeline_settings: Settings
) -> None:
    enqueue(Phase.LIGHT)
    enqueue(Phase.LIGHT)
    enqueue(Phase.DEEP)
    now = time.time()
    redis_client.zadd("rq:wip:eros-phase-2", {"live:e1": now + 30, "dead:e2": now - 30})
    assert phase_loads(redis_client, from_settings(pipeline_settings), now) == [
        PhaseLoad(Phase.LIGHT, "eros-phase-1", queued=2, running=0),
        PhaseLoad(Phase.MEDIUM, "eros-phase-2", queued=0, running=1),
        PhaseLoad(Phase.DEEP, "eros-phase-3", queued=1, running=0),
    ]


def test_an_enqueued_job_is_the_job_rq_itself_would_create(
    redis_client: redis.Redis, pipeline_settings: Settings
) -> None:
    users = [(uuid4(), 1_800_000_000_000 + i) for i in range(3)]
    redis_client.zadd(ACTIVITY_KEY, {user.bytes: since for user, since in users})
    Enqueuer(redis_client, pipeline_settings).enqueue(
        Phase.MEDIUM, [(user.bytes, since) for user, since in users]
    )
    for user, since in users:
        job = Job.fetch(JobKey(user, Phase.MEDIUM, since).id, connection=redis_client)
        assert job.func_name == "eros.worker.job.run_phase_job"
        assert job.args == (str(user), 2, since)
        assert job.origin == "eros-phase-2"
        assert job.get_status() is JobStatus.QUEUED
        assert job.timeout == pipeline_settings.job_timeout_seconds
        assert job.result_ttl == pipeline_settings.job_result_ttl_seconds
        assert job.retries_left == pipeline_settings.job_retry_max
        assert job.retry_intervals == pipeline_settings.job_retry_backoff_seconds
        assert job.description == f"phase 2 work for user {user}"
