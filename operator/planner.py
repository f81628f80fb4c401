"""The planner: from idle users and jobs to worker replicas per phase, within CPU budgets.

A pure function of (spec, metrics, current state, now). The rules, in order:

1. A phase without idle users, or an off-peak-only phase outside the off-peak window,
   wants zero workers, at once: its users are back (their jobs were halted) or its
   work is not allowed now.
2. Otherwise a phase wants ceil((queued + running) / jobsPerWorker) workers, clamped to
   [minReplicas, maxReplicas]. Running jobs count so that a busy phase is not scaled
   down under its own feet when its queue drains.
3. Scaling up is immediate. Scaling down goes only as low as the highest want seen
   within the stabilization window (the HPA's rule), so a dip does not kill workers.
4. CPU: a phase gets at most floor(pool x budget% / cpuPerWorker) workers, and all
   phases together at most pool x (100 - headroom)%. When the phases want more than
   that, the priority order decides: first every phase's minReplicas, in priority
   order, then the rest of every phase's want, in priority order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from eros.operator.spec import ProcessingSpec


class PlanReason(StrEnum):
    NO_IDLE_USERS = "NoIdleUsers"
    OFF_PEAK = "OutsideOffPeakWindow"
    DEMAND = "Demand"
    MIN_REPLICAS = "MinReplicas"
    MAX_REPLICAS = "MaxReplicas"
    STABILIZING = "ScaleDownStabilizing"
    BUDGET_LIMITED = "PhaseBudgetLimited"
    POOL_LIMITED = "PoolLimited"


@dataclass(frozen=True)
class PhaseMetrics:
    idle_users: int
    queued_jobs: int
    running_jobs: int

    @property
    def jobs(self) -> int:
        return self.queued_jobs + self.running_jobs


@dataclass(frozen=True)
class Recommendation:
    """What every phase wanted at one tick, before budgets; kept for the stabilization window."""

    at: float  # epoch seconds
    wants: tuple[int, ...]


@dataclass(frozen=True)
class PlannerState:
    history: tuple[Recommendation, ...] = ()


@dataclass(frozen=True)
class PhasePlan:
    desired: int
    want: int
    budget_replicas: int
    cpu_millicores: int
    reason: PlanReason


@dataclass(frozen=True)
class Plan:
    phases: tuple[PhasePlan, ...]
    state: PlannerState

    @property
    def desired(self) -> tuple[int, ...]:
        return tuple(phase.desired for phase in self.phases)

    @property
    def cpu_millicores(self) -> int:
        return sum(phase.cpu_millicores for phase in self.phases)


def usable_millicores(spec: ProcessingSpec) -> int:
    """The CPU all phases together may use: the pool less the headroom."""
    return spec.cpu_pool_millicores * (100 - spec.headroom_percent) // 100


def phase_budget_replicas(spec: ProcessingSpec) -> tuple[int, ...]:
    """The most workers each phase may have on its own: its budget share, within the pool."""
    usable = usable_millicores(spec)
    return tuple(
        min(spec.cpu_pool_millicores * phase.cpu_budget_percent // 100, usable)
        // phase.cpu_per_worker_millicores
        for phase in spec.phases
    )


def in_off_peak(spec: ProcessingSpec, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(spec.off_peak.time_zone)).time()
    return spec.off_peak.contains(local)


def _blocked_reason(
    spec: ProcessingSpec, metrics: Sequence[PhaseMetrics], off_peak: bool
) -> list[PlanReason | None]:
    reasons: list[PlanReason | None] = []
    for phase, figures in zip(spec.phases, metrics, strict=True):
        if figures.idle_users <= 0:
            reasons.append(PlanReason.NO_IDLE_USERS)
        elif phase.off_peak_only and not off_peak:
            reasons.append(PlanReason.OFF_PEAK)
        else:
            reasons.append(None)
    return reasons


def _want(spec: ProcessingSpec, index: int, figures: PhaseMetrics) -> int:
    phase = spec.phases[index]
    demand = math.ceil(figures.jobs / phase.jobs_per_worker)
    return min(max(demand, phase.min_replicas), phase.max_replicas)


def _stabilize(want: int, current: int, window_max: int, max_replicas: int, blocked: bool) -> int:
    if blocked:
        return 0
    if want >= current:
        return want
    return min(current, window_max, max_replicas)


def _allocate(
    spec: ProcessingSpec,
    floors: Sequence[int],
    targets: Sequence[int],
    caps: Sequence[int],
) -> list[int]:
    remaining = usable_millicores(spec)
    granted = [0] * len(spec.phases)
    for goal in (floors, targets):
        for number in spec.priority:
            i = number - 1
            per_worker = spec.phases[i].cpu_per_worker_millicores
            extra = min(goal[i], caps[i]) - granted[i]
            extra = min(extra, remaining // per_worker)
            if extra > 0:
                granted[i] += extra
                remaining -= extra * per_worker
    return granted


def _reason(
    spec: ProcessingSpec,
    index: int,
    figures: PhaseMetrics,
    want: int,
    stabilized: int,
    desired: int,
    cap: int,
) -> PlanReason:
    phase = spec.phases[index]
    if desired < stabilized:
        return PlanReason.BUDGET_LIMITED if desired >= cap else PlanReason.POOL_LIMITED
    if stabilized > want:
        return PlanReason.STABILIZING
    demand = math.ceil(figures.jobs / phase.jobs_per_worker)
    if demand > phase.max_replicas:
        return PlanReason.MAX_REPLICAS
    if demand < phase.min_replicas:
        return PlanReason.MIN_REPLICAS
    return PlanReason.DEMAND


def plan(
    spec: ProcessingSpec,
    metrics: Sequence[PhaseMetrics],
    current: Sequence[int],
    state: PlannerState,
    now: datetime,
) -> Plan:
    """Desired replicas per phase, and the planner state to pass to the next call.

    `current` holds the Deployments' replicas now. Without history (a fresh operator)
    the current replicas count as a recent want, so a restart never scales down at once.
    """
    if len(metrics) != len(spec.phases) or len(current) != len(spec.phases):
        raise ValueError("metrics and current replicas need one entry per phase")
    at = now.timestamp()
    blocked = _blocked_reason(spec, metrics, in_off_peak(spec, now))
    wants = tuple(0 if blocked[i] else _want(spec, i, figures) for i, figures in enumerate(metrics))
    horizon = at - spec.stabilization_window_seconds
    history = state.history or (Recommendation(at, tuple(current)),)
    kept = tuple(r for r in history if horizon < r.at <= at and len(r.wants) == len(wants))
    window = (*kept, Recommendation(at, wants))
    window_max = [max(r.wants[i] for r in window) for i in range(len(wants))]

    stabilized = [
        _stabilize(wants[i], current[i], window_max[i], phase.max_replicas, blocked[i] is not None)
        for i, phase in enumerate(spec.phases)
    ]
    floors = [
        0 if blocked[i] else min(phase.min_replicas, stabilized[i])
        for i, phase in enumerate(spec.phases)
    ]
    caps = phase_budget_replicas(spec)
    granted = _allocate(spec, floors, stabilized, caps)

    phases = []
    for i, phase in enumerate(spec.phases):
        reason = blocked[i] or _reason(
            spec, i, metrics[i], wants[i], stabilized[i], granted[i], caps[i]
        )
        phases.append(
            PhasePlan(
                desired=granted[i],
                want=wants[i],
                budget_replicas=caps[i],
                cpu_millicores=granted[i] * phase.cpu_per_worker_millicores,
                reason=reason,
            )
        )
    return Plan(phases=tuple(phases), state=PlannerState(history=window))
