"""The operator's Redis: the figures the planner needs (idle users and jobs per phase) are
read from it, and the phase configuration the other components follow is published to it.

Two round trips per tick whatever the number of users: the activity index is counted
with one ZCOUNT per phase (`count_users_per_phase`), and the queued and running jobs of
all phases are read in one pipeline, with the pipeline's own meaning of both
(`eros.pipeline.queue.queue_loads`: an expired execution belongs to a dead worker and is
not running).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import redis

from eros.core import phase_config
from eros.core.activity import count_users_per_phase
from eros.core.clock import MS_PER_SECOND
from eros.core.phase_config import PhaseConfig
from eros.core.redis_client import sync_redis
from eros.operator.forecast_source import CrossingForecaster
from eros.operator.planner import PhaseMetrics
from eros.operator.spec import PhaseSpec
from eros.pipeline.operator_plan import OperatorPlanRecord, publish_plan
from eros.pipeline.queue import queue_loads

logger = logging.getLogger(__name__)

# A metrics read must never outlast a tick by much: fail fast and report Degraded.
SOCKET_TIMEOUT_SECONDS = 2.0


class MetricsUnavailable(Exception):
    """Redis could not be read; the operator keeps the replicas it has."""


class RedisMetricsSource:
    """Reads the figures of one ErosProcessing's phases from one Redis."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._client = sync_redis(url, socket_timeout=SOCKET_TIMEOUT_SECONDS)

    def close(self) -> None:
        self._client.close()

    def read(self, phases: Sequence[PhaseSpec], now_ms: int) -> list[PhaseMetrics]:
        """Idle users, queued and running jobs of every phase, at `now_ms`."""
        thresholds = [phase.idle_after_seconds for phase in phases]
        try:
            users = count_users_per_phase(self._client, thresholds, now_ms)
            loads = queue_loads(
                self._client, [phase.queue for phase in phases], now_ms / MS_PER_SECOND
            )
        except redis.RedisError as error:
            raise MetricsUnavailable(
                f"Redis at {redact_url(self.url)} is unreachable: {error}"
            ) from error
        # Index 0 of the user counts is the active users, who need no worker.
        return [
            PhaseMetrics(idle_users=users[i + 1], queued_jobs=queued, running_jobs=running)
            for i, (queued, running) in enumerate(loads)
        ]

    def expected_crossings(
        self,
        forecaster: CrossingForecaster,
        phases: Sequence[PhaseSpec],
        horizon_seconds: float,
        now_ms: int,
        hour: int,
    ) -> tuple[float, ...]:
        """Predictive pre-scaling: per phase, the users expected to cross into it within
        the horizon (two more round trips, over the score ranges near the thresholds)."""
        thresholds = [phase.idle_after_seconds for phase in phases]
        try:
            return forecaster.expected(self._client, thresholds, horizon_seconds, now_ms, hour)
        except redis.RedisError as error:
            raise MetricsUnavailable(
                f"Redis at {redact_url(self.url)} is unreachable: {error}"
            ) from error

    def publish(self, config: PhaseConfig) -> bool:
        """Publish the phase configuration; True when it differs from what was published."""
        try:
            return phase_config.publish(self._client, config)
        except redis.RedisError as error:
            raise MetricsUnavailable(
                f"Redis at {redact_url(self.url)} is unreachable: {error}"
            ) from error

    def publish_plan(self, record: OperatorPlanRecord) -> None:
        """Publish the tick's plan for the console; a failure only costs the console a tick."""
        try:
            publish_plan(self._client, record)
        except redis.RedisError as error:
            logger.warning("Could not publish the operator's plan: %s", error)

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
