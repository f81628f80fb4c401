"""How a job that did not complete ends: halted, or put back in its queue.

Used by the work horse (it stopped by itself), by its worker (it had to be killed), and by
the scheduler's recovery (its worker died). A halted job ends `stopped` (RQ's state for a
job stopped on request) with `meta["halted"]` saying when and how, is never retried, never
reaches RQ's failed registry, and expires after `halted_job_ttl_seconds`. A requeued job
goes to the front of its queue and resumes from its checkpoint.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import redis
from rq import Queue
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.utils import now

from eros.core.keys import RECENT_HALTS_KEY, halt_key
from eros.core.settings import Settings
from eros.pipeline.halt import RECENT_HALTS_MAX
from eros.pipeline.history import record_halt_latency
from eros.pipeline.index import forget_job
from eros.pipeline.queue import JobKey
from eros.pipeline.rq_internals import started_key

logger = logging.getLogger(__name__)

HALTED_META = "halted"
REQUEUES_META = "requeues"


@dataclass(frozen=True, slots=True)
class HaltRecord:
    """When the user's heartbeat arrived, when the job stopped, and how it learned of it."""

    received_at_ms: int | None
    stopped_at_ms: int
    via: str
    # True when a heartbeat's halter asked for it: the halter counted and listed the halt.
    requested: bool

    def as_meta(self) -> dict[str, Any]:
        latency = (
            None
            if self.received_at_ms is None
            else max(0, self.stopped_at_ms - self.received_at_ms)
        )
        return {
            "receivedAtMs": self.received_at_ms,
            "stoppedAtMs": self.stopped_at_ms,
            "latencyMs": latency,
            "via": self.via,
            "requested": self.requested,
        }


def record_halt(
    connection: redis.Redis,
    settings: Settings,
    job: Job,
    record: HaltRecord,
    execution: Execution | None,
) -> None:
    key = JobKey.parse(job.id)
    job.ended_at = now()
    job.meta[HALTED_META] = record.as_meta()
    with connection.pipeline() as pipe:
        job.set_status(JobStatus.STOPPED, pipeline=pipe)
        job.save(pipeline=pipe, include_result=False)
        if execution is not None:
            execution.delete(job=job, pipeline=pipe)
        if key is not None:
            forget_job(pipe, key.user_id, job.id)
        marker = (
            record.received_at_ms if record.received_at_ms is not None else record.stopped_at_ms
        )
        pipe.set(halt_key(job.id), marker, nx=True, ex=settings.halted_job_ttl_seconds)
        pipe.expire(job.key, settings.halted_job_ttl_seconds)
        latency = record.as_meta()["latencyMs"]
        if latency is not None:
            record_halt_latency(pipe, record.stopped_at_ms, latency)
        if not record.requested:
            entry = {"job": job.id, "state": "running", "at": marker}
            pipe.lpush(RECENT_HALTS_KEY, json.dumps(entry, separators=(",", ":")))
            pipe.ltrim(RECENT_HALTS_KEY, 0, RECENT_HALTS_MAX - 1)
        pipe.execute()
    logger.info("Job %s halted (%s).", job.id, record.via)


def claim_execution(connection: redis.Redis, job: Job, execution: Execution) -> bool:
    """Take over an execution's fate; only one of its horse, worker and recovery wins."""
    return bool(connection.zrem(started_key(job.origin), execution.composite_key))


def requeue(connection: redis.Redis, job: Job, execution: Execution | None, *, reason: str) -> bool:
    """Put the job at the front of its queue; False if someone else already dealt with it."""
    if execution is not None and not claim_execution(connection, job, execution):
        return False
    job.meta[REQUEUES_META] = int(job.meta.get(REQUEUES_META, 0)) + 1
    job.meta["lastRequeue"] = reason
    job.started_at = None
    job.ended_at = None
    job.worker_name = None
    queue = Queue(job.origin, connection=connection, serializer=job.serializer)
    with connection.pipeline() as pipe:
        # RQ opens the transaction itself (MULTI) and wants to be first in the pipeline.
        queue.enqueue_job(job, pipeline=pipe, at_front=True)
        if execution is not None:
            execution.delete(job=job, pipeline=pipe)
        pipe.execute()
    logger.info("Job %s is back in its queue (%s).", job.id, reason)
    return True
