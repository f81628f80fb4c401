"""Jobs whose worker died: found by their expired execution, and run again.

A worker renews its running job's execution in RQ's started registry every
`worker_heartbeat_seconds`, for `worker_abandoned_after_seconds`. An execution past that
belongs to a worker that was killed (SIGKILL, OOM, a lost node): the scheduler's recovery
puts its job back at the front of its queue, where it resumes from its checkpoint, or
records it halted if its user came back meanwhile. Whoever removes the execution from the
registry first (the job itself, its worker, or recovery) decides its fate, so a job is
never requeued twice.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import cast

import redis
from rq.exceptions import NoSuchJobError
from rq.executions import Execution
from rq.job import Job, JobStatus

from eros.core.clock import wall_ms
from eros.core.keys import ACTIVITY_KEY, halt_key
from eros.core.phase_config import PhaseConfig, from_settings
from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.pipeline.metrics import JOBS_HALTED, JOBS_REQUEUED, phase_label
from eros.pipeline.outcome import HaltRecord, claim_execution, record_halt, requeue
from eros.pipeline.queue import JobKey
from eros.pipeline.rq_internals import execution_id as split_execution
from eros.pipeline.rq_internals import started_key

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    requeued: int = 0
    halted: int = 0
    cleared: int = 0


def _user_returned(connection: redis.Redis, job_id: str) -> tuple[bool, int | None, bool]:
    """(returned, when, whether a halter flagged it) for the job's user."""
    key = JobKey.parse(job_id)
    with connection.pipeline(transaction=False) as pipe:
        pipe.get(halt_key(job_id))
        if key is not None:
            pipe.zscore(ACTIVITY_KEY, key.user_id.bytes)
        results = pipe.execute()
    if results[0] is not None:
        return True, int(results[0]), True
    if key is not None and (results[1] is None or int(results[1]) != key.idle_since_ms):
        return True, None if results[1] is None else int(results[1]), False
    return False, None, False


def recover_phase(
    connection: redis.Redis, settings: Settings, phase: Phase, queue: str, now_s: float
) -> RecoveryReport:
    registry = started_key(queue)
    requeued = halted = cleared = 0
    expired = cast(list[bytes], connection.zrangebyscore(registry, 0, now_s))
    for raw in expired:
        member = raw.decode()
        try:
            outcome = _recover(connection, settings, phase, registry, member)
        except redis.ConnectionError:
            raise
        except Exception:
            # One unreadable job must not keep the others from being recovered.
            logger.exception("Could not recover the execution %s.", member)
            continue
        requeued += outcome == "requeued"
        halted += outcome == "halted"
        cleared += outcome == "cleared"
    return RecoveryReport(requeued, halted, cleared)


def _recover(
    connection: redis.Redis, settings: Settings, phase: Phase, registry: str, member: str
) -> str | None:
    job_id, execution_id = split_execution(member)
    execution = Execution(id=execution_id, job_id=job_id, connection=connection)
    try:
        job = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return "cleared" if connection.zrem(registry, member) else None
    if job.get_status(refresh=False) is not JobStatus.STARTED:
        # Left behind by an execution that did end; nothing to recover.
        return "cleared" if connection.zrem(registry, member) else None
    returned, received_at_ms, requested = _user_returned(connection, job_id)
    if returned:
        if not claim_execution(connection, job, execution):
            return None
        record = HaltRecord(received_at_ms, wall_ms(), via="abandoned", requested=requested)
        record_halt(connection, settings, job, record, execution)
        if not requested:
            JOBS_HALTED.labels(phase_label(phase), "running").inc()
        return "halted"
    if not requeue(connection, job, execution, reason="abandoned"):
        return None
    JOBS_REQUEUED.labels(phase_label(phase), "abandoned").inc()
    logger.warning("Job %s lost its worker; it will resume from its checkpoint.", job_id)
    return "requeued"


def recover_abandoned(
    connection: redis.Redis,
    settings: Settings,
    now_s: float | None = None,
    *,
    config: PhaseConfig | None = None,
) -> RecoveryReport:
    """Requeue (or record halted) every job whose execution expired, in every phase.

    The phases' queues are those of `config` (the one the scheduler follows), else the
    settings'.
    """
    now_s = time.time() if now_s is None else now_s
    config = config or from_settings(settings)
    total = RecoveryReport()
    for phase in Phase:
        if phase is Phase.ACTIVE:
            continue
        report = recover_phase(connection, settings, phase, config.queue(phase), now_s)
        total = RecoveryReport(
            total.requeued + report.requeued,
            total.halted + report.halted,
            total.cleared + report.cleared,
        )
    return total
