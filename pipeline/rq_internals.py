"""Every part of RQ's storage layout that EROS relies on beyond RQ's public API.

The enqueue and halt scripts (`eros.pipeline.queue`, `eros.pipeline.halt`) write RQ's job
hashes and queue lists inside Redis, where RQ's Python code cannot run, and the status
and metrics read its registries in one round trip; they take every key name, prefix and
format from here. `tests/pipeline/test_rq_contract.py` checks each against what the
installed RQ really does, and pins the RQ versions this was checked with: an RQ upgrade
fails there first. `eros.worker.runner` overrides a few of RQ's private worker methods;
the same pin covers them.
"""

from __future__ import annotations

from datetime import datetime

import rq
from rq import Queue
from rq.command import PUBSUB_CHANNEL_TEMPLATE
from rq.job import Job
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from rq.utils import parse_composite_key, utcformat
from rq.worker_registration import WORKERS_BY_QUEUE_KEY

# The RQ releases this layout was checked against (major, minor); `pyproject.toml` allows
# `rq>=3.0,<4`.
CHECKED_RQ_VERSIONS = ((3, 0),)
JOB_KEY_PREFIX: str = Job.redis_job_namespace_prefix
QUEUE_KEY_PREFIX: str = Queue.redis_queue_namespace_prefix
# A worker's command channel; `% worker name`.
COMMAND_CHANNEL_TEMPLATE: str = PUBSUB_CHANNEL_TEMPLATE

__all__ = [
    "CHECKED_RQ_VERSIONS",
    "COMMAND_CHANNEL_TEMPLATE",
    "JOB_KEY_PREFIX",
    "QUEUE_KEY_PREFIX",
    "execution_id",
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
