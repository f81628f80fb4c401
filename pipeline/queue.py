"""Queues, one per phase, and how jobs enter them.

A job is identified by (user, phase, idle period): its id is derived from the three, and
the idle period is named by the user's last activity time. Jobs enter their queue through
one Lua script per job, pipelined by the batch, that refuses a job whose id exists and a
user whose activity moved since the scheduler read it, and adds the job to the user's
halting index in the same atomic step. See docs/pipeline.md for why that closes the race
with a heartbeat. The script's decision is stated in Python too, for `eros simulate`
(`eros.pipeline.rules.enqueue_outcomes`); tests/pipeline/test_rules.py keeps them equal.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import redis
from rq import Queue, Retry
from rq.job import Job

from eros.core.keys import ACTIVITY_KEY, user_jobs_key
from eros.core.phase_config import PhaseConfig, from_settings
from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.pipeline.rq_internals import (
    JOB_KEY_PREFIX,
    queue_key,
    started_key,
)

# RQ imports the job function by name inside the work horse; the scheduler never does.
JOB_FUNCTION = "eros.worker.job.run_phase_job"
_JOB_ID = re.compile(r"^p([1-9])-([0-9a-f]{32})-(\d+)$")

ENQUEUED = 1
DUPLICATE = 0
USER_RETURNED = -1
# Jobs per script call: the script runs alone in Redis, and a heartbeat waiting behind it
# should wait a millisecond or two, not the whole batch.
JOBS_PER_SCRIPT = 100

# KEYS: queue list, activity sorted set.
# ARGV: job key prefix, number of shared field/value pairs, the pairs, then per job: id,
# activity member (16 raw bytes), idle since (epoch ms), the user's job index, data,
# description. Per job: 1 enqueued, 0 already exists, -1 the user was active since.
_ENQUEUE_SCRIPT = """
local prefix, shared_count = ARGV[1], tonumber(ARGV[2])
local shared = {}
for i = 3, 2 + 2 * shared_count do shared[#shared + 1] = ARGV[i] end
local outcomes = {}
for i = 3 + 2 * shared_count, #ARGV, 6 do
  local id, member, since, index = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local key = prefix .. id
  local outcome = 0
  if redis.call('EXISTS', key) == 0 then
    local score = redis.call('ZSCORE', KEYS[2], member)
    if score and tonumber(score) == tonumber(since) then
      redis.call('HSET', key, 'data', ARGV[i + 4], 'description', ARGV[i + 5], unpack(shared))
      redis.call('RPUSH', KEYS[1], id)
      redis.call('SADD', index, id)
      outcome = 1
    else
      outcome = -1
    end
  end
  outcomes[#outcomes + 1] = outcome
end
return outcomes
"""


@dataclass(frozen=True, slots=True)
class JobKey:
    """What a job is about; its id is a pure function of these three."""

    user_id: UUID
    phase: Phase
    idle_since_ms: int

    @property
    def id(self) -> str:
        return f"p{int(self.phase)}-{self.user_id.hex}-{self.idle_since_ms}"

    @classmethod
    def parse(cls, job_id: str) -> JobKey | None:
        match = _JOB_ID.match(job_id)
        if match is None or int(match[1]) > max(Phase):
            return None
        return cls(UUID(hex=match[2]), Phase(int(match[1])), int(match[3]))


def phase_queue(connection: redis.Redis, config: PhaseConfig, phase: Phase) -> Queue:
    return Queue(config.queue(phase), connection=connection)


def retry_policy(settings: Settings) -> Retry | None:
    if settings.job_retry_max == 0:
        return None
    return Retry(max=settings.job_retry_max, interval=list(settings.job_retry_backoff_seconds))


@dataclass(frozen=True, slots=True)
class EnqueueCounts:
    enqueued: int = 0
    duplicates: int = 0
    returned: int = 0


def _field(value: Any) -> bytes | str:
    return value if isinstance(value, bytes | str) else str(value)


def job_hash_fields(job: Job, leave_out: tuple[str, ...] = ()) -> list[bytes | str]:
    """RQ's own job hash as HSET's field/value arguments, for a script to write."""
    return [
        item
        for name, value in job.to_dict().items()
        if value is not None and name not in leave_out
        for item in (name, _field(value))
    ]


class Enqueuer:
    """Enqueues a phase's jobs in batches, one Redis round trip per batch.

    The job hash is RQ's own (`Job.to_dict()` of a job built by `Queue.create_job`); only its
    `data` (the call's arguments) and `description` differ from one job to the next, so the
    rest is built once per batch and sent once per script call.
    """

    def __init__(self, connection: redis.Redis, settings: Settings) -> None:
        self._connection = connection
        self._settings = settings
        self._script = connection.register_script(_ENQUEUE_SCRIPT)
        self._defaults = from_settings(settings)
        self._queues: dict[str, Queue] = {}
        self._retry = retry_policy(settings)

    def _queue(self, name: str) -> Queue:
        if name not in self._queues:
            self._queues[name] = Queue(name, connection=self._connection)
        return self._queues[name]

    def build(self, key: JobKey, enqueued_at: datetime, queue: str | None = None) -> Job:
        """The job RQ would create for `key` (its hash is what the script writes)."""
        job = self._queue(queue or self._defaults.queue(key.phase)).create_job(
            JOB_FUNCTION,
            args=_job_args(key),
            job_id=key.id,
            timeout=self._settings.job_timeout_seconds,
            result_ttl=self._settings.job_result_ttl_seconds,
            description=_description(key),
            retry=self._retry,
        )
        job.enqueued_at = enqueued_at
        return job

    def enqueue(
        self, phase: Phase, candidates: Sequence[tuple[bytes, int]], queue_name: str | None = None
    ) -> EnqueueCounts:
        """Enqueue a job per (activity member, idle since) unless it exists or the user is back.

        `queue_name` is the phase's queue in the configuration the caller follows; without
        it, the settings' (tests and tools that run no operator).
        """
        if not candidates:
            return EnqueueCounts()
        queue = self._queue(queue_name or self._defaults.queue(phase))
        keys = [JobKey(UUID(bytes=member), phase, since) for member, since in candidates]
        template = self.build(keys[0], datetime.now(UTC), queue.name)
        shared = job_hash_fields(template, leave_out=("data", "description"))
        head = [JOB_KEY_PREFIX, len(shared) // 2, *shared]
        with self._connection.pipeline(transaction=False) as pipe:
            pipe.sadd(Queue.redis_queues_keys, queue.key)
            for first in range(0, len(keys), JOBS_PER_SCRIPT):
                args: list[Any] = list(head)
                for key in keys[first : first + JOBS_PER_SCRIPT]:
                    data = zlib.compress(
                        template.serializer.dumps((JOB_FUNCTION, None, _job_args(key), {}))
                    )
                    args += [
                        key.id,
                        key.user_id.bytes,
                        key.idle_since_ms,
                        user_jobs_key(key.user_id),
                        data,
                        _description(key),
                    ]
                self._script(keys=[queue.key, ACTIVITY_KEY], args=args, client=pipe)
            outcomes = [int(o) for batch in pipe.execute()[1:] for o in batch]
        return EnqueueCounts(
            enqueued=outcomes.count(ENQUEUED),
            duplicates=outcomes.count(DUPLICATE),
            returned=outcomes.count(USER_RETURNED),
        )


def _job_args(key: JobKey) -> tuple[str, int, int]:
    return (str(key.user_id), int(key.phase), key.idle_since_ms)


def _description(key: JobKey) -> str:
    return f"phase {int(key.phase)} work for user {key.user_id}"


@dataclass(frozen=True, slots=True)
class PhaseLoad:
    """Demand of one phase: jobs waiting, and jobs whose worker is alive and running them."""

    phase: Phase
    queue: str
    queued: int
    running: int


def _load_commands(config: PhaseConfig) -> list[tuple[Phase, str]]:
    return [(phase, config.queue(phase)) for phase in Phase if phase]


def queue_load_commands(pipe: Any, queue: str, now_s: float) -> None:
    """Add the two reads of one queue's load to a pipeline: its waiting jobs, and its
    executions not yet expired (an expired one belongs to a dead worker; recovery
    requeues it). The one meaning of "queued" and "running" for every reader."""
    pipe.llen(queue_key(queue))
    pipe.zcount(started_key(queue), f"({now_s}", "+inf")


def queue_loads(
    connection: redis.Redis, queues: Sequence[str], now_s: float
) -> list[tuple[int, int]]:
    """(queued, running) of each queue, in one round trip."""
    with connection.pipeline(transaction=False) as pipe:
        for name in queues:
            queue_load_commands(pipe, name, now_s)
        counts = pipe.execute()
    return [(int(counts[2 * i]), int(counts[2 * i + 1])) for i in range(len(queues))]


def phase_loads(connection: redis.Redis, config: PhaseConfig, now_s: float) -> list[PhaseLoad]:
    """Queued and running jobs per phase, in one round trip (metrics, the operator)."""
    phases = _load_commands(config)
    loads = queue_loads(connection, [name for _, name in phases], now_s)
    return [
        PhaseLoad(phase, name, queued, running)
        for (phase, name), (queued, running) in zip(phases, loads, strict=True)
    ]
