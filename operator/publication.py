"""What the operator publishes for the other components: the resource's phase configuration.

The scheduler, the API and the workers follow it (`eros.core.phase_config`), so that the
ErosProcessing is the one place where thresholds, queues and off-peak windows are set.
The last plan is published too, for the console (`eros.pipeline.operator_plan`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eros.core.phase_config import PhaseConfig
from eros.operator.manifests import Owner
from eros.operator.planner import usable_millicores
from eros.operator.spec import ProcessingSpec
from eros.pipeline.operator_plan import OperatorPlanRecord, PhasePlanRecord


def build_phase_config(spec: ProcessingSpec, owner: Owner, generation: int | None) -> PhaseConfig:
    """The validated spec as the components read it, stamped with the resource's generation."""
    window = spec.off_peak.window
    return PhaseConfig(
        idle_seconds=tuple(phase.idle_after_seconds for phase in spec.phases),
        queues=tuple(phase.queue for phase in spec.phases),
        windows=tuple(window if phase.off_peak_only else None for phase in spec.phases),
        time_zone=spec.off_peak.time_zone,
        cpu_budget_percent=tuple(float(phase.cpu_budget_percent) for phase in spec.phases),
        priority=spec.priority,
        paused=spec.paused,
        source=f"{owner.namespace}/{owner.name}",
        generation=generation,
    )


def build_plan_record(
    spec: ProcessingSpec,
    owner: Owner,
    status: Mapping[str, Any],
    generation: int | None,
    now_ms: int,
) -> OperatorPlanRecord:
    """The tick's status (`eros.operator.status.build_status`) as the console reads it."""
    degraded = next(
        (
            str(c.get("reason"))
            for c in status.get("conditions") or []
            if c.get("type") == "Degraded" and c.get("status") == "True"
        ),
        None,
    )
    phases = tuple(
        PhasePlanRecord(
            name=str(entry["name"]),
            desired=int(entry.get("desiredReplicas", 0)),
            ready=int(entry.get("readyReplicas", 0)),
            budget=int(entry.get("budgetReplicas", 0)),
            reason=entry.get("reason"),
            cpu_allocated=str(entry.get("cpuAllocated", "0")),
            idle_users=entry.get("idleUsers"),
        )
        for entry in status.get("phases") or []
    )
    return OperatorPlanRecord(
        source=f"{owner.namespace}/{owner.name}",
        generation=generation,
        at_ms=now_ms,
        cpu_pool=spec.cpu_pool,
        cpu_pool_millicores=spec.cpu_pool_millicores,
        usable_millicores=usable_millicores(spec),
        degraded=degraded,
        phases=phases,
    )
