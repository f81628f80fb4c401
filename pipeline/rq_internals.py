"""Every part of RQ's storage layout that EROS relies on beyond RQ's public API.

The enqueue and halt scripts (`eros.pipeline.queue`, `eros.pipeline.halt`) write RQ's job
hashes and queue lists inside Redis, where RQ's Python code cannot run, and the status
and metrics read its registries in one round trip; they take every key name, prefix and
format from here. `tests/pipeline/test_rq_contract.py` checks each against what the
installed RQ really does, and pins the RQ versions this was checked with: an RQ upgrade
fails there first. `eros.worker.runner` overrides RQ worker methods, some of them private:
`WORKER_OVERRIDES` lists them, the worker refuses to start when one no longer matches the
installed RQ, and the same pin covers them.
"""

from __future__ import annotations

import inspect
from datetime import datetime

import rq
from rq import Queue
from rq.command import PUBSUB_CHANNEL_TEMPLATE
from rq.job import Job
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from rq.utils import parse_composite_key, utcformat
from rq.worker import Worker
from rq.worker_registration import WORKERS_BY_QUEUE_KEY

# The RQ releases this layout was checked against (major, minor); `pyproject.toml` allows
# `rq>=3.0,<4`.
CHECKED_RQ_VERSIONS = ((3, 0),)
JOB_KEY_PREFIX: str = Job.redis_job_namespace_prefix
QUEUE_KEY_PREFIX: str = Queue.redis_queue_namespace_prefix
# A worker's command channel; `% worker name`.
COMMAND_CHANNEL_TEMPLATE: str = PUBSUB_CHANNEL_TEMPLATE
# RQ worker methods the phase worker overrides; the underscored ones are RQ's private API.
WORKER_OVERRIDES = frozenset(
    {
        "_finalize_failure",
        "_handle_stopped_job",
        "_install_signal_handlers",
        "clean_registries",
        "execute_job",
        "get_heartbeat_ttl",
        "handle_payload",
        "handle_warm_shutdown_request",
        "heartbeat",
        "perform_job",
        "request_stop",
        "setup_work_horse_signals",
        "stop_scheduler",
        "subscribe",
    }
)

__all__ = [
    "CHECKED_RQ_VERSIONS",
    "COMMAND_CHANNEL_TEMPLATE",
    "JOB_KEY_PREFIX",
    "QUEUE_KEY_PREFIX",
    "WORKER_OVERRIDES",
    "execution_id",
    "mark_stopped",
    "mismatched_overrides",
    "queue_key",
    "rq_version",
    "scheduled_key",
    "started_key",
    "timestamp",
    "workers_key",
]


def rq_version() -> tuple[int, int]:
    major, minor = rq.__version__.split(".")[:2]
    return int(major), int(minor)


def queue_key(name: str) -> str:
    """The list of a queue's waiting job ids."""
    return f"{QUEUE_KEY_PREFIX}{name}"


def started_key(name: str) -> str:
    """The sorted set of a queue's executions, scored by when each expires."""
    return str(StartedJobRegistry.key_template.format(name))


def scheduled_key(name: str) -> str:
    """The sorted set of a queue's jobs waiting for a retry's back-off."""
    return str(ScheduledJobRegistry.key_template.format(name))


def workers_key(name: str) -> str:
    """The set of the workers serving a queue."""
    return WORKERS_BY_QUEUE_KEY % name


def execution_id(member: str) -> tuple[str, str]:
    """(job id, execution id) of a member of a started-job registry."""
    job_id, execution = parse_composite_key(member)
    return str(job_id), str(execution)


def timestamp(moment: datetime) -> str:
    """A time as RQ stores it in a job hash (`ended_at` and the like)."""
    return str(utcformat(moment))


def mismatched_overrides(worker_class: type[Worker]) -> list[str]:
    """What in `worker_class` no longer matches RQ's `Worker`: an override that is not in
    `WORKER_OVERRIDES`, a listed one RQ no longer has, or one whose parameters differ from
    RQ's. Empty when the worker fits the installed RQ."""
    problems = []
    overridden = {
        name
        for name, value in vars(worker_class).items()
        if callable(value) and name != "__init__" and hasattr(Worker, name)
    }
    for name in sorted(overridden - WORKER_OVERRIDES):
        problems.append(f"{name} overrides RQ's Worker but is not in WORKER_OVERRIDES")
    for name in sorted(WORKER_OVERRIDES):
        if not hasattr(Worker, name):
            problems.append(f"RQ's Worker has no {name} any more")
        elif name in overridden and _parameters(getattr(Worker, name)) != _parameters(
            getattr(worker_class, name)
        ):
            problems.append(f"{name} takes other parameters than RQ's")
    return problems


def _parameters(method: object) -> list[tuple[str, object]]:
    return [(p.name, p.kind) for p in inspect.signature(method).parameters.values()]  # type: ignore[arg-type]


def mark_stopped(worker: Worker, job_id: str) -> None:
    """Tell RQ's worker that the work horse it is about to lose was stopped on purpose, as
    RQ's own stop-job command does: RQ then handles the job as stopped, not failed."""
    worker._stopped_job_id = job_id
