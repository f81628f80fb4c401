"""The operator's Redis: the figures the planner needs (idle users and jobs per phase) are
read from it, and the phase configuration the other components follow is published to it.

Two round trips per tick whatever the number of users: the activity index is counted
with one ZCOUNT per phase (`count_users_per_phase`), and the queue lengths and
started-job registries of all phases are read in one pipeline.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import redis
from rq import Queue
from rq.registry import StartedJobRegistry

from eros.core import phase_config
from eros.core.activity import count_users_per_phase
from eros.core.phase_config import PhaseConfig
from eros.core.redis_client import sync_redis
from eros.operator.planner import PhaseMetrics
from eros.operator.spec import PhaseSpec

logger = logging.getLogger(__name__)

# A metrics read must never outlast a tick by much: fail fast and report Degraded.
SOCKET_TIMEOUT_SECONDS = 2.0


class MetricsUnavailable(Exception):
    """Redis could not be read; the operator keeps the replicas it has."""


@dataclass(frozen=True)
class QueueKeys:
    """The Redis keys RQ keeps a queue's waiting jobs and running jobs under."""

    queued: str
    started: str


def queue_keys(client: redis.Redis, queue: str) -> QueueKeys:
    # Asked of rq rather than spelled here, so that an rq upgrade that moves them is
    # followed. Queue.count is LLEN of .key and a registry's count is ZCARD of .key;
    # they are read directly only to batch them (the registry's own count would also
    # clean up abandoned jobs, which is the workers' business, not a reader's).
    return QueueKeys(
        queued=Queue(queue, connection=client).key,
        started=StartedJobRegistry(queue, connection=client).key,
    )


class RedisMetricsSource:
    """Reads the figures of one ErosProcessing's phases from one Redis."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._client = sync_redis(url, socket_timeout=SOCKET_TIMEOUT_SECONDS)
        self._keys: dict[str, QueueKeys] = {}

    def close(self) -> None:
        self._client.close()

    def _keys_of(self, queue: str) -> QueueKeys:
        if queue not in self._keys:
            self._keys[queue] = queue_keys(self._client, queue)
        return self._keys[queue]

    def read(self, phases: Sequence[PhaseSpec], now_ms: int) -> list[PhaseMetrics]:
        """Idle users, queued and running jobs of every phase, at `now_ms`."""
        thresholds = [phase.idle_after_seconds for phase in phases]
        try:
            users = count_users_per_phase(self._client, thresholds, now_ms)
            with self._client.pipeline(transaction=False) as pipe:
                for phase in phases:
                    keys = self._keys_of(phase.queue)
                    pipe.llen(keys.queued)
                    pipe.zcard(keys.started)
                jobs = [int(n) for n in pipe.execute()]
        except redis.RedisError as error:
            raise MetricsUnavailable(
                f"Redis at {redact_url(self.url)} is unreachable: {error}"
            ) from error
        # Index 0 of the user counts is the active users, who need no worker.
        return [
            PhaseMetrics(
                idle_users=users[i + 1], queued_jobs=jobs[2 * i], running_jobs=jobs[2 * i + 1]
            )
            for i in range(len(phases))
        ]

    def publish(self, config: PhaseConfig) -> bool:
        """Publish the phase configuration; True when it differs from what was published."""
        try:
            return phase_config.publish(self._client, config)
        except redis.RedisError as error:
            raise MetricsUnavailable(
                f"Redis at {redact_url(self.url)} is unreachable: {error}"
            ) from error

    def withdraw(self, source: str) -> None:
        """Remove the configuration `source` published: its resource is being deleted."""
        try:
            phase_config.withdraw(self._client, source)
        except redis.RedisError as error:
            logger.warning(
                "Could not withdraw the phase configuration of %s: %s; the components keep "
                "following it until another resource publishes one.",
                source,
                error,
            )


def redact_url(url: str) -> str:
    """The URL without its password, fit for logs and the status."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user + ':***@' if user else '***@'}{host}"
