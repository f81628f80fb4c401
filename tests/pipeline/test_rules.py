"""The enqueue refusal and the halt, stated in Python, decide as their Lua scripts do: one
table of cases, each run through the real script on Valkey and through the pure function.
If either changes alone, a case here fails."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import numpy as np
import pytest
import redis
from rq.job import Job, JobStatus

from eros.core.keys import ACTIVITY_KEY
from eros.core.phase_config import from_settings
from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.pipeline.queue import DUPLICATE, ENQUEUED, USER_RETURNED, Enqueuer, JobKey, phase_queue
from eros.pipeline.rq_internals import queue_key, scheduled_key
from eros.pipeline.rules import HaltAction, enqueue_outcomes, halt_actions
from tests.pipeline.fixtures import Halt

IDLE_SINCE_MS = 1_800_000_000_000
HALTED_AT_MS = IDLE_SINCE_MS + 3_600_000

# What already exists when the scheduler enqueues this user's phase 1 job.
EXISTING = ("no job", "this job", "another phase's job")
# Where the user's activity is by then, against the score they were selected by.
ACTIVITY: dict[str, int | None] = {"unchanged": 0, "later": 1, "earlier": -1, "gone": None}
ENQUEUE_CASES = list(itertools.product(EXISTING, ACTIVITY))


def _prepare_enqueue(
    client: redis.Redis, enqueuer: Enqueuer, existing: str, activity: str
) -> tuple[UUID, bool, float]:
    """Set up one case; returns the user, and the two facts the rule reads: whether this
    job's id exists, and the user's score now."""
    user = uuid4()
    client.zadd(ACTIVITY_KEY, {user.bytes: IDLE_SINCE_MS})
    if existing != "no job":
        phase = Phase.LIGHT if existing == "this job" else Phase.MEDIUM
        assert enqueuer.enqueue(phase, [(user.bytes, IDLE_SINCE_MS)]).enqueued == 1
    moved = ACTIVITY[activity]
    if moved is None:
        client.zrem(ACTIVITY_KEY, user.bytes)
    else:
        client.zadd(ACTIVITY_KEY, {user.bytes: IDLE_SINCE_MS + moved})
    exists = bool(client.exists(Job.key_for(JobKey(user, Phase.LIGHT, IDLE_SINCE_MS).id)))
    score = client.zscore(ACTIVITY_KEY, user.bytes)
    return user, exists, math.nan if score is None else float(score)


@pytest.mark.parametrize(("existing", "activity"), ENQUEUE_CASES)
def test_the_enqueue_rule_decides_as_the_enqueue_script(
    redis_client: redis.Redis, pipeline_settings: Settings, existing: str, activity: str
) -> None:
    enqueuer = Enqueuer(redis_client, pipeline_settings)
    user, exists, score = _prepare_enqueue(redis_client, enqueuer, existing, activity)

    counts = enqueuer.enqueue(Phase.LIGHT, [(user.bytes, IDLE_SINCE_MS)])
    by_script = ENQUEUED if counts.enqueued else DUPLICATE if counts.duplicates else USER_RETURNED

    assert enqueue_outcomes([exists], [score], [IDLE_SINCE_MS]).tolist() == [by_script]


def test_the_enqueue_rule_over_a_whole_batch_counts_as_the_script(
    redis_client: redis.Redis, pipeline_settings: Settings
) -> None:
    enqueuer = Enqueuer(redis_client, pipeline_settings)
    prepared = [_prepare_enqueue(redis_client, enqueuer, *case) for case in ENQUEUE_CASES]

    counts = enqueuer.enqueue(Phase.LIGHT, [(user.bytes, IDLE_SINCE_MS) for user, _, _ in prepared])
    outcomes = enqueue_outcomes(
        [exists for _, exists, _ in prepared],
        [score for _, _, score in prepared],
        np.full(len(prepared), IDLE_SINCE_MS),
    )

    assert (counts.enqueued, counts.duplicates, counts.returned) == (
        int((outcomes == ENQUEUED).sum()),
        int((outcomes == DUPLICATE).sum()),
        int((outcomes == USER_RETURNED).sum()),
    )


# Each case turns a freshly enqueued (queued, listed) phase 1 job into the state named.
Setup = Callable[[redis.Redis, Settings, Job], None]


def _unlist(client: redis.Redis, settings: Settings, job: Job) -> None:
    phase_queue(client, from_settings(settings), Phase.LIGHT).remove(job)


def _status(status: str, worker: str | None = None) -> Setup:
    def setup(client: redis.Redis, settings: Settings, job: Job) -> None:
        _unlist(client, settings, job)
        client.hset(job.key, "status", status)
        if worker is not None:
            client.hset(job.key, "worker_name", worker)

    return setup


def _dequeued(client: redis.Redis, settings: Settings, job: Job) -> None:
    # What a worker's BLMOVE does just before the job starts.
    name = queue_key(settings.phase_queues[0])
    client.lmove(name, f"{name}:intermediate")


def _waiting_for_retry(client: redis.Redis, settings: Settings, job: Job) -> None:
    queue = phase_queue(client, from_settings(settings), Phase.LIGHT)
    queue.remove(job)
    job.set_status(JobStatus.SCHEDULED)
    queue.schedule_job(job, datetime.now(UTC) + timedelta(minutes=1))


def _gone(client: redis.Redis, settings: Settings, job: Job) -> None:
    _unlist(client, settings, job)
    client.delete(job.key)


HALT_CASES: dict[str, Setup] = {
    "queued in its queue": lambda client, settings, job: None,
    "dequeued but not started": _dequeued,
    "waiting for a retry": _waiting_for_retry,
    "taken from the retry registry": _status("scheduled"),
    "running on a worker": _status("started", worker="w1"),
    "running with no worker named": _status("started"),
    "finished": _status("finished"),
    "failed": _status("failed"),
    "canceled": _status("canceled"),
    "stopped": _status("stopped"),
    "deferred": _status("deferred"),
    "gone": _gone,
}


def _listed(client: redis.Redis, job_id: str, status: str, origin: str) -> bool:
    """Whether the job is still in the list its status names."""
    if status == "queued":
        return client.lpos(queue_key(origin), job_id) is not None
    if status == "scheduled":
        return client.zscore(scheduled_key(origin), job_id) is not None
    return False


@pytest.mark.parametrize("case", list(HALT_CASES))
def test_the_halt_rule_decides_as_the_halt_script(
    halt: Halt,
    enqueue: Callable[..., JobKey],
    redis_client: redis.Redis,
    pipeline_settings: Settings,
    case: str,
) -> None:
    key = enqueue(Phase.LIGHT, idle_since_ms=IDLE_SINCE_MS)
    HALT_CASES[case](redis_client, pipeline_settings, Job.fetch(key.id, connection=redis_client))
    raw = redis_client.hget(Job.key_for(key.id), "status")
    status = raw.decode() if isinstance(raw, bytes) else ""
    listed = _listed(redis_client, key.id, status, pipeline_settings.phase_queues[0])

    by_script = {job.job_id: job.state for job in halt(key.user_id, HALTED_AT_MS)}

    assert halt_actions([status], [listed]).tolist() == [by_script.get(key.id, HaltAction.NONE)]
