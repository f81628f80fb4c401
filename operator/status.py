"""The ErosProcessing status, built purely from what one tick observed and decided.

Conditions follow the Kubernetes conventions and KEDA's vocabulary: `Ready` (the
Deployments exist and the spec is usable), `Active` (some phase has workers),
`Degraded` (metrics could not be read, so replicas are kept as they are) and `Paused`.
A condition's lastTransitionTime moves only when its status changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from eros.operator.planner import PhaseMetrics, Plan, phase_budget_replicas
from eros.operator.quantity import format_millicores
from eros.operator.spec import ProcessingSpec


class ConditionType(StrEnum):
    READY = "Ready"
    ACTIVE = "Active"
    DEGRADED = "Degraded"
    PAUSED = "Paused"


@dataclass(frozen=True)
class DeploymentState:
    name: str
    replicas: int
    ready_replicas: int


@dataclass(frozen=True)
class Problem:
    """Why a condition is not in its good state: a CamelCase reason and a sentence."""

    reason: str
    message: str


@dataclass(frozen=True)
class Observation:
    """What one tick saw (None where it could not see) and what it asked for."""

    metrics: Sequence[PhaseMetrics] | None
    plan: Plan | None
    desired: Sequence[int]
    deployments: Sequence[DeploymentState | None]
    degraded: Problem | None = None
    not_ready: Problem | None = None


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _condition(
    kind: ConditionType,
    good: bool,
    reason: str,
    message: str,
    previous: Mapping[str, Mapping[str, Any]],
    now: datetime,
    generation: int | None,
) -> dict[str, Any]:
    status = "True" if good else "False"
    before = previous.get(kind.value) or {}
    since = before.get("lastTransitionTime") if before.get("status") == status else None
    condition: dict[str, Any] = {
        "type": kind.value,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": since or timestamp(now),
    }
    if generation is not None:
        condition["observedGeneration"] = generation
    return condition


def build_conditions(
    spec: ProcessingSpec | None,
    seen: Observation,
    previous: Sequence[Mapping[str, Any]],
    now: datetime,
    generation: int | None,
) -> list[dict[str, Any]]:
    before = {str(c.get("type")): c for c in previous}
    workers = sum(seen.desired)
    paused = bool(spec and spec.paused)
    not_ready = seen.not_ready or Problem(
        "Reconciled", "The worker Deployments match the resource."
    )
    return [
        _condition(
            ConditionType.READY,
            seen.not_ready is None,
            not_ready.reason,
            not_ready.message,
            before,
            now,
            generation,
        ),
        _condition(
            ConditionType.ACTIVE,
            workers > 0,
            "WorkersRunning" if workers > 0 else "NoWork",
            f"{workers} worker replicas across all phases."
            if workers > 0
            else "No phase has idle users with work to do.",
            before,
            now,
            generation,
        ),
        _condition(
            ConditionType.DEGRADED,
            seen.degraded is not None,
            seen.degraded.reason if seen.degraded else "MetricsAvailable",
            seen.degraded.message + " Replicas are kept as they are."
            if seen.degraded
            else "Idle users and jobs were read from Redis.",
            before,
            now,
            generation,
        ),
        _condition(
            ConditionType.PAUSED,
            paused,
            "PausedBySpec" if paused else "NotPaused",
            "spec.paused is true: nothing is created, patched or scaled."
            if paused
            else "Scaling is active.",
            before,
            now,
            generation,
        ),
    ]


def _phase_status(
    spec: ProcessingSpec,
    index: int,
    seen: Observation,
    previous: Mapping[str, Any],
) -> dict[str, Any]:
    phase = spec.phases[index]
    deployment = seen.deployments[index]
    entry: dict[str, Any] = {"name": phase.name}
    if seen.metrics is not None:
        figures = seen.metrics[index]
        entry.update(
            idleUsers=figures.idle_users,
            queuedJobs=figures.queued_jobs,
            runningJobs=figures.running_jobs,
        )
    else:
        # Stale figures beat none for a reader; the Degraded condition says they are stale.
        entry.update(
            {k: previous[k] for k in ("idleUsers", "queuedJobs", "runningJobs") if k in previous}
        )
    desired = seen.desired[index]
    entry.update(
        deployment=deployment.name if deployment else "",
        desiredReplicas=desired,
        currentReplicas=deployment.replicas if deployment else 0,
        readyReplicas=deployment.ready_replicas if deployment else 0,
        cpuAllocated=format_millicores(desired * phase.cpu_per_worker_millicores),
    )
    entry["budgetReplicas"] = phase_budget_replicas(spec)[index]
    if seen.plan is not None:
        entry["reason"] = seen.plan.phases[index].reason.value
    elif seen.degraded is not None:
        entry["reason"] = seen.degraded.reason
    elif spec.paused:
        entry["reason"] = "Paused"
    return entry


def build_status(
    spec: ProcessingSpec,
    seen: Observation,
    previous: Mapping[str, Any],
    now: datetime,
    generation: int | None,
    last_scale_time: datetime | None,
) -> dict[str, Any]:
    """The whole status subresource after one tick."""
    before_phases = {str(p.get("name")): p for p in previous.get("phases") or []}
    phases = [
        _phase_status(spec, i, seen, before_phases.get(phase.name, {}))
        for i, phase in enumerate(spec.phases)
    ]
    status: dict[str, Any] = {
        "idleUsers": "/".join(str(p.get("idleUsers", "-")) for p in phases),
        "desiredReplicas": sum(seen.desired),
        "replicas": sum(d.replicas for d in seen.deployments if d),
        "readyReplicas": sum(d.ready_replicas for d in seen.deployments if d),
        "cpuAllocated": format_millicores(
            sum(
                n * phase.cpu_per_worker_millicores
                for n, phase in zip(seen.desired, spec.phases, strict=True)
            )
        ),
        "phases": phases,
        "conditions": build_conditions(
            spec, seen, previous.get("conditions") or [], now, generation
        ),
    }
    if generation is not None:
        status["observedGeneration"] = generation
    if last_scale_time is not None:
        status["lastScaleTime"] = timestamp(last_scale_time)
    elif previous.get("lastScaleTime"):
        status["lastScaleTime"] = previous["lastScaleTime"]
    return status


def invalid_spec_status(
    message: str, previous: Mapping[str, Any], now: datetime, generation: int | None
) -> dict[str, Any]:
    """The status of a resource whose spec cannot be acted on: only the conditions change."""
    seen = Observation(
        metrics=None,
        plan=None,
        desired=(),
        deployments=(),
        not_ready=Problem("InvalidSpec", message),
    )
    status = {k: v for k, v in previous.items() if k != "conditions"}
    status["conditions"] = build_conditions(
        None, seen, previous.get("conditions") or [], now, generation
    )
    if generation is not None:
        status["observedGeneration"] = generation
    return status
