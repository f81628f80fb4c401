"""The planner: property tests for every invariant, and table tests of typical days."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eros.operator.planner import (
    PhaseMetrics,
    Plan,
    PlannerState,
    PlanReason,
    Recommendation,
    phase_budget_replicas,
    plan,
    usable_millicores,
)
from eros.operator.spec import DEFAULT_PHASES, ProcessingSpec, parse_spec

NAMES = ("phase-1", "phase-2", "phase-3")
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PROPERTY_EXAMPLES = 300


@st.composite
def specs(draw: st.DrawFn, *, uncontended: bool = False) -> ProcessingSpec:
    """Valid specs; `uncontended` ones have budgets so large that no phase is ever capped."""
    pool = draw(st.integers(100, 64_000))
    phases = []
    for number, name in enumerate(NAMES, start=1):
        min_replicas = draw(st.integers(0, 4))
        phases.append(
            {
                "name": name,
                "idleAfter": f"{number * 10}m",
                "cpuBudgetPercent": 100 if uncontended else draw(st.integers(0, 100)),
                "cpuPerWorker": f"{draw(st.integers(1, 1 if uncontended else pool))}m",
                "jobsPerWorker": draw(st.integers(1, 5)),
                "minReplicas": min_replicas,
                "maxReplicas": draw(st.integers(min_replicas, 20)),
                "queue": f"q{number}",
                "offPeakOnly": draw(st.booleans()),
            }
        )
    raw: dict[str, Any] = {
        "cpuPool": f"{max(pool, 10_000) if uncontended else pool}m",
        "headroomPercent": 0 if uncontended else draw(st.integers(0, 50)),
        "phases": phases,
        "priority": draw(st.sampled_from([[], *map(list, _permutations(NAMES))])),
        "scaleDown": {"stabilizationWindowSeconds": draw(st.integers(0, 600))},
        "offPeak": {"start": "23:00", "end": "07:00", "timeZone": "Europe/Berlin"},
    }
    return parse_spec(raw)


def _permutations(items: Sequence[str]) -> list[tuple[str, ...]]:
    from itertools import permutations

    return list(permutations(items))


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
def situations(
    draw: st.DrawFn, *, uncontended: bool = False
) -> tuple[ProcessingSpec, list[PhaseMetrics], list[int], PlannerState, datetime]:
    now = draw(moments)
    return (
        draw(specs(uncontended=uncontended)),
        draw(metrics_triples),
        draw(replica_triples),
        draw(histories(now)),
        now,
    )


def blocked(spec: ProcessingSpec, metrics: Sequence[PhaseMetrics], result: Plan) -> list[bool]:
    return [
        figures.idle_users == 0 or planned.reason is PlanReason.OFF_PEAK
        for figures, planned in zip(metrics, result.phases, strict=True)
    ]


def demand(spec: ProcessingSpec, i: int, figures: PhaseMetrics) -> int:
    phase = spec.phases[i]
    wanted = math.ceil((figures.queued_jobs + figures.running_jobs) / phase.jobs_per_worker)
    return min(max(wanted, phase.min_replicas), phase.max_replicas)


# --- Invariants -------------------------------------------------------------------


@settings(max_examples=PROPERTY_EXAMPLES, deadline=None)
@given(situations())
def test_no_phase_uses_more_cpu_than_its_budget_share_of_the_pool(case: Any) -> None:
    spec, metrics, current, state, now = case
    result = plan(spec, metrics, current, state, now)
    for phase, planned in zip(spec.phases, result.phases, strict=True):
        used = planned.desired * phase.cpu_per_worker_millicores
        assert used * 100 <= spec.cpu_pool_millicores * phase.cpu_budget_percent
        assert planned.cpu_millicores == used


@settings(max_examples=PROPERTY_EXAMPLES, deadline=None)
@given(situations())
def test_all_phases_together_stay_within_the_pool_less_the_headroom(case: Any) -> None:
    spec, metrics, current, state, now = case
    result = plan(spec, metrics, current, state, now)
    total = sum(
        p.desired * phase.cpu_per_worker_millicores
        for p, phase in zip(result.phases, spec.phases, strict=True)
    )
    assert total * 100 <= spec.cpu_pool_millicores * (100 - spec.headroom_percent)
    assert total == result.cpu_millicores <= usable_millicores(spec)


@settings(max_examples=PROPERTY_EXAMPLES, deadline=None)
@given(situations())
def test_a_phase_without_idle_users_has_no_workers(case: Any) -> None:
    spec, metrics, current, state, now = case
    result = plan(spec, metrics, current, state, now)
    for figures, planned in zip(metrics, result.phases, strict=True):
        if figures.idle_users == 0:
            assert planned.desired == 0
            assert planned.reason is PlanReason.NO_IDLE_USERS


@settings(max_examples=PROPERTY_EXAMPLES, deadline=None)
@given(situations(), st.data())
def test_demand_counts_running_jobs_like_queued_ones(case: Any, data: st.DataObject) -> None:
    spec, metrics, current, state, now = case
    moved = [
        PhaseMetrics(m.idle_users, q, m.jobs - q)
        for m in metrics
        for q in [data.draw(st.integers(0, m.jobs))]
    ]
    assert plan(spec, metrics, current, state, now) == plan(spec, moved, current, state, now)


@settings(max_examples=PROPERTY_EXAMPLES, deadline=None)
@given(situations(uncontended=True))
def test_without_contention_a_fresh_phase_gets_exactly_its_demand(case: Any) -> None:
    spec, metrics, _, _, now = case
    result = plan(spec, metrics, [0, 0, 0], PlannerState(), now)
    for i, (figures, planned) in enumerate(zip(metrics, result.phases, strict=True)):
        expected = 0 if blocked(spec, metrics, result)[i] else demand(spec, i, figures)
        assert planned.desired == expected


@settings(max_examples=PROPERTY_EXAMPLES, deadline=None)
@given(situations(uncontended=True))
def test_scaling_up_is_immediate(case: Any) -> None:
    spec, metrics, current, state, now = case
    result = plan(spec, metrics, current, state, now)
    for i, planned in enumerate(result.phases):
        if not blocked(spec, metrics, result)[i]:
            assert planned.desired >= planned.want
            assert planned.want == demand(spec, i, metrics[i])


@settings(max_examples=PROPERTY_EXAMPLES, deadline=None)
@given(situations(uncontended=True))
def test_scaling_down_waits_for_the_highest_want_within_the_window(case: Any) -> None:
    spec, metrics, current, state, now = case
    result = plan(spec, metrics, current, state, now)
    horizon = now.timestamp() - spec.stabilization_window_seconds
    # A fresh planner counts the current replicas as a want of this very moment.
    history = state.history or (Recommendation(now.timestamp(), tuple(current)),)
    recent = [r for r in history if horizon < r.at <= now.timestamp()]
    for i, planned in enumerate(result.phases):
        if blocked(spec, metrics, result)[i] or planned.want >= current[i]:
            continue
        held = max([planned.want, *(r.wants[i] for r in recent)])
        assert planned.desired == min(current[i], held, spec.phases[i].max_replicas)


@settings(max_examples=PROPERTY_EXAMPLES, deadline=None)
@given(situations())
def test_over_subscription_is_resolved_in_priority_order(case: Any) -> None:
    spec, metrics, _, _, now = case
    # A fresh planner from zero replicas: what each phase gets is only a matter of budgets.
    result = plan(spec, metrics, [0, 0, 0], PlannerState(), now)
    caps = phase_budget_replicas(spec)
    is_blocked = blocked(spec, metrics, result)
    floors = [
        0 if is_blocked[i] else min(spec.phases[i].min_replicas, p.want)
        for i, p in enumerate(result.phases)
    ]
    for rank, number in enumerate(spec.priority):
        a = number - 1
        short = result.phases[a].desired < min(result.phases[a].want, caps[a])
        if not short:
            continue
        # A higher-priority phase is short of CPU only because the pool ran out: lower
        # ones got, beyond their minReplicas, less CPU than one more worker of it needs.
        extra = sum(
            (result.phases[b - 1].desired - min(floors[b - 1], result.phases[b - 1].desired))
            * spec.phases[b - 1].cpu_per_worker_millicores
            for b in spec.priority[rank + 1 :]
        )
        assert extra < spec.phases[a].cpu_per_worker_millicores
        assert result.phases[a].reason is PlanReason.POOL_LIMITED


@settings(max_examples=PROPERTY_EXAMPLES, deadline=None)
@given(situations())
def test_the_plan_is_never_above_max_replicas_nor_negative(case: Any) -> None:
    spec, metrics, current, state, now = case
    result = plan(spec, metrics, current, state, now)
    for phase, planned in zip(spec.phases, result.phases, strict=True):
        assert 0 <= planned.desired <= phase.max_replicas


@settings(max_examples=PROPERTY_EXAMPLES, deadline=None)
@given(situations())
def test_the_history_keeps_only_the_window(case: Any) -> None:
    spec, metrics, current, state, now = case
    result = plan(spec, metrics, current, state, now)
    horizon = now.timestamp() - spec.stabilization_window_seconds
    assert result.state.history[-1] == Recommendation(
        now.timestamp(), tuple(p.want for p in result.phases)
    )
    assert all(horizon < r.at <= now.timestamp() for r in result.state.history[:-1])


def test_a_restarted_planner_does_not_scale_down_at_once() -> None:
    spec = parse_spec({})
    idle = [PhaseMetrics(1, 0, 0)] * 3

    first = plan(spec, idle, [2, 2, 3], PlannerState(), T0)
    later = plan(spec, idle, [2, 2, 3], first.state, T0 + timedelta(seconds=301))

    assert first.desired == (2, 2, 3)
    assert later.desired == (0, 0, 0)


def test_metrics_and_replicas_must_cover_every_phase() -> None:
    with pytest.raises(ValueError, match="one entry per phase"):
        plan(parse_spec({}), [PhaseMetrics(1, 1, 1)], [0, 0, 0], PlannerState(), T0)


# --- Typical days -------------------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    at: str  # HH:MM UTC, "+1" for the next day
    idle: tuple[int, int, int]
    jobs: tuple[int, int, int]  # queued + running per phase, half of them running
    desired: tuple[int, int, int]
    reasons: tuple[str, str, str] | None = None


def run_day(spec: ProcessingSpec, day: Sequence[Moment]) -> None:
    state = PlannerState()
    current = [0, 0, 0]
    for moment in day:
        clock, _, days = moment.at.partition("+")
        hours, minutes = map(int, clock.split(":"))
        now = T0.replace(hour=hours, minute=minutes) + timedelta(days=int(days or 0))
        metrics = [
            PhaseMetrics(users, jobs - jobs // 2, jobs // 2)
            for users, jobs in zip(moment.idle, moment.jobs, strict=True)
        ]
        result = plan(spec, metrics, current, state, now)
        assert result.desired == moment.desired, moment
        if moment.reasons is not None:
            assert tuple(p.reason.value for p in result.phases) == moment.reasons, moment
        state, current = result.state, list(result.desired)


# The default resource: 4 cores, 5 % headroom (3.8 usable); phase 1 may use 5 % (200m =
# 2 workers of 100m), phase 2 15 % (600m = 2 workers of 250m), phase 3 the rest (3 x 1 core).
DEFAULT_DAY = [
    Moment(
        "03:00",
        (0, 0, 40),
        (0, 0, 30),
        (0, 0, 3),
        ("NoIdleUsers", "NoIdleUsers", "PhaseBudgetLimited"),
    ),
    Moment(
        "03:01",
        (0, 0, 40),
        (0, 0, 1),
        (0, 0, 3),
        ("NoIdleUsers", "NoIdleUsers", "ScaleDownStabilizing"),
    ),
    Moment("03:07", (0, 0, 40), (0, 0, 1), (0, 0, 1), ("NoIdleUsers", "NoIdleUsers", "Demand")),
    Moment("07:30", (0, 0, 0), (0, 0, 1), (0, 0, 0)),  # everyone wakes up: at once to 0
    Moment(
        "09:00",
        (20, 0, 0),
        (5, 0, 0),
        (2, 0, 0),
        ("PhaseBudgetLimited", "NoIdleUsers", "NoIdleUsers"),
    ),
    Moment("09:20", (10, 15, 0), (2, 3, 0), (2, 2, 0)),
    Moment(
        "09:22",
        (5, 15, 0),
        (0, 1, 0),
        (2, 2, 0),
        ("ScaleDownStabilizing", "ScaleDownStabilizing", "NoIdleUsers"),
    ),
    Moment("09:28", (5, 15, 0), (0, 1, 0), (0, 1, 0), ("Demand", "Demand", "NoIdleUsers")),
    Moment("13:00", (30, 8, 2), (12, 6, 2), (2, 2, 2)),
    Moment("18:00", (3, 0, 0), (1, 0, 0), (1, 0, 0)),
]


def test_a_typical_day_with_the_default_resource() -> None:
    run_day(parse_spec({"scaleDown": {"stabilizationWindowSeconds": 300}}), DEFAULT_DAY)


# A small pool shared by all phases: 2 cores, 10 % headroom = 1800m usable, every phase
# may use all of it, so the priority order decides who gets CPU.
def contended(priority: list[str]) -> ProcessingSpec:
    phases = [
        {**p, "cpuBudgetPercent": 100, "cpuPerWorker": cpu, "maxReplicas": 10}
        for p, cpu in zip(DEFAULT_PHASES, ("200m", "500m", "1"), strict=True)
    ]
    phases[0]["minReplicas"] = 1
    return parse_spec(
        {
            "cpuPool": "2",
            "headroomPercent": 10,
            "phases": phases,
            "priority": priority,
            "scaleDown": {"stabilizationWindowSeconds": 0},
        }
    )


def test_an_over_subscribed_evening_serves_the_deepest_phase_first_by_default() -> None:
    run_day(
        contended([]),
        [
            # Phase 1 keeps its minReplicas (200m), phase 3 takes its one core, phase 2 one
            # 500m worker of the 600m left; the last 100m fits no worker.
            Moment(
                "20:00",
                (10, 10, 10),
                (10, 10, 10),
                (1, 1, 1),
                ("PoolLimited", "PoolLimited", "PhaseBudgetLimited"),
            ),
            # Phase 3 is done: phase 2 takes the 3 workers 1800m allows it, phase 1 the rest.
            Moment(
                "21:00",
                (10, 10, 0),
                (10, 10, 0),
                (1, 3, 0),
                ("PoolLimited", "PhaseBudgetLimited", "NoIdleUsers"),
            ),
        ],
    )


def test_an_over_subscribed_evening_follows_a_custom_priority() -> None:
    run_day(
        contended(["phase-1", "phase-2", "phase-3"]),
        [
            # Phase 1 first: 9 workers x 200m = 1800m, nothing left for the others.
            Moment(
                "20:00",
                (10, 10, 10),
                (10, 10, 10),
                (9, 0, 0),
                ("PhaseBudgetLimited", "PoolLimited", "PoolLimited"),
            ),
            Moment(
                "21:00",
                (10, 10, 10),
                (2, 10, 10),
                (2, 2, 0),
                ("Demand", "PoolLimited", "PoolLimited"),
            ),
        ],
    )


def test_an_off_peak_only_phase_runs_only_inside_its_window() -> None:
    phases = [dict(p) for p in DEFAULT_PHASES]
    phases[2]["offPeakOnly"] = True
    spec = parse_spec(
        {
            "phases": phases,
            "offPeak": {"start": "23:00", "end": "07:00", "timeZone": "Europe/Berlin"},
            "scaleDown": {"stabilizationWindowSeconds": 0},
        }
    )
    run_day(
        spec,
        [
            # 21:30 UTC is 22:30 in Berlin in March (CET): outside the window.
            Moment(
                "21:30",
                (0, 0, 9),
                (0, 0, 9),
                (0, 0, 0),
                ("NoIdleUsers", "NoIdleUsers", "OutsideOffPeakWindow"),
            ),
            Moment("22:30", (0, 0, 9), (0, 0, 9), (0, 0, 3)),
            Moment("05:59+1", (0, 0, 9), (0, 0, 9), (0, 0, 3)),
            Moment("06:00+1", (0, 0, 9), (0, 0, 9), (0, 0, 0)),
        ],
    )
