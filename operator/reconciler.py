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
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from kubernetes.client import ApiException

from eros.core.clock import MS_PER_SECOND
from eros.operator import prometheus
from eros.operator.forecast_source import CrossingForecaster
from eros.operator.kube import (
    HTTP_CONFLICT,
    HTTP_NOT_FOUND,
    HTTP_UNPROCESSABLE,
    Ensured,
    EnsureResult,
    OwnershipConflict,
    SecretUnavailable,
)
from eros.operator.manifests import Owner, build_worker_deployment, desired_template_hash
from eros.operator.metrics_source import MetricsUnavailable, RedisMetricsSource
from eros.operator.planner import PhaseMetrics, Plan, PlannerState, plan
from eros.operator.publication import build_phase_config, build_plan_record
from eros.operator.spec import (
    DEFAULT_TICK_SECONDS,
    ProcessingSpec,
    RedisSecretRef,
    SpecError,
    parse_spec,
)
from eros.operator.status import (
    INVALID_SPEC_REASON,
    DeploymentState,
    Observation,
    Problem,
    build_status,
    invalid_spec_status,
)

logger = logging.getLogger(__name__)

# A patch that lost a race (a changed resourceVersion fails its test op) is retried next tick.
RETRY_NEXT_TICK = frozenset({HTTP_CONFLICT, HTTP_UNPROCESSABLE})
CONFLICT_REASON = "DeploymentConflict"

EventSink = Callable[[str, str, str], None]  # (type, reason, message)


class Workers(Protocol):
    """Where the workers run: Deployments in a cluster (`eros.operator.kube.Kube`), or
    processes on one machine (`eros dev`). One planner and one tick drive both."""

    def read_secret_value(self, namespace: str, name: str, key: str) -> str: ...

    def ensure_deployment(self, desired: Mapping[str, Any]) -> EnsureResult: ...

    def scale_deployment(self, namespace: str, name: str, replicas: int) -> None: ...

    def patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> None: ...


def _no_events(kind: str, reason: str, message: str) -> None:
    """The event sink of a reconciler run outside kopf."""


def _pending_problem(spec: ProcessingSpec, pending: Sequence[str]) -> Problem | None:
    if not pending:
        return None
    phases = ", ".join(pending)
    if spec.paused:
        return Problem(
            "ChangesPending",
            f"spec.paused is true, so the Deployments of {phases} do not match the resource; "
            "they are brought in line when it is resumed.",
        )
    return Problem("Updating", f"The Deployments of {phases} are being brought in line.")


@dataclass(frozen=True)
class TickOutcome:
    status: Mapping[str, Any]
    tick_seconds: int = DEFAULT_TICK_SECONDS  # until the next tick, from the spec
    # What a person must fix (not what the next ticks resolve by themselves), for /healthz.
    problem: Problem | None = None


@dataclass
class Reconciler:
    """The state one ErosProcessing keeps between ticks, and the tick itself."""

    kube: Workers
    owner: Owner
    emit: EventSink = _no_events
    planner_state: PlannerState = field(default_factory=PlannerState)
    last_scale_time: datetime | None = None
    _source: RedisMetricsSource | None = field(default=None, init=False, repr=False)
    _source_ref: RedisSecretRef | None = field(default=None, init=False, repr=False)
    _degraded: Problem | None = field(default=None, init=False)
    _invalid: str | None = field(default=None, init=False)
    _forecaster: CrossingForecaster | None = field(default=None, init=False, repr=False)

    def close(self) -> None:
        self._drop_source()

    def retire(self) -> None:
        """The resource is being deleted: withdraw its configuration, then close."""
        if self._source is not None:
            self._source.withdraw(f"{self.owner.namespace}/{self.owner.name}")
        self.close()

    def _publish(self, spec: ProcessingSpec, generation: int | None) -> None:
        """Publish the phase configuration for the scheduler, the API and the workers."""
        if self._source is None:
            return
        config = build_phase_config(spec, self.owner, generation)
        if self._source.publish(config):
            logger.info(
                "Published the phase configuration of %s/%s, generation %s.",
                self.owner.namespace,
                self.owner.name,
                generation,
            )
            self.emit(
                "Normal",
                "ConfigPublished",
                f"The scheduler, the API and the workers follow generation {generation}.",
            )

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
        now_ms = int(now.timestamp() * MS_PER_SECOND)
        try:
            metrics = self._source.read(spec.phases, now_ms)
            if not spec.predictive.enabled:
                self._forecaster = None  # a later enabling learns from fresh counts
                return metrics
            if self._forecaster is None:
                self._forecaster = CrossingForecaster(f"{self.owner.namespace}/{self.owner.name}")
            hour = now.astimezone(ZoneInfo(spec.off_peak.time_zone)).hour
            crossings = self._source.expected_crossings(
                self._forecaster, spec.phases, spec.predictive_horizon_seconds, now_ms, hour
            )
            return [
                replace(m, expected_crossings=c) for m, c in zip(metrics, crossings, strict=True)
            ]
        except MetricsUnavailable:
            # Reconnect through the Secret next time: the URL may have been rotated.
            self._drop_source()
            raise

    def _ensure(
        self,
        spec: ProcessingSpec,
        deployments: list[DeploymentState | None],
        desired: Sequence[int],
    ) -> Problem | None:
        """Create the missing Deployments and patch those whose template is not the spec's.

        The update handler patches templates as soon as the spec changes; this catches what
        it could not (a conflict, a Deployment deleted or recreated by hand) on the next tick.
        """
        problem = None
        for i, phase in enumerate(spec.phases):
            want = desired_template_hash(self.owner, spec, phase)
            current = deployments[i]
            if current is not None and current.template_hash == want:
                continue
            manifest = build_worker_deployment(self.owner, spec, phase, desired[i])
            name = manifest["metadata"]["name"]
            try:
                result = self.kube.ensure_deployment(manifest)
            except OwnershipConflict as error:
                problem = Problem(CONFLICT_REASON, str(error))
                continue
            except ApiException as error:
                if error.status not in RETRY_NEXT_TICK:
                    raise
                # Someone else (the update handler, a person) changed it meanwhile.
                problem = problem or Problem(
                    "Updating", f"Deployment {name} changed while it was patched; retrying."
                )
                continue
            if result.outcome is Ensured.CREATED:
                logger.info("Created worker Deployment %s/%s.", self.owner.namespace, name)
                self.emit("Normal", "Created", f"Created worker Deployment {name}.")
            elif result.outcome is Ensured.PATCHED:
                logger.info("Updated worker Deployment %s/%s.", self.owner.namespace, name)
            deployments[i] = DeploymentState(
                name,
                result.replicas,
                current.ready_replicas if current else 0,
                phase.cpu_per_worker_millicores,
                want,
            )
        return problem

    def _pending(
        self, spec: ProcessingSpec, deployments: Sequence[DeploymentState | None]
    ) -> list[str]:
        """The phases whose Deployment is missing or was made from another spec."""
        return [
            phase.name
            for phase, deployment in zip(spec.phases, deployments, strict=True)
            if deployment is None
            or deployment.template_hash != desired_template_hash(self.owner, spec, phase)
        ]

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
            deployments[i] = replace(current, replicas=desired[i])
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
        """Log and post an Event when the metrics become unavailable, change why, or return."""
        before, self._degraded = self._degraded, problem
        if problem == before:
            return
        prometheus.DEGRADED.labels(self.owner.namespace, self.owner.name).set(int(bool(problem)))
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
            return self._invalid_spec(str(error), generation, previous_status, deployments, now)
        self._invalid = None
        current = [d.replicas if d else 0 for d in deployments]

        metrics: list[PhaseMetrics] | None = None
        degraded = None
        try:
            metrics = self._metrics(spec, now)
            self._publish(spec, generation)
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
            not_ready = self._ensure(spec, deployments, desired)
            if plan_ is not None:
                self._scale(spec, deployments, plan_, now)
        not_ready = not_ready or _pending_problem(spec, self._pending(spec, deployments))

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
        if self._source is not None:
            now_ms = int(now.timestamp() * MS_PER_SECOND)
            self._source.publish_plan(
                build_plan_record(spec, self.owner, status, generation, now_ms)
            )
        prometheus.record_tick(self.owner.namespace, self.owner.name, spec, deployments, plan_, now)
        conflict = not_ready if not_ready and not_ready.reason == CONFLICT_REASON else None
        return TickOutcome(status, spec.tick_seconds, degraded or conflict)

    def _invalid_spec(
        self,
        message: str,
        generation: int | None,
        previous_status: Mapping[str, Any],
        deployments: Sequence[DeploymentState | None],
        now: datetime,
    ) -> TickOutcome:
        if self._invalid != message:
            self._invalid = message
            logger.error(
                "Spec of %s/%s is invalid: %s", self.owner.namespace, self.owner.name, message
            )
            self.emit("Warning", INVALID_SPEC_REASON, message)
            prometheus.ERRORS.labels(
                self.owner.namespace, self.owner.name, INVALID_SPEC_REASON
            ).inc()
        status = invalid_spec_status(message, deployments, previous_status, now, generation)
        if status != previous_status:
            self.kube.patch_status(self.owner.namespace, self.owner.name, status)
        prometheus.record_tick(self.owner.namespace, self.owner.name, None, deployments, None, now)
        return TickOutcome(status, problem=Problem(INVALID_SPEC_REASON, message))
