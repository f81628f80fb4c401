"""The planner: from idle users and jobs to worker replicas per phase, within CPU budgets.

A pure function of (spec, metrics, current state, now). A phase is, at each tick, in one
of four states, from what its idle band and its queue hold:

- **outside its window**: an off-peak-only phase outside the off-peak window wants zero
  workers, at once, whatever it holds: its work is not allowed now, so it never burns
  budget outside the window. Its queued jobs stay queued for the window (the planner
  never touches a queue); its running jobs are stopped and requeue themselves.
- **done**: no idle users and no jobs (queued or running) wants zero workers, at once:
  nothing is left to do, and nothing can come (the scheduler enqueues a phase's jobs for
  the users in its band), so the CPU goes back to the pool. Typically its users are back
  (their jobs were halted).
- **draining**: no idle users, but jobs: the phase keeps workers for those jobs,
  ceil((queued + running) / jobsPerWorker) clamped only to maxReplicas, until they are
  done. At night every user drifts past the last threshold and the first bands empty;
  their jobs still run. `minReplicas` does not apply: it keeps warm workers for the jobs
  idle users are about to bring, and a draining phase has no such users.
- **in demand**: idle users: ceil((queued + running) / jobsPerWorker), clamped to
  [minReplicas, maxReplicas]. Running jobs count so that a busy phase is not scaled down
  under its own feet when its queue drains.

Then, for phases not stopped at once:

1. Scaling up is immediate. Scaling down goes only as low as the highest want seen
   within the stabilization window (the HPA's rule), so a dip does not kill workers.
   Since every want counts the running jobs, no scale-down goes below them:
   ceil(running / jobsPerWorker), within maxReplicas.
2. CPU: a phase gets at most floor(pool x budget% / cpuPerWorker) workers, and all
   phases together at most pool x (100 - headroom)%. When the phases want more than
   that, the CPU goes in rounds, each round in priority order: first one worker for
   every phase with jobs (so no phase's jobs are stranded by a busier, more important
   one), then every phase's minReplicas, then the rest of every phase's want. Budgets win
   over everything: a phase whose budget holds no worker gets none. Priority may take
   workers from a less important phase's running jobs (they checkpoint and requeue),
   but never its last one while the pool fits one worker of every phase with jobs.

The invariants, property-tested: a phase allowed now with jobs and room for one worker
(its budget and maxReplicas) always gets one, whenever the usable pool fits one worker of
every such phase; no phase exceeds its budget and all together stay within the pool less
the headroom; a phase short of neither budget nor pool is never scaled below its
running jobs.

**Predictive pre-scaling** (`spec.predictive.enabled`): a phase also counts the jobs of
the users expected to cross into it within the horizon (`PhaseMetrics.expected_crossings`,
from `eros.operator.forecast`): one tick's share of them, rounded to whole jobs and at
least one, counts as if queued already, so its workers start before the crossing
instead of a pod start delay after it. Users about to arrive make a phase "in demand"
like idle users do (it is neither done nor draining). Those workers come last: the CPU
goes first to every phase's reactive want, and only then to the expected jobs, so a
forecast never takes a worker from real work; the stabilization window holds reactive
wants only. With no expected crossings the plan is exactly the reactive one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from eros.operator.spec import PhaseSpec, ProcessingSpec


class PlanReason(StrEnum):
    """Why a phase got the workers it got (the status' `phases[].reason`)."""

    # No idle users and no jobs: nothing to do, zero at once.
    NO_IDLE_USERS = "NoIdleUsers"
    # Off-peak only and outside the window: zero at once, jobs kept queued.
    OFF_PEAK = "OutsideOffPeakWindow"
    # No idle users but jobs: workers for those jobs until they are done.
    DRAINING = "Draining"
    DEMAND = "Demand"
    # Predictive: workers for the users expected to cross in within the horizon.
    EXPECTED_CROSSINGS = "ExpectedCrossings"
    MIN_REPLICAS = "MinReplicas"
    MAX_REPLICAS = "MaxReplicas"
    STABILIZING = "ScaleDownStabilizing"
    BUDGET_LIMITED = "PhaseBudgetLimited"
    POOL_LIMITED = "PoolLimited"


# Expected crossings round to whole jobs from this fraction up: half a user expected
# is as likely to come as not, and a worker per fraction would double the speculation.
EXPECTED_JOB_ROUNDING = 0.5


@dataclass(frozen=True)
class PhaseMetrics:
    idle_users: int
    queued_jobs: int
    running_jobs: int
    # Users expected to cross into the phase within the predictive horizon (a forecast).
    expected_crossings: float = 0.0

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


def expected_jobs(figures: PhaseMetrics, tick_seconds: float, horizon_seconds: float) -> int:
    """The jobs to have workers ready for: those of one tick's expected crossings.

    The crossings forecast over the horizon arrive spread across it, and workers started
    now are up for each tick's arrivals; counting the whole horizon's users as jobs at
    once sized phases of short jobs for many times their concurrency (`eros simulate`
    measured 2.1x the reactive CPU-hours). One crossing expected keeps one worker up.
    """
    crossings = figures.expected_crossings
    if crossings < EXPECTED_JOB_ROUNDING:
        return 0
    per_tick = crossings * min(1.0, tick_seconds / max(horizon_seconds, tick_seconds))
    return max(1, math.floor(per_tick + EXPECTED_JOB_ROUNDING))


def window_opens_within(
    spec: ProcessingSpec, now: datetime, seconds: float, off_peak_now: bool
) -> bool:
    """Whether the off-peak window, closed now (`off_peak_now` is `in_off_peak(spec, now)`,
    which a plan has found already), is open `seconds` from now."""
    return not off_peak_now and in_off_peak(spec, now + timedelta(seconds=seconds))


def forecast_jobs(
    spec: ProcessingSpec,
    metrics: Sequence[PhaseMetrics],
    reactive: Sequence[int],
    now: datetime,
    off_peak: bool,
) -> list[int]:
    """Per phase, the jobs predictive pre-scaling starts workers for, beyond the reactive plan.

    Only a phase the reactive plan leaves without a worker: its first crossing would wait
    a pod start, while a phase with a worker serves it at once and grows reactively (the
    snapshot of a busy phase's slots is full half the time, and a worker for each such
    tick cost 5% more CPU-hours with no start any sooner in `eros simulate`). An
    off-peak-only phase whose window opens within the horizon counts every user in its
    band: the scheduler enqueues them all at the opening.

    `off_peak` is `in_off_peak(spec, now)`, as the caller's plan found it.
    """
    horizon = spec.predictive_horizon_seconds
    opening = window_opens_within(spec, now, horizon, off_peak)
    jobs = []
    for phase, figures, workers in zip(spec.phases, metrics, reactive, strict=True):
        if phase.off_peak_only and not off_peak:
            jobs.append(figures.idle_users if opening else 0)
        elif workers > 0:
            jobs.append(0)
        else:
            jobs.append(expected_jobs(figures, spec.tick_seconds, horizon))
    return jobs


def demand_replicas(phase: PhaseSpec, figures: PhaseMetrics, expected: int = 0) -> int:
    """Workers for every queued and running job, and `expected` jobs, before any clamp."""
    return math.ceil((figures.jobs + expected) / phase.jobs_per_worker)


def _stopped_reason(phase: PhaseSpec, figures: PhaseMetrics, off_peak: bool) -> PlanReason | None:
    """Why a phase goes to zero at once without a forecast, or None when it plans as usual."""
    if phase.off_peak_only and not off_peak:
        return PlanReason.OFF_PEAK
    if figures.idle_users <= 0 and figures.jobs <= 0:
        return PlanReason.NO_IDLE_USERS
    return None


def _users_here_or_coming(figures: PhaseMetrics, expected: int) -> bool:
    return figures.idle_users > 0 or expected > 0


def _draining(figures: PhaseMetrics, expected: int) -> bool:
    return not _users_here_or_coming(figures, expected) and figures.jobs > 0


def _want(phase: PhaseSpec, figures: PhaseMetrics, expected: int) -> int:
    demand = demand_replicas(phase, figures, expected)
    if _draining(figures, expected):
        return min(demand, phase.max_replicas)
    return min(max(demand, phase.min_replicas), phase.max_replicas)


def _stabilize(want: int, current: int, window_max: int, max_replicas: int) -> int:
    if want >= current:
        return want
    return min(current, window_max, max_replicas)


def _allocate(
    spec: ProcessingSpec,
    rounds: Sequence[Sequence[int]],
    caps: Sequence[int],
) -> list[int]:
    """Grant each round's goals in priority order, within the caps and the usable pool."""
    remaining = usable_millicores(spec)
    granted = [0] * len(spec.phases)
    for goal in rounds:
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
    phase: PhaseSpec,
    figures: PhaseMetrics,
    expected: int,
    want: int,
    stabilized: int,
    desired: int,
    cap: int,
) -> PlanReason:
    if desired < stabilized:
        return PlanReason.BUDGET_LIMITED if desired >= cap else PlanReason.POOL_LIMITED
    if stabilized > want:
        return PlanReason.STABILIZING
    demand = demand_replicas(phase, figures, expected)
    if demand > phase.max_replicas:
        return PlanReason.MAX_REPLICAS
    if want > _want(phase, figures, 0):
        return PlanReason.EXPECTED_CROSSINGS
    if _draining(figures, expected):
        return PlanReason.DRAINING
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
    off_peak = in_off_peak(spec, now)
    reactive_stop = [
        _stopped_reason(phase, figures, off_peak)
        for phase, figures in zip(spec.phases, metrics, strict=True)
    ]
    reactive_wants = tuple(
        0 if reactive_stop[i] else _want(phase, metrics[i], 0)
        for i, phase in enumerate(spec.phases)
    )
    # The stabilization window remembers reactive wants only: a forecast's workers are
    # not held for the window once their users crossed (their jobs are then real demand,
    # which the window holds) or came back.
    horizon = at - spec.stabilization_window_seconds
    history = state.history or (Recommendation(at, tuple(current)),)
    kept = tuple(r for r in history if horizon < r.at <= at and len(r.wants) == len(metrics))
    window = (*kept, Recommendation(at, reactive_wants))
    window_max = [max(r.wants[i] for r in window) for i in range(len(metrics))]

    # What each phase would get without the forecast: granted before any expected job.
    reactive = [
        0
        if reactive_stop[i]
        else _stabilize(reactive_wants[i], current[i], window_max[i], phase.max_replicas)
        for i, phase in enumerate(spec.phases)
    ]
    expected = (
        forecast_jobs(spec, metrics, reactive, now, off_peak)
        if spec.predictive.enabled
        else [0] * len(metrics)
    )
    stopped = [None if expected[i] > 0 else reactive_stop[i] for i in range(len(metrics))]
    wants = tuple(
        0 if stopped[i] else _want(phase, metrics[i], expected[i])
        for i, phase in enumerate(spec.phases)
    )
    stabilized = [0 if stopped[i] else max(reactive[i], wants[i]) for i in range(len(wants))]
    # One worker for every phase with jobs comes before anyone's minReplicas or extra
    # workers, so that contention delays a phase's jobs but never strands them.
    first = [min(1, reactive[i]) if metrics[i].jobs > 0 else 0 for i in range(len(wants))]
    floors = [
        min(phase.min_replicas, reactive[i]) if metrics[i].idle_users > 0 else 0
        for i, phase in enumerate(spec.phases)
    ]
    caps = phase_budget_replicas(spec)
    granted = _allocate(spec, (first, floors, reactive, stabilized), caps)

    phases = []
    for i, phase in enumerate(spec.phases):
        reason = stopped[i] or _reason(
            phase, metrics[i], expected[i], wants[i], stabilized[i], granted[i], caps[i]
        )
        phases.append(
            PhasePlan(
                desired=granted[i],
                want=wants[i],
                cpu_millicores=granted[i] * phase.cpu_per_worker_millicores,
                reason=reason,
            )
        )
    return Plan(phases=tuple(phases), state=PlannerState(history=window))
