"""One ErosProcessing's tick: read metrics, plan, create missing Deployments, scale, report.

Blocking code, run in a worker thread by the daemon in `handlers`. It holds what must
survive between ticks (the planner's history, the Redis connection, when it last
scaled) and talks to the world only through `Kube`, `RedisMetricsSource` and an
`emit` callback for Kubernetes Events, so that it runs the same under kopf, in tests
and in the benchmark.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kubernetes.client import ApiException

from eros.operator import prometheus
from eros.operator.kube import (
    HTTP_NOT_FOUND,
    Ensured,
    Kube,
    OwnershipConflict,
    SecretUnavailable,
)
from eros.operator.manifests import Owner, build_worker_deployment
from eros.operator.metrics_source import MetricsUnavailable, RedisMetricsSource
from eros.operator.planner import PhaseMetrics, Plan, PlannerState, plan
from eros.operator.spec import (
    DEFAULT_TICK_SECONDS,
    ProcessingSpec,
    RedisSecretRef,
    SpecError,
    parse_spec,
)
from eros.operator.status import (
    DeploymentState,
    Observation,
    Problem,
    build_status,
    invalid_spec_status,
)

logger = logging.getLogger(__name__)

MS_PER_SECOND = 1000

EventSink = Callable[[str, str, str], None]  # (type, reason, message)


def _no_events(kind: str, reason: str, message: str) -> None:
    """The event sink of a reconciler run outside kopf."""


@dataclass(frozen=True)
class TickOutcome:
    status: Mapping[str, Any]
    tick_seconds: int = DEFAULT_TICK_SECONDS  # until the next tick, from the spec


@dataclass
class Reconciler:
    """The state one ErosProcessing keeps between ticks, and the tick itself."""

    kube: Kube
    owner: Owner
    emit: EventSink = _no_events
    planner_state: PlannerState = field(default_factory=PlannerState)
    last_scale_time: datetime | None = None
    _source: RedisMetricsSource | None = field(default=None, init=False, repr=False)
    _source_ref: RedisSecretRef | None = field(default=None, init=False, repr=False)
    _degraded: bool = field(default=False, init=False)
    _invalid: str | None = field(default=None, init=False)

    def close(self) -> None:
        self._drop_source()

    def _drop_source(self) -> None:
        if self._source is not None:
            self._source.close()
        self._source = None
        self._source_ref = None

    def _metrics(self, spec: ProcessingSpec, now: datetime) -> list[PhaseMetrics]:
        if self._source is None or self._source_ref != spec.redis:
            self._drop_source()
            url = self.kube.read_secret_value(self.owner.namespace, spec.redis.name, spec.redis.key)
            self._source, self._source_ref = RedisMetricsSource(url), spec.redis
        try:
            return self._source.read(spec.phases, int(now.timestamp() * MS_PER_SECOND))
        except MetricsUnavailable:
            # Reconnect through the Secret next time: the URL may have been rotated.
            self._drop_source()
            raise

    def _ensure_missing(
        self,
        spec: ProcessingSpec,
        deployments: list[DeploymentState | None],
        desired: Sequence[int],
    ) -> Problem | None:
        """Create the Deployments that do not exist (deleted by hand, or not yet made)."""
        problem = None
        for i, phase in enumerate(spec.phases):
            if deployments[i] is not None:
                continue
            manifest = build_worker_deployment(self.owner, spec, phase, desired[i])
            try:
                result = self.kube.ensure_deployment(manifest)
            except OwnershipConflict as error:
                problem = Problem("DeploymentConflict", str(error))
                continue
            name = manifest["metadata"]["name"]
            if result.outcome is Ensured.CREATED:
                logger.info("Created worker Deployment %s/%s.", self.owner.namespace, name)
                self.emit("Normal", "Created", f"Created worker Deployment {name}.")
            deployments[i] = DeploymentState(name, result.replicas, 0)
        return problem

    def _scale(
        self,
        spec: ProcessingSpec,
        deployments: list[DeploymentState | None],
        planned: Plan,
        now: datetime,
    ) -> None:
        desired = planned.desired
        for i, phase in enumerate(spec.phases):
            current = deployments[i]
            if current is None or current.replicas == desired[i]:
                continue
            try:
                self.kube.scale_deployment(self.owner.namespace, current.name, desired[i])
            except ApiException as error:
                if error.status == HTTP_NOT_FOUND:  # deleted meanwhile; recreated next tick
                    deployments[i] = None
                    continue
                raise
            before = current.replicas
            deployments[i] = DeploymentState(current.name, desired[i], current.ready_replicas)
            self.last_scale_time = now
            self.emit(
                "Normal",
                "Scaled",
                f"Scaled {phase.name} workers ({current.name}) from {before} to {desired[i]}: "
                f"{planned.phases[i].reason.value}.",
            )
            prometheus.record_scaling(
                self.owner.namespace, self.owner.name, phase.name, before, desired[i]
            )

    def _report_degraded(self, problem: Problem | None) -> None:
        if (problem is not None) == self._degraded:
            return
        self._degraded = problem is not None
        prometheus.DEGRADED.labels(self.owner.namespace, self.owner.name).set(int(self._degraded))
        if problem is not None:
            logger.warning(
                "Metrics of %s/%s are unavailable, keeping the replicas: %s",
                self.owner.namespace,
                self.owner.name,
                problem.message,
            )
            self.emit("Warning", problem.reason, problem.message + " Replicas are kept.")
        else:
            logger.info(
                "Metrics of %s/%s are available again.", self.owner.namespace, self.owner.name
            )
            self.emit("Normal", "MetricsAvailable", "Idle users and jobs are read again.")

    def tick(
        self,
        raw_spec: Mapping[str, Any],
        generation: int | None,
        previous_status: Mapping[str, Any],
        deployments: Sequence[DeploymentState | None],
        now: datetime,
    ) -> TickOutcome:
        """One reconciliation; writes the status when it changed and returns it."""
        started = time.perf_counter()
        try:
            return self._tick(raw_spec, generation, previous_status, list(deployments), now)
        finally:
            prometheus.RECONCILE_SECONDS.labels(self.owner.namespace, self.owner.name).observe(
                time.perf_counter() - started
            )

    def _tick(
        self,
        raw_spec: Mapping[str, Any],
        generation: int | None,
        previous_status: Mapping[str, Any],
        deployments: list[DeploymentState | None],
        now: datetime,
    ) -> TickOutcome:
        try:
            spec = parse_spec(raw_spec)
        except SpecError as error:
            return self._invalid_spec(str(error), generation, previous_status, now)
        self._invalid = None
        current = [d.replicas if d else 0 for d in deployments]

        metrics: list[PhaseMetrics] | None = None
        degraded = None
        try:
            metrics = self._metrics(spec, now)
        except (SecretUnavailable, MetricsUnavailable) as error:
            reason = error.reason if isinstance(error, SecretUnavailable) else "MetricsUnavailable"
            degraded = Problem(reason, str(error))
            prometheus.ERRORS.labels(self.owner.namespace, self.owner.name, reason).inc()
        self._report_degraded(degraded)

        plan_: Plan | None = None
        desired: Sequence[int] = current
        if metrics is not None and not spec.paused:
            plan_ = plan(spec, metrics, current, self.planner_state, now)
            self.planner_state = plan_.state
            desired = plan_.desired
            prometheus.record_plan(self.owner.namespace, self.owner.name, spec, metrics, plan_)

        not_ready = None
        if not spec.paused:
            not_ready = self._ensure_missing(spec, deployments, desired)
            if plan_ is not None:
                self._scale(spec, deployments, plan_, now)
        if not_ready is None and not spec.paused and any(d is None for d in deployments):
            not_ready = Problem("DeploymentsMissing", "Some worker Deployments do not exist yet.")

        seen = Observation(
            metrics=metrics,
            plan=plan_,
            desired=tuple(desired),
            deployments=deployments,
            degraded=degraded,
            not_ready=not_ready,
        )
        status = build_status(spec, seen, previous_status, now, generation, self.last_scale_time)
        if status != previous_status:
            self.kube.patch_status(self.owner.namespace, self.owner.name, status)
        return TickOutcome(status, spec.tick_seconds)

    def _invalid_spec(
        self,
        message: str,
        generation: int | None,
        previous_status: Mapping[str, Any],
        now: datetime,
    ) -> TickOutcome:
        if self._invalid != message:
            self._invalid = message
            logger.error(
                "Spec of %s/%s is invalid: %s", self.owner.namespace, self.owner.name, message
            )
            self.emit("Warning", "InvalidSpec", message)
            prometheus.ERRORS.labels(self.owner.namespace, self.owner.name, "InvalidSpec").inc()
        status = invalid_spec_status(message, previous_status, now, generation)
        if status != previous_status:
            self.kube.patch_status(self.owner.namespace, self.owner.name, status)
        return TickOutcome(status)
