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

INVALID_SPEC_REASON = "InvalidSpec"


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
    cpu_millicores: int = 0  # what each replica requests (and is limited to)
    template_hash: str = ""  # the operator's annotation: which spec its pod template is from


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

    @property
    def running(self) -> tuple[int, ...]:
        """The replicas each phase's Deployment has (0 where there is none)."""
        return tuple(d.replicas if d else 0 for d in self.deployments)

    @property
    def running_cpu(self) -> tuple[int, ...]:
        """The millicores each phase's Deployment holds: its replicas times their CPU."""
        return tuple(d.replicas * d.cpu_millicores if d else 0 for d in self.deployments)


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


def _active(seen: Observation) -> tuple[bool, str, str]:
    workers = sum(seen.running)
    if workers > 0:
        return True, "WorkersRunning", f"{workers} worker replicas run across all phases."
    if seen.plan is not None:
        return False, "NoWork", "No phase has idle users with work to do."
    return False, "NoWorkers", "No phase has worker replicas."


def _degraded(spec: ProcessingSpec | None, seen: Observation) -> tuple[bool, str, str]:
    if seen.degraded is not None:
        message = seen.degraded.message + " Replicas are kept as they are."
        return True, seen.degraded.reason, message
    if spec is None:
        return False, INVALID_SPEC_REASON, "Metrics are not read while the spec is invalid."
    return False, "MetricsAvailable", "Idle users and jobs were read from Redis."


def _paused(spec: ProcessingSpec | None) -> tuple[bool, str, str]:
    if spec is None:
        return False, INVALID_SPEC_REASON, "Nothing is scaled until the spec is valid."
    if spec.paused:
        return True, "PausedBySpec", "spec.paused is true: nothing is created, patched or scaled."
    return False, "NotPaused", "Scaling is active."


def build_conditions(
    spec: ProcessingSpec | None,
    seen: Observation,
    previous: Sequence[Mapping[str, Any]],
    now: datetime,
    generation: int | None,
) -> list[dict[str, Any]]:
    """Ready, Active, Degraded and Paused; None as the spec means it could not be parsed."""
    before = {str(c.get("type")): c for c in previous}
    ready = seen.not_ready or Problem("Reconciled", "The worker Deployments match the resource.")
    states = {
        ConditionType.READY: (seen.not_ready is None, ready.reason, ready.message),
        ConditionType.ACTIVE: _active(seen),
        ConditionType.DEGRADED: _degraded(spec, seen),
        ConditionType.PAUSED: _paused(spec),
    }
    return [
        _condition(kind, good, reason, message, before, now, generation)
        for kind, (good, reason, message) in states.items()
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
        # What the Deployment holds, not what the planner wants: paused, degraded or with
        # an edit still rolling out, the two differ.
        cpuAllocated=format_millicores(seen.running_cpu[index]),
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
        "cpuAllocated": format_millicores(sum(seen.running_cpu)),
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
    message: str,
    deployments: Sequence[DeploymentState | None],
    previous: Mapping[str, Any],
    now: datetime,
    generation: int | None,
) -> dict[str, Any]:
    """The status of a resource whose spec cannot be acted on.

    The phase figures stay as last seen (the spec that would name them is unusable); the
    replica totals and conditions say what the Deployments, kept as they are, really run.
    """
    seen = Observation(
        metrics=None,
        plan=None,
        desired=(),
        deployments=deployments,
        not_ready=Problem(INVALID_SPEC_REASON, message),
    )
    status = {k: v for k, v in previous.items() if k != "conditions"}
    status["replicas"] = sum(seen.running)
    status["readyReplicas"] = sum(d.ready_replicas for d in deployments if d)
    status["cpuAllocated"] = format_millicores(sum(seen.running_cpu))
    status["conditions"] = build_conditions(
        None, seen, previous.get("conditions") or [], now, generation
    )
    if generation is not None:
        status["observedGeneration"] = generation
    return status
