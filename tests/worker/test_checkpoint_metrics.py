"""`eros_checkpoints_saved_total`: a job saves its checkpoints in its work horse, a fork
whose own counters die with it, so the horse tallies them in its job's hash and the worker
counts them once the horse has exited."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import redis
from prometheus_client.parser import text_string_to_metric_families
from rq.job import Job, JobStatus

from eros.core.phases import Phase
from eros.pipeline.checkpoint import CHECKPOINT_SAVES_FIELD, job_hash_key, take_checkpoint_saves
from eros.pipeline.queue import JobKey
from tests.conftest import free_port
from tests.pipeline.fixtures import Halt, wait_until
from tests.worker import cpu_work
from tests.worker.conftest import LONG_WORK, WorkerProcess


def _saved(port: int) -> float:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    except httpx.HTTPError:
        return 0.0
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "eros_checkpoints_saved_total" and sample.labels["phase"] == "1"
    )


def test_the_checkpoint_a_halted_job_saves_is_counted_by_its_worker(
    halt: Halt,
    start_worker: Callable[..., WorkerProcess],
    enqueue: Callable[..., JobKey],
    redis_client: redis.Redis,
) -> None:
    port = free_port()
    key = enqueue(Phase.LIGHT)
    start_worker(phase=1, metrics_port=port, env=LONG_WORK)
    wait_until(
        lambda: int(redis_client.get(cpu_work.progress_key(key.id)) or 0) >= 3,
        what="the job to run",
    )
    halt(key.user_id, time.time_ns() // 1_000_000)
    wait_until(
        lambda: Job.fetch(key.id, connection=redis_client).get_status() is JobStatus.STOPPED,
        what="the halt",
    )
    assert wait_until(lambda: _saved(port) >= 1, what="the worker to count the save")
    # Taken once: a job run again does not count its earlier saves twice.
    assert not redis_client.hexists(job_hash_key(key.id), CHECKPOINT_SAVES_FIELD)


def test_taking_the_saves_of_a_job_clears_them(redis_client: redis.Redis) -> None:
    key = job_hash_key("checkpoint-saves-test")
    redis_client.hincrby(key, CHECKPOINT_SAVES_FIELD, 3)
    assert take_checkpoint_saves(redis_client, "checkpoint-saves-test") == 3
    assert take_checkpoint_saves(redis_client, "checkpoint-saves-test") == 0
