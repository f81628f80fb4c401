"""What EROS assumes of RQ's storage, checked against the RQ that is installed.

The enqueue and halt scripts write RQ's job hashes and queues from inside Redis
(`eros.pipeline.rq_internals` names every key they use). If an RQ upgrade changes any of
this, these tests fail before a job is lost or a halt goes unnoticed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import redis
import rq
from rq import Queue
from rq.command import send_command
from rq.job import Job, JobStatus
from rq.worker import Worker

from eros.core.keys import ACTIVITY_KEY
from eros.core.phase_config import from_settings
from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.pipeline.queue import Enqueuer, JobKey, phase_queue
from eros.pipeline.rq_internals import (
    CHECKED_RQ_VERSIONS,
    COMMAND_CHANNEL_TEMPLATE,
    JOB_KEY_PREFIX,
    execution_id,
    mark_stopped,
    mismatched_overrides,
    queue_key,
    rq_version,
    started_key,
    timestamp,
    workers_key,
)
from eros.worker.runner import PhaseWorker


def test_the_installed_rq_is_one_this_layout_was_checked_with() -> None:
    assert rq_version() in CHECKED_RQ_VERSIONS, (
        f"RQ {rq.__version__}: check eros.pipeline.rq_internals, eros.worker.runner's "
        "overrides and these tests against it, then add it to CHECKED_RQ_VERSIONS."
    )


def test_the_key_names_are_rqs(redis_client: redis.Redis) -> None:
    queue = Queue("eros-contract", connection=redis_client)
    job = queue.enqueue("builtins.len", "x")
    assert queue.key == queue_key("eros-contract")
    assert Job.key_for(job.id) == JOB_KEY_PREFIX + job.id
    assert queue.started_job_registry.key == started_key("eros-contract")
    assert redis_client.lrange(queue_key("eros-contract"), 0, -1) == [job.id.encode()]
    assert workers_key("eros-contract").endswith("eros-contract")


def test_a_job_written_by_the_enqueue_script_is_a_job_rq_reads_whole(
    redis_client: redis.Redis, settings: Settings
) -> None:
    user, since = uuid4(), 1_700_000_000_000
    redis_client.zadd(ACTIVITY_KEY, {user.bytes: since})
    key = JobKey(user, Phase.LIGHT, since)
    Enqueuer(redis_client, settings).enqueue(Phase.LIGHT, [(user.bytes, since)])

    queue = phase_queue(redis_client, from_settings(settings), Phase.LIGHT)
    ours = Job.fetch(key.id, connection=redis_client)
    theirs = queue.enqueue_call("builtins.len", args=("x",))
    assert ours.get_status() is JobStatus.QUEUED
    assert ours.origin == queue.name
    assert ours.args == (str(user), 1, since)
    assert queue.get_job_ids() == [key.id, theirs.id]
    # Every field RQ writes for a job of its own, ours has too.
    ours_fields = set(redis_client.hkeys(JOB_KEY_PREFIX + key.id))
    assert set(redis_client.hkeys(JOB_KEY_PREFIX + theirs.id)) - ours_fields <= {b"meta"}


def test_the_halt_scripts_stop_command_is_the_one_rq_sends(redis_client: redis.Redis) -> None:
    channel = COMMAND_CHANNEL_TEMPLATE % "worker-a"
    pubsub = redis_client.pubsub()
    pubsub.subscribe(channel)
    pubsub.get_message(timeout=1)
    send_command(redis_client, "worker-a", "stop-job", job_id="p1-abc-1")
    message = pubsub.get_message(timeout=1)
    pubsub.close()
    assert message is not None
    ours = {"command": "stop-job", "job_id": "p1-abc-1"}
    assert json.loads(message["data"]) == ours


def test_an_execution_member_is_the_job_and_execution_ids() -> None:
    assert execution_id("p1-abc-1:exec-9") == ("p1-abc-1", "exec-9")


def test_times_are_written_as_rq_parses_them() -> None:
    moment = datetime(2026, 12, 6, 12, 0, 1, 250000, tzinfo=UTC)
    assert rq.utils.utcparse(timestamp(moment)) == moment


def test_every_worker_override_matches_a_method_of_the_installed_rq() -> None:
    assert mismatched_overrides(PhaseWorker) == []


def test_an_override_with_other_parameters_than_rqs_is_reported() -> None:
    class Drifted(PhaseWorker):
        def perform_job(self, job: Job) -> bool:  # type: ignore[override]
            return True

    assert mismatched_overrides(Drifted) == ["perform_job takes other parameters than RQ's"]


def test_an_unlisted_override_is_reported() -> None:
    class Unlisted(PhaseWorker):
        def work(self, *args: Any, **kwargs: Any) -> bool:
            return True

    assert mismatched_overrides(Unlisted) == [
        "work overrides RQ's Worker but is not in WORKER_OVERRIDES"
    ]


def test_a_stopped_job_is_marked_where_rqs_worker_reads_it(redis_client: redis.Redis) -> None:
    worker = Worker(["eros-contract"], connection=redis_client)
    assert worker._stopped_job_id is None
    mark_stopped(worker, "p1-job")
    assert worker._stopped_job_id == "p1-job"
