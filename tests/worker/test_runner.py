"""Real `eros worker` processes running real CPU-bound jobs: completion, halting, resuming,
SIGTERM drain, SIGKILL recovery, retries and the job-start race."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import redis
from fastapi.testclient import TestClient
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry

from eros.core.clock import ManualClock
from eros.core.keys import ACTIVITY_KEY, checkpoint_key, halt_key, user_jobs_key
from eros.core.phase_config import from_settings
from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.pipeline.checkpoint import decode_checkpoint
from eros.pipeline.queue import Enqueuer, JobKey, phase_queue
from eros.pipeline.recovery import recover_abandoned
from tests.conftest import Account, RedisServer
from tests.pipeline.fixtures import Halt, wait_until
from tests.worker import cpu_work
from tests.worker.conftest import LONG_WORK, WorkerProcess

# What RQ logs when its scheduler process ends on an error.
SCHEDULER_DIED = "raised an exception"


def _status(client: redis.Redis, job_id: str) -> JobStatus:
    return Job.fetch(job_id, connection=client).get_status()


def _result(client: redis.Redis, job_id: str) -> dict[str, Any]:
    result = Job.fetch(job_id, connection=client).return_value()
    assert isinstance(result, dict)
    return result


def _progress(client: redis.Redis, job_id: str) -> int:
    return int(client.get(cpu_work.progress_key(job_id)) or 0)


def _starts(client: redis.Redis, job_id: str) -> list[int]:
    return [int(step) for step in client.lrange(cpu_work.starts_key(job_id), 0, -1)]


def _checkpoint_step(client: redis.Redis, key: JobKey) -> int:
    checkpoint = decode_checkpoint(client.get(checkpoint_key(int(key.phase), key.user_id)))
    assert checkpoint is not None
    return int(checkpoint.state["step"])


def _running(client: redis.Redis, key: JobKey, at_least: int = 3) -> None:
    wait_until(lambda: _progress(client, key.id) >= at_least, what=f"job {key.id} to run")


def test_a_job_runs_its_phase_work_to_completion(
    start_worker: Callable[..., WorkerProcess],
    enqueue: Callable[..., JobKey],
    redis_client: redis.Redis,
) -> None:
    key = enqueue(Phase.MEDIUM)
    start_worker(phase=2)
    wait_until(lambda: _status(redis_client, key.id) is JobStatus.FINISHED, what="completion")
    result = _result(redis_client, key.id)
    expected = cpu_work.expected_digest(key.user_id, cpu_work.DEFAULT_STEPS, cpu_work.DEFAULT_SPINS)
    assert result == {
        "outcome": "completed",
        "resumedFrom": None,
        "result": {"digest": expected, "steps": cpu_work.DEFAULT_STEPS},
    }
    assert not redis_client.exists(user_jobs_key(key.user_id))
    assert not redis_client.exists(checkpoint_key(int(key.phase), key.user_id))


def test_what_a_phase_work_warms_in_the_worker_process_is_inherited_by_every_horse(
    start_worker: Callable[..., WorkerProcess],
    enqueue: Callable[..., JobKey],
    redis_client: redis.Redis,
) -> None:
    keys = [enqueue(Phase.DEEP), enqueue(Phase.DEEP)]
    worker = start_worker(phase=3)
    finished = JobStatus.FINISHED
    wait_until(
        lambda: all(_status(redis_client, k.id) is finished for k in keys), what="completion"
    )
    for key in keys:
        horse = int(redis_client.get(cpu_work.pid_key(key.id)) or 0)
        warmed_by = int(redis_client.get(cpu_work.warmed_key(key.id)) or 0)
        assert warmed_by == worker.process.pid != horse


def test_a_job_with_no_registered_work_completes_saying_so(
    start_worker: Callable[..., WorkerProcess],
    enqueue: Callable[..., JobKey],
    redis_client: redis.Redis,
) -> None:
    key = enqueue(Phase.DEEP)
    start_worker(phase=3, env={"EROS_WORKER_WORK_MODULES": "[]"})
    wait_until(lambda: _status(redis_client, key.id) is JobStatus.FINISHED, what="completion")
    result = _result(redis_client, key.id)
    assert result["outcome"] == "no-work"
    assert "No work is registered for phase 3" in result["message"]
    assert not redis_client.exists(user_jobs_key(key.user_id))


def test_halting_a_running_job_stops_it_and_keeps_its_progress(
    halt: Halt,
    start_worker: Callable[..., WorkerProcess],
    enqueue: Callable[..., JobKey],
    redis_client: redis.Redis,
    pipeline_settings: Settings,
) -> None:
    key = enqueue(Phase.LIGHT)
    start_worker(phase=1, env=LONG_WORK)
    _running(redis_client, key)
    received_at = time.time_ns() // 1_000_000
    halted = halt(key.user_id, received_at)
    assert [(job.job_id, job.state) for job in halted] == [(key.id, "running")]

    wait_until(lambda: _status(redis_client, key.id) is JobStatus.STOPPED, what="the halt")
    job = Job.fetch(key.id, connection=redis_client)
    assert job.meta["halted"]["via"] == "signal"
    assert job.meta["halted"]["receivedAtMs"] == received_at
    assert job.id not in FailedJobRegistry(
        queue=phase_queue(redis_client, from_settings(pipeline_settings), Phase.LIGHT)
    )
    step = _checkpoint_step(redis_client, key)
    assert step >= 3
    # The halt cancelled the job where it was and saved its latest safe point: at most the
    # step whose trace was being written when the signal came is done again.
    assert _progress(redis_client, key.id) - 1 <= step <= _progress(redis_client, key.id)
    assert not redis_client.exists(user_jobs_key(key.user_id))


def test_a_running_job_stops_on_its_halt_flag_when_the_stop_command_is_lost(
    start_worker: Callable[..., WorkerProcess],
    enqueue: Callable[..., JobKey],
    redis_client: redis.Redis,
) -> None:
    key = enqueue(Phase.LIGHT)
    start_worker(phase=1, env=LONG_WORK)
    _running(redis_client, key)
    # What the halter leaves behind, minus the pub/sub message.
    redis_client.set(halt_key(key.id), time.time_ns() // 1_000_000)
    wait_until(lambda: _status(redis_client, key.id) is JobStatus.STOPPED, what="the halt")
    assert Job.fetch(key.id, connection=redis_client).meta["halted"]["via"] == "poll"


def test_a_running_job_stops_when_its_user_is_active_again_without_any_halter(
    start_worker: Callable[..., WorkerProcess],
    enqueue: Callable[..., JobKey],
    redis_client: redis.Redis,
) -> None:
    key = enqueue(Phase.LIGHT)
    start_worker(phase=1, env=LONG_WORK)
    _running(redis_client, key)
    redis_client.zadd(ACTIVITY_KEY, {key.user_id.bytes: time.time_ns() // 1_000_000}, gt=True)
    wait_until(lambda: _status(redis_client, key.id) is JobStatus.STOPPED, what="the halt")
    halted = Job.fetch(key.id, connection=redis_client).meta["halted"]
    assert halted["requested"] is False
    assert redis_client.lrange("eros:halts:recent", 0, -1)


def test_a_halted_job_resumes_from_its_checkpoint_in_the_users_next_idle_period(
    halt: Halt,
    start_worker: Callable[..., WorkerProcess],
    enqueue: Callable[..., JobKey],
    redis_client: redis.Redis,
    pipeline_settings: Settings,
) -> None:
    steps = 40
    env = {cpu_work.STEPS_ENV: str(steps), cpu_work.SPINS_ENV: "20000"}
    first = enqueue(Phase.LIGHT)
    start_worker(phase=1, env=env)
    _running(redis_client, first, at_least=2)
    halt(first.user_id, time.time_ns() // 1_000_000)
    wait_until(lambda: _status(redis_client, first.id) is JobStatus.STOPPED, what="the halt")
    saved = _checkpoint_step(redis_client, first)
    assert 0 < saved < steps

    # The user went away again: a new idle period, a new job, the same checkpoint.
    second = enqueue(Phase.LIGHT, user_id=first.user_id, idle_since_ms=first.idle_since_ms + 60_000)
    assert second.id != first.id
    wait_until(lambda: _status(redis_client, second.id) is JobStatus.FINISHED, what="completion")
    assert _starts(redis_client, second.id) == [saved]
    result = _result(redis_client, second.id)
    assert result["resumedFrom"] == first.id
    assert result["result"]["digest"] == cpu_work.expected_digest(first.user_id, steps, 20000)
    assert not redis_client.exists(checkpoint_key(int(Phase.LIGHT), first.user_id))


def test_sigterm_drains_the_running_job_back_to_its_queue_with_a_checkpoint(
    start_worker: Callable[..., WorkerProcess],
    enqueue: Callable[..., JobKey],
    redis_client: redis.Redis,
    pipeline_settings: Settings,
) -> None:
    key = enqueue(Phase.MEDIUM)
    worker = start_worker(phase=2, env=LONG_WORK)
    _running(redis_client, key)
    worker.send(signal.SIGTERM)
    assert worker.wait() == 0, worker.output()

    job = Job.fetch(key.id, connection=redis_client)
    assert job.get_status() is JobStatus.QUEUED
    assert job.meta["lastRequeue"] == "shutdown"
    assert phase_queue(
        redis_client, from_settings(pipeline_settings), Phase.MEDIUM
    ).get_job_ids() == [key.id]
    saved = _checkpoint_step(redis_client, key)
    assert saved == _progress(redis_client, key.id)
    # Still the user's pending job: a heartbeat now would halt it.
    assert redis_client.sismember(user_jobs_key(key.user_id), key.id)

    start_worker(phase=2, env=LONG_WORK)
    wait_until(lambda: len(_starts(redis_client, key.id)) == 2, what="the resumed run")
    assert _starts(redis_client, key.id) == [0, saved]


def test_a_sigkilled_workers_job_is_found_abandoned_and_resumes_from_its_checkpoint(
    start_worker: Callable[..., WorkerProcess],
    enqueue: Callable[..., JobKey],
    redis_client: redis.Redis,
    pipeline_settings: Settings,
) -> None:
    key = enqueue(Phase.DEEP)
    worker = start_worker(phase=3, env=LONG_WORK)
    wait_until(
        lambda: redis_client.exists(checkpoint_key(int(key.phase), key.user_id)),
        what="a periodic checkpoint",
    )
    horse = int(redis_client.get(cpu_work.pid_key(key.id)) or 0)
    # A pod killed outright: the worker and its work horse die together.
    os.killpg(worker.process.pid, signal.SIGKILL)
    os.kill(horse, signal.SIGKILL)
    worker.wait()
    assert _status(redis_client, key.id) is JobStatus.STARTED

    report = wait_until(
        lambda: recover_abandoned(redis_client, pipeline_settings).requeued,
        what="the execution to expire",
    )
    assert report == 1
    assert _status(redis_client, key.id) is JobStatus.QUEUED
    saved = _checkpoint_step(redis_client, key)
    # Only the steps since the last checkpoint are lost.
    assert 0 < saved <= _progress(redis_client, key.id)

    start_worker(phase=3, env=LONG_WORK)
    wait_until(lambda: len(_starts(redis_client, key.id)) == 2, what="the resumed run")
    assert _starts(redis_client, key.id) == [0, saved]


def test_a_work_horse_whose_worker_died_requeues_its_own_job(
    start_worker: Callable[..., WorkerProcess],
    enqueue: Callable[..., JobKey],
    redis_client: redis.Redis,
) -> None:
    key = enqueue(Phase.LIGHT)
    worker = start_worker(phase=1, env=LONG_WORK)
    _running(redis_client, key)
    worker.process.kill()
    worker.wait()
    wait_until(lambda: _status(redis_client, key.id) is JobStatus.QUEUED, what="the requeue")
    assert Job.fetch(key.id, connection=redis_client).meta["lastRequeue"] == "worker-lost"


def test_a_job_dequeued_as_its_user_returns_does_not_run(
    start_worker: Callable[..., WorkerProcess],
    enqueue: Callable[..., JobKey],
    redis_client: redis.Redis,
) -> None:
    key = enqueue(Phase.LIGHT)
    # The heartbeat lands after the dequeue, where the halter can no longer take the job out
    # of its queue: only the job's start guard stands between it and a wasted run.
    redis_client.zadd(ACTIVITY_KEY, {key.user_id.bytes: time.time_ns() // 1_000_000}, gt=True)
    start_worker(phase=1)
    wait_until(lambda: _status(redis_client, key.id) is JobStatus.STOPPED, what="the guard")
    assert Job.fetch(key.id, connection=redis_client).meta["halted"]["via"] == "start"
    assert _starts(redis_client, key.id) == []


def test_a_failing_job_is_retried_with_backoff_and_then_completes(
    start_worker: Callable[..., WorkerProcess],
    enqueue: Callable[..., JobKey],
    redis_client: redis.Redis,
) -> None:
    key = enqueue(Phase.LIGHT)
    start_worker(phase=1, env={cpu_work.FAILURES_ENV: "1"})
    wait_until(lambda: _status(redis_client, key.id) is JobStatus.FINISHED, what="the retry")
    assert int(redis_client.get(cpu_work.attempts_key(key.id)) or 0) == 2


def test_a_job_that_keeps_failing_fails_for_good_and_leaves_the_halting_index(
    start_worker: Callable[..., WorkerProcess],
    enqueue: Callable[..., JobKey],
    redis_client: redis.Redis,
    pipeline_settings: Settings,
) -> None:
    key = enqueue(Phase.LIGHT)
    start_worker(phase=1, env={cpu_work.FAILURES_ENV: "99"})
    wait_until(lambda: _status(redis_client, key.id) is JobStatus.FAILED, what="the failure")
    assert (
        int(redis_client.get(cpu_work.attempts_key(key.id)) or 0)
        == 1 + pipeline_settings.job_retry_max
    )
    assert not redis_client.exists(user_jobs_key(key.user_id))


def test_a_heartbeat_through_the_api_halts_the_running_job_and_reports_it(
    start_worker: Callable[..., WorkerProcess],
    enqueue: Callable[..., JobKey],
    redis_client: redis.Redis,
    client: TestClient,
    make_account: Callable[..., Account],
    clock: ManualClock,
) -> None:
    account = make_account()
    beat = {"appActive": True, "screenOn": True}
    assert client.post("/api/v1/heartbeat", json=beat, headers=account.headers).status_code == 200
    key = enqueue(Phase.LIGHT, user_id=UUID(account.id), idle_since_ms=clock.now_ms())
    start_worker(phase=1, env=LONG_WORK)
    _running(redis_client, key)

    clock.advance(seconds=3600)
    response = client.post("/api/v1/heartbeat", json=beat, headers=account.headers)
    assert response.json()["haltedJobs"] == 1
    wait_until(lambda: _status(redis_client, key.id) is JobStatus.STOPPED, what="the halt")
    halted = Job.fetch(key.id, connection=redis_client).meta["halted"]
    assert halted["receivedAtMs"] == clock.now_ms()
    assert halted["requested"] is True


def test_a_retry_scheduled_before_a_redis_outage_runs_once_redis_is_back(
    start_worker: Callable[..., WorkerProcess],
    redis_client: redis.Redis,
    redis_server: RedisServer,
    pipeline_settings: Settings,
) -> None:
    # Long enough for the outage to begin while the retry waits in RQ's scheduled registry.
    settings = pipeline_settings.model_copy(update={"job_retry_backoff_seconds": [5]})
    user_id, idle_since_ms = uuid4(), time.time_ns() // 1_000_000 - 3_600_000
    redis_client.zadd(ACTIVITY_KEY, {user_id.bytes: idle_since_ms})
    assert (
        Enqueuer(redis_client, settings)
        .enqueue(Phase.LIGHT, [(user_id.bytes, idle_since_ms)])
        .enqueued
        == 1
    )
    key = JobKey(user_id, Phase.LIGHT, idle_since_ms)
    worker = start_worker(phase=1, env={cpu_work.FAILURES_ENV: "1"})
    wait_until(lambda: _status(redis_client, key.id) is JobStatus.SCHEDULED, what="the retry")

    redis_server.stop()
    try:
        # RQ's scheduler process ends at its first Redis error.
        wait_until(lambda: SCHEDULER_DIED in worker.output(), what="the scheduler to stop")
    finally:
        redis_server.start()

    wait_until(lambda: _status(redis_client, key.id) is JobStatus.FINISHED, what="the retry")
    assert int(redis_client.get(cpu_work.attempts_key(key.id)) or 0) == 2
    assert "RQ's scheduler of this worker had stopped; it runs again." in worker.output()
