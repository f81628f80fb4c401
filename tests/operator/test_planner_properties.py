"""The planner's invariants, for every input hypothesis can think of.

Each test states one rule the operator promises, whatever the spec, the figures in
Redis, the replicas running and the planner's history: budgets and the pool are never
exceeded, a phase with jobs is never stranded, a scale-down never goes below the running
jobs, and contention is resolved in priority order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import permutations
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from eros.operator.planner import (
    PhaseMetrics,
    Plan,
    PlannerState,
    PlanReason,
    Recommendation,
    in_off_peak,
    phase_budget_replicas,
    plan,
    usable_millicores,
    window_opens_within,
)
from eros.operator.spec import PredictiveSpec, ProcessingSpec, parse_spec

NAMES = ("phase-1", "phase-2", "phase-3")
EXAMPLES = 300
PRIORITIES: list[list[str]] = [[], *(list(order) for order in permutations(NAMES))]
# Every reason but the two that say the CPU ran out.
NOT_SHORT_OF_CPU = frozenset(PlanReason) - {PlanReason.BUDGET_LIMITED, PlanReason.POOL_LIMITED}

Situation = tuple[ProcessingSpec, list[PhaseMetrics], list[int], PlannerState, datetime]


@st.composite
def specs(draw: st.DrawFn, *, uncontended: bool = False, roomy: bool = False) -> ProcessingSpec:
    """Valid specs. `uncontended` ones have budgets so large that no phase is ever capped;
    `roomy` ones a pool whose usable part fits one worker of every phase."""
    pool = draw(st.integers(100, 64_000))
    biggest_worker = 1 if uncontended else pool // 4 if roomy else pool
    phases = []
    for number, name in enumerate(NAMES, start=1):
        min_replicas = draw(st.integers(0, 4))
        phases.append(
            {
                "name": name,
                "idleAfter": f"{number * 10}m",
                "cpuBudgetPercent": 100 if uncontended else draw(st.integers(0, 100)),
                "cpuPerWorker": f"{draw(st.integers(1, biggest_worker))}m",
                "jobsPerWorker": draw(st.integers(1, 5)),
                "minReplicas": min_replicas,
                "maxReplicas": draw(st.integers(min_replicas, 20)),
                "queue": f"q{number}",
                "offPeakOnly": draw(st.booleans()),
            }
        )
    raw: dict[str, Any] = {
        "cpuPool": f"{max(pool, 10_000) if uncontended else pool}m",
        "headroomPercent": 0 if uncontended else draw(st.integers(0, 25 if roomy else 50)),
        "phases": phases,
        "priority": draw(st.sampled_from(PRIORITIES)),
        "scaleDown": {"stabilizationWindowSeconds": draw(st.integers(0, 600))},
        "offPeak": {"start": "23:00", "end": "07:00", "timeZone": "Europe/Berlin"},
        # The reactive planner; the predictive section below turns prediction on.
        "predictive": {"enabled": False},
    }
    return parse_spec(raw)


phase_metrics = st.builds(
    PhaseMetrics,
    idle_users=st.integers(0, 3),
    queued_jobs=st.integers(0, 40),
    running_jobs=st.integers(0, 40),
)
metrics_triples = st.lists(phase_metrics, min_size=3, max_size=3)
replica_triples = st.lists(st.integers(0, 30), min_size=3, max_size=3)
moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
)


@st.composite
def histories(draw: st.DrawFn, now: datetime) -> PlannerState:
    ages = draw(st.lists(st.integers(0, 900), max_size=6))
    return PlannerState(
        tuple(
            Recommendation((now - timedelta(seconds=age)).timestamp(), tuple(draw(replica_triples)))
            for age in sorted(ages, reverse=True)
        )
    )


@st.composite
def situations(draw: st.DrawFn, *, uncontended: bool = False, roomy: bool = False) -> Situation:
    now = draw(moments)
    return (
        draw(specs(uncontended=uncontended, roomy=roomy)),
        draw(metrics_triples),
        draw(replica_triples),
        draw(histories(now)),
        now,
    )


def allowed_now(spec: ProcessingSpec, now: datetime) -> list[bool]:
    """Whether each phase may run at `now`: off-peak-only phases only inside the window."""
    inside = in_off_peak(spec, now)
    return [inside or not phase.off_peak_only for phase in spec.phases]


def stopped(spec: ProcessingSpec, metrics: Sequence[PhaseMetrics], now: datetime) -> list[bool]:
    """Phases that go to zero at once: not allowed now, or with nothing to do."""
    return [
        not allowed or (figures.idle_users == 0 and figures.jobs == 0)
        for allowed, figures in zip(allowed_now(spec, now), metrics, strict=True)
    ]


def demand(spec: ProcessingSpec, i: int, figures: PhaseMetrics) -> int:
    """What a phase that plans as usual wants: minReplicas only with idle users."""
    phase = spec.phases[i]
    wanted = math.ceil((figures.queued_jobs + figures.running_jobs) / phase.jobs_per_worker)
    low = phase.min_replicas if figures.idle_users > 0 else 0
    return min(max(wanted, low), phase.max_replicas)


def room_for_one_worker(spec: ProcessingSpec, i: int) -> bool:
    """Whether phase i's budget and maxReplicas allow it a worker at all."""
    return min(phase_budget_replicas(spec)[i], spec.phases[i].max_replicas) >= 1


def cpu_left(spec: ProcessingSpec, result: Plan) -> int:
    return usable_millicores(spec) - result.cpu_millicores


# --- The work is never stranded ---------------------------------------------------


def check_phases_with_jobs_get_a_worker(case: Situation) -> list[int]:
    """Every phase allowed now with jobs and room for a worker gets one, provided the
    usable pool fits one worker of each such phase. Returns those phases."""
    spec, metrics, current, state, now = case
    result = plan(spec, metrics, current, state, now)
    with_jobs = [
        i
        for i, (allowed, figures) in enumerate(zip(allowed_now(spec, now), metrics, strict=True))
        if allowed and figures.jobs > 0 and room_for_one_worker(spec, i)
    ]
    one_each = sum(spec.phases[i].cpu_per_worker_millicores for i in with_jobs)
    if one_each <= usable_millicores(spec):
        for i in with_jobs:
            assert result.phases[i].desired >= 1, (i, result.phases[i])
    return with_jobs


@settings(max_examples=EXAMPLES, deadline=None)
@given(situations())
def test_a_phase_with_jobs_allowed_now_keeps_a_worker_whenever_the_pool_fits_one_of_each(
    case: Situation,
) -> None:
    check_phases_with_jobs_get_a_worker(case)


@settings(max_examples=EXAMPLES, deadline=None)
@given(situations(roomy=True))
def test_in_a_pool_that_fits_one_worker_per_phase_every_phase_with_jobs_gets_one(
    case: Situation,
) -> None:
    spec, *_ = case
    assert sum(p.cpu_per_worker_millicores for p in spec.phases) <= usable_millicores(spec)
    check_phases_with_jobs_get_a_worker(case)


@settings(max_examples=EXAMPLES, deadline=None)
@given(situations())
def test_the_idle_band_does_not_gate_a_phase_with_jobs(case: Situation) -> None:
    spec, metrics, current, state, now = case
    emptied = [PhaseMetrics(0, m.queued_jobs, m.running_jobs) for m in metrics]
    result = plan(spec, emptied, current, state, now)
    for i, (allowed, figures, planned) in enumerate(
        zip(allowed_now(spec, now), emptied, result.phases, strict=True)
    ):
        if allowed and figures.jobs > 0:
            # Draining: demand only, since no idle user is about to bring more jobs.
            assert planned.want == min(
                math.ceil(figures.jobs / spec.phases[i].jobs_per_worker),
                spec.phases[i].max_replicas,
            )
            assert planned.reason is not PlanReason.NO_IDLE_USERS
            if planned.reason in NOT_SHORT_OF_CPU - {PlanReason.STABILIZING}:
                assert planned.reason in (PlanReason.DRAINING, PlanReason.MAX_REPLICAS)


@settings(max_examples=EXAMPLES, deadline=None)
@given(situations())
def test_no_scale_down_goes_below_the_running_jobs_but_for_want_of_cpu(case: Situation) -> None:
    spec, metrics, current, state, now = case
    result = plan(spec, metrics, current, state, now)
    caps = phase_budget_replicas(spec)
    for i, (allowed, figures, planned) in enumerate(
        zip(allowed_now(spec, now), metrics, result.phases, strict=True)
    ):
        if not allowed:
            continue
        phase = spec.phases[i]
        running = math.ceil(figures.running_jobs / phase.jobs_per_worker)
        if planned.reason is PlanReason.POOL_LIMITED:
            # Only a pool with no room left for one more of its workers says so.
            assert cpu_left(spec, result) < phase.cpu_per_worker_millicores
        else:
            assert planned.desired >= min(running, phase.max_replicas, caps[i])


@settings(max_examples=EXAMPLES, deadline=None)
@given(situations())
def test_an_off_peak_only_phase_outside_its_window_burns_no_cpu_whatever_it_holds(
    case: Situation,
) -> None:
    spec, metrics, current, state, now = case
    result = plan(spec, metrics, current, state, now)
    for allowed, planned in zip(allowed_now(spec, now), result.phases, strict=True):
        if not allowed:
            assert (planned.desired, planned.want, planned.cpu_millicores) == (0, 0, 0)
            assert planned.reason is PlanReason.OFF_PEAK
        else:
            assert planned.reason is not PlanReason.OFF_PEAK


@settings(max_examples=EXAMPLES, deadline=None)
@given(situations())
def test_a_phase_with_neither_idle_users_nor_jobs_has_no_workers_at_once(
    case: Situation,
) -> None:
    spec, metrics, current, state, now = case
    result = plan(spec, metrics, current, state, now)
    for allowed, figures, planned in zip(
        allowed_now(spec, now), metrics, result.phases, strict=True
    ):
        nothing_to_do = figures.idle_users == 0 and figures.jobs == 0
        if allowed and nothing_to_do:
            assert planned.desired == 0
        assert (planned.reason is PlanReason.NO_IDLE_USERS) == (allowed and nothing_to_do)
        if planned.reason is PlanReason.DRAINING:
            assert figures.idle_users == 0 < figures.jobs


# --- Budgets and the pool ---------------------------------------------------------


@settings(max_examples=EXAMPLES, deadline=None)
@given(situations())
def test_no_phase_uses_more_cpu_than_its_budget_share_of_the_pool(case: Situation) -> None:
    spec, metrics, current, state, now = case
    result = plan(spec, metrics, current, state, now)
    for phase, planned in zip(spec.phases, result.phases, strict=True):
        used = planned.desired * phase.cpu_per_worker_millicores
        assert used * 100 <= spec.cpu_pool_millicores * phase.cpu_budget_percent
        assert planned.cpu_millicores == used


@settings(max_examples=EXAMPLES, deadline=None)
@given(situations())
def test_all_phases_together_stay_within_the_pool_less_the_headroom(case: Situation) -> None:
    spec, metrics, current, state, now = case
    result = plan(spec, metrics, current, state, now)
    total = sum(
        p.desired * phase.cpu_per_worker_millicores
        for p, phase in zip(result.phases, spec.phases, strict=True)
    )
    assert total * 100 <= spec.cpu_pool_millicores * (100 - spec.headroom_percent)
    assert total == result.cpu_millicores <= usable_millicores(spec)


@settings(max_examples=EXAMPLES, deadline=None)
@given(situations())
def test_the_plan_is_never_above_max_replicas_nor_negative(case: Situation) -> None:
    spec, metrics, current, state, now = case
    result = plan(spec, metrics, current, state, now)
    for phase, planned in zip(spec.phases, result.phases, strict=True):
        assert 0 <= planned.desired <= phase.max_replicas


@settings(max_examples=EXAMPLES, deadline=None)
@given(situations())
def test_over_subscription_is_resolved_in_priority_order(case: Situation) -> None:
    spec, metrics, _, _, now = case
    # A fresh planner from zero replicas: what each phase gets is only a matter of budgets.
    result = plan(spec, metrics, [0, 0, 0], PlannerState(), now)
    caps = phase_budget_replicas(spec)
    is_stopped = stopped(spec, metrics, now)
    # What the first rounds grant before any priority: a worker for a phase with jobs,
    # and minReplicas for a phase with idle users.
    guaranteed = [
        0
        if is_stopped[i]
        else max(
            min(1, p.want) if metrics[i].jobs > 0 else 0,
            min(spec.phases[i].min_replicas, p.want) if metrics[i].idle_users > 0 else 0,
        )
        for i, p in enumerate(result.phases)
    ]
    for rank, number in enumerate(spec.priority):
        a = number - 1
        if result.phases[a].desired >= min(result.phases[a].want, caps[a]):
            continue
        # A more important phase is short of CPU only because the pool ran out: the
        # less important ones got, beyond their guaranteed rounds, less CPU than one
        # more worker of it needs.
        extra = sum(
            max(0, result.phases[b - 1].desired - guaranteed[b - 1])
            * spec.phases[b - 1].cpu_per_worker_millicores
            for b in spec.priority[rank + 1 :]
        )
        assert extra < spec.phases[a].cpu_per_worker_millicores
        assert result.phases[a].reason is PlanReason.POOL_LIMITED
        assert cpu_left(spec, result) < spec.phases[a].cpu_per_worker_millicores


# --- Demand and stabilization -----------------------------------------------------


@settings(max_examples=EXAMPLES, deadline=None)
@given(situations(), st.data())
def test_demand_counts_running_jobs_like_queued_ones(case: Situation, data: st.DataObject) -> None:
    spec, metrics, current, state, now = case
    moved = [
        PhaseMetrics(m.idle_users, q, m.jobs - q)
        for m in metrics
        for q in [data.draw(st.integers(0, m.jobs))]
    ]
    assert plan(spec, metrics, current, state, now) == plan(spec, moved, current, state, now)


@settings(max_examples=EXAMPLES, deadline=None)
@given(situations(uncontended=True))
def test_without_contention_a_fresh_phase_gets_exactly_its_demand(case: Situation) -> None:
    spec, metrics, _, _, now = case
    result = plan(spec, metrics, [0, 0, 0], PlannerState(), now)
    for i, (figures, planned) in enumerate(zip(metrics, result.phases, strict=True)):
        expected = 0 if stopped(spec, metrics, now)[i] else demand(spec, i, figures)
        assert planned.desired == expected


@settings(max_examples=EXAMPLES, deadline=None)
@given(situations(uncontended=True))
def test_scaling_up_is_immediate(case: Situation) -> None:
    spec, metrics, current, state, now = case
    result = plan(spec, metrics, current, state, now)
    for i, planned in enumerate(result.phases):
        if not stopped(spec, metrics, now)[i]:
            assert planned.desired >= planned.want
            assert planned.want == demand(spec, i, metrics[i])


@settings(max_examples=EXAMPLES, deadline=None)
@given(situations(uncontended=True))
def test_scaling_down_waits_for_the_highest_want_within_the_window(case: Situation) -> None:
    spec, metrics, current, state, now = case
    result = plan(spec, metrics, current, state, now)
    horizon = now.timestamp() - spec.stabilization_window_seconds
    # A fresh planner counts the current replicas as a want of this very moment.
    history = state.history or (Recommendation(now.timestamp(), tuple(current)),)
    recent = [r for r in history if horizon < r.at <= now.timestamp()]
    for i, planned in enumerate(result.phases):
        if stopped(spec, metrics, now)[i] or planned.want >= current[i]:
            continue
        held = max([planned.want, *(r.wants[i] for r in recent)])
        assert planned.desired == min(current[i], held, spec.phases[i].max_replicas)


@settings(max_examples=EXAMPLES, deadline=None)
@given(situations())
def test_the_history_keeps_only_the_window(case: Situation) -> None:
    spec, metrics, current, state, now = case
    result = plan(spec, metrics, current, state, now)
    horizon = now.timestamp() - spec.stabilization_window_seconds
    assert result.state.history[-1] == Recommendation(
        now.timestamp(), tuple(p.want for p in result.phases)
    )
    assert all(horizon < r.at <= now.timestamp() for r in result.state.history[:-1])


# --- Tick after tick --------------------------------------------------------------


@settings(max_examples=EXAMPLES // 3, deadline=None)
@given(
    specs(roomy=True),
    moments,
    st.lists(
        st.tuples(st.integers(1, 120), metrics_triples),
        min_size=2,
        max_size=12,
    ),
)
def test_ticks_fed_their_own_plans_keep_every_invariant(
    spec: ProcessingSpec, start: datetime, ticks: list[tuple[int, list[PhaseMetrics]]]
) -> None:
    """As the operator runs it: each tick's replicas and state are the previous plan's."""
    state, current, now = PlannerState(), [0, 0, 0], start
    for seconds, metrics in ticks:
        now += timedelta(seconds=seconds)
        check_phases_with_jobs_get_a_worker((spec, metrics, current, state, now))
        result = plan(spec, metrics, current, state, now)
        assert result.cpu_millicores <= usable_millicores(spec)
        for i, planned in enumerate(result.phases):
            if planned.reason in NOT_SHORT_OF_CPU and allowed_now(spec, now)[i]:
                phase = spec.phases[i]
                running = math.ceil(metrics[i].running_jobs / phase.jobs_per_worker)
                assert planned.desired >= min(running, phase.max_replicas)
        state, current = result.state, list(result.desired)


# --- Predictive pre-scaling -------------------------------------------------------


def predictive(spec: ProcessingSpec) -> ProcessingSpec:
    return replace(spec, predictive=PredictiveSpec(enabled=True))


def with_crossings(
    metrics: Sequence[PhaseMetrics], crossings: Sequence[float]
) -> list[PhaseMetrics]:
    return [replace(m, expected_crossings=c) for m, c in zip(metrics, crossings, strict=True)]


crossing_triples = st.lists(st.floats(0, 30), min_size=3, max_size=3)


def window_opening(spec: ProcessingSpec, now: datetime) -> bool:
    horizon = predictive(spec).predictive_horizon_seconds
    return window_opens_within(spec, now, horizon, in_off_peak(spec, now))


@settings(max_examples=EXAMPLES, deadline=None)
@given(situations())
def test_with_no_expected_crossings_the_predictive_plan_is_the_reactive_one(
    case: Situation,
) -> None:
    spec, metrics, current, state, now = case
    if window_opening(spec, now):
        return  # the window's opening is a forecast of its own, tested below
    assert plan(predictive(spec), metrics, current, state, now) == plan(
        spec, metrics, current, state, now
    )


@settings(max_examples=EXAMPLES, deadline=None)
@given(situations(), crossing_triples)
def test_a_forecast_adds_workers_only_to_phases_the_reactive_plan_leaves_without_one(
    case: Situation, crossings: list[float]
) -> None:
    spec, metrics, current, state, now = case
    reactive = plan(spec, metrics, current, state, now)
    ahead = plan(predictive(spec), with_crossings(metrics, crossings), current, state, now)
    for before, after in zip(reactive.phases, ahead.phases, strict=True):
        if before.desired > 0:
            assert after.desired == before.desired


@settings(max_examples=EXAMPLES, deadline=None)
@given(situations(), crossing_triples)
def test_with_prediction_on_budgets_pool_caps_and_stranded_jobs_hold(
    case: Situation, crossings: list[float]
) -> None:
    spec, metrics, current, state, now = case
    spec, metrics = predictive(spec), with_crossings(metrics, crossings)
    check_phases_with_jobs_get_a_worker((spec, metrics, current, state, now))
    result = plan(spec, metrics, current, state, now)
    assert result.cpu_millicores <= usable_millicores(spec)
    caps = phase_budget_replicas(spec)
    for i, (phase, planned) in enumerate(zip(spec.phases, result.phases, strict=True)):
        assert 0 <= planned.desired <= min(phase.max_replicas, caps[i])
        assert planned.desired * phase.cpu_per_worker_millicores * 100 <= (
            spec.cpu_pool_millicores * phase.cpu_budget_percent
        )
        if not allowed_now(spec, now)[i] and not window_opening(spec, now):
            assert planned.desired == 0


@settings(max_examples=EXAMPLES, deadline=None)
@given(situations(), crossing_triples)
def test_a_forecast_never_takes_cpu_from_the_reactive_plan(
    case: Situation, crossings: list[float]
) -> None:
    spec, metrics, _, _, now = case
    reactive = plan(spec, metrics, [0, 0, 0], PlannerState(), now)
    ahead = plan(
        predictive(spec), with_crossings(metrics, crossings), [0, 0, 0], PlannerState(), now
    )
    for before, after in zip(reactive.phases, ahead.phases, strict=True):
        assert after.desired >= before.desired
