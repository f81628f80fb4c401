"""Scaling policies compared by `eros simulate`: each decides workers per phase at its tick.

- always-on: the fleet the planner grants when every phase wants its most, held all day;
- reactive: KEDA's Redis list scaler behind an HPA (poll 30 s, scale to zero after a
  300 s cooldown with an empty list, replicas = ceil(list length / listLength), here
  jobsPerWorker; the HPA's 300 s scale-down stabilization), capped by the same budgets;
- planner: `eros.operator.planner.plan` with the resource's spec and prediction off
  (reactive), every tick;
- predictive: the same planner with prediction on (the default), fed
  `eros.operator.forecast.expected_crossings`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from eros.operator.forecast import BUCKETS, ReturnModel, buckets_of, expected_crossings
from eros.operator.planner import (
    PhaseMetrics,
    PlannerState,
    phase_budget_replicas,
    plan,
    usable_millicores,
)
from eros.operator.spec import ProcessingSpec

POLICY_NAMES = ("always-on", "reactive", "planner", "predictive")
KEDA_POLL_SECONDS = 30
KEDA_COOLDOWN_SECONDS = 300
HPA_SCALE_DOWN_STABILIZATION_SECONDS = 300
# Enough jobs that every phase wants its maxReplicas.
_SATURATING_JOBS = 10**9


class Policy(Protocol):
    name: str
    tick_seconds: float

    def decide(
        self,
        now: datetime,
        metrics: Sequence[PhaseMetrics],
        current: Sequence[int],
        near: Sequence[npt.NDArray[np.float64]],
    ) -> tuple[int, ...]:
        """Desired replicas per phase. `near` holds, per phase, the idle ages (s) of users
        about to cross its threshold within the forecast horizon."""
        ...


def _inside_off_peak(spec: ProcessingSpec, day: datetime) -> datetime:
    zone = ZoneInfo(spec.off_peak.time_zone)
    local = day.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    return (local + timedelta(minutes=spec.off_peak.window.start_minute)).astimezone(UTC)


class AlwaysOn:
    name = "always-on"

    def __init__(self, spec: ProcessingSpec, day: datetime) -> None:
        self.tick_seconds = float(spec.tick_seconds)
        busy = [PhaseMetrics(1, _SATURATING_JOBS, 0) for _ in spec.phases]
        peak = plan(spec, busy, [0] * len(spec.phases), PlannerState(), _inside_off_peak(spec, day))
        self.fleet = peak.desired

    def decide(self, now: datetime, metrics: Any, current: Any, near: Any) -> tuple[int, ...]:
        return self.fleet


def within_pool(spec: ProcessingSpec, wants: Sequence[int]) -> tuple[int, ...]:
    """Wants clamped to each phase's budget, then granted in priority order within the
    pool less the headroom: what a ResourceQuota and per-phase caps would hold KEDA to."""
    caps = phase_budget_replicas(spec)
    remaining = usable_millicores(spec)
    granted = [0] * len(spec.phases)
    for number in spec.priority:
        i = number - 1
        per = spec.phases[i].cpu_per_worker_millicores
        granted[i] = max(0, min(wants[i], caps[i], spec.phases[i].max_replicas, remaining // per))
        remaining -= granted[i] * per
    return tuple(granted)


class Reactive:
    name = "reactive"

    def __init__(self, spec: ProcessingSpec) -> None:
        self.spec = spec
        self.tick_seconds = float(KEDA_POLL_SECONDS)
        self._last_active = [-math.inf] * len(spec.phases)
        self._history: list[tuple[float, tuple[int, ...]]] = []

    def decide(
        self, now: datetime, metrics: Sequence[PhaseMetrics], current: Any, near: Any
    ) -> tuple[int, ...]:
        at = now.timestamp()
        wants = []
        for i, (phase, figures) in enumerate(zip(self.spec.phases, metrics, strict=True)):
            if figures.queued_jobs > 0:
                self._last_active[i] = at
                wants.append(max(1, math.ceil(figures.queued_jobs / phase.jobs_per_worker)))
            elif at - self._last_active[i] < KEDA_COOLDOWN_SECONDS:
                wants.append(1)  # active within the cooldown: the HPA's minimum of one
            else:
                wants.append(0)
        horizon = at - HPA_SCALE_DOWN_STABILIZATION_SECONDS
        self._history = [(t, w) for t, w in self._history if t > horizon]
        self._history.append((at, tuple(wants)))
        stabilized = [
            0 if wants[i] == 0 else max(w[i] for _, w in self._history) for i in range(len(wants))
        ]
        return within_pool(self.spec, stabilized)


def with_prediction(spec: ProcessingSpec, enabled: bool) -> ProcessingSpec:
    return dataclasses.replace(
        spec, predictive=dataclasses.replace(spec.predictive, enabled=enabled)
    )


class Planner:
    """The reactive planner: `plan` with prediction off, whatever the resource says."""

    name = "planner"

    def __init__(self, spec: ProcessingSpec, *, predictive: bool = False) -> None:
        self.spec = with_prediction(spec, predictive)
        self.tick_seconds = float(spec.tick_seconds)
        self.state = PlannerState()

    def decide(
        self, now: datetime, metrics: Sequence[PhaseMetrics], current: Sequence[int], near: Any
    ) -> tuple[int, ...]:
        result = plan(self.spec, metrics, current, self.state, now)
        self.state = result.state
        return result.desired


class Predictive(Planner):
    name = "predictive"

    def __init__(self, spec: ProcessingSpec) -> None:
        super().__init__(spec, predictive=True)
        self.zone = ZoneInfo(spec.off_peak.time_zone)
        # The forecast's horizon is the planner's (its share per tick, the window's opening).
        self.horizon_seconds = float(self.spec.predictive_horizon_seconds)
        self.returns = ReturnModel.prior()

    def observe_returns(self, idle_seconds: npt.NDArray[np.float64], now: datetime) -> None:
        """Learn from the users back this tick, as the operator learns from the index."""
        counts = np.bincount(buckets_of(idle_seconds), minlength=BUCKETS)
        self.returns = self.returns.observe_buckets(counts.tolist(), self._hour(now))

    def _hour(self, now: datetime) -> int:
        return now.astimezone(self.zone).hour

    def decide(
        self,
        now: datetime,
        metrics: Sequence[PhaseMetrics],
        current: Sequence[int],
        near: Sequence[npt.NDArray[np.float64]],
    ) -> tuple[int, ...]:
        hour = self._hour(now)
        ages = np.concatenate(list(near)) if near else np.zeros(0)
        expected = expected_crossings(
            ages,
            self.spec.idle_thresholds_seconds,
            self.horizon_seconds,
            self.returns,
            hour,
        )
        fed = [
            dataclasses.replace(f, expected_crossings=float(e))
            for f, e in zip(metrics, expected, strict=True)
        ]
        return super().decide(now, fed, current, near)
