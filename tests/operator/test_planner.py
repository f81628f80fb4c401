"""The planner, by example: single decisions and table tests of typical days.

The invariants for every input are in `test_planner_properties.py`, a whole night of
users drifting from phase 1 to phase 3 in `test_planner_night.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from eros.operator.planner import PhaseMetrics, PlannerState, plan
from eros.operator.spec import DEFAULT_PHASES, ProcessingSpec, parse_spec

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


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


def test_a_phase_whose_band_emptied_keeps_workers_for_its_jobs_without_min_replicas() -> None:
    phases = [dict(p) for p in DEFAULT_PHASES]
    phases[1]["minReplicas"] = 2
    spec = parse_spec({"phases": phases})
    metrics = [PhaseMetrics(0, 1, 0), PhaseMetrics(0, 0, 1), PhaseMetrics(3, 0, 0)]

    result = plan(spec, metrics, [0, 0, 0], PlannerState(), T0)

    assert result.desired == (1, 1, 0)
    assert [p.reason.value for p in result.phases] == ["Draining", "Draining", "Demand"]


def test_a_draining_phase_lets_its_worker_go_at_once_when_its_last_job_is_done() -> None:
    spec = parse_spec({})
    draining = [PhaseMetrics(0, 0, 1), PhaseMetrics(0, 0, 0), PhaseMetrics(0, 0, 0)]
    first = plan(spec, draining, [0, 0, 0], PlannerState(), T0)

    done = [PhaseMetrics(0, 0, 0)] * 3
    later = plan(spec, done, list(first.desired), first.state, T0 + timedelta(seconds=5))

    assert first.desired == (1, 0, 0)
    assert later.desired == (0, 0, 0)
    assert later.phases[0].reason.value == "NoIdleUsers"


def test_a_busy_deep_phase_leaves_a_worker_to_every_other_phase_with_jobs() -> None:
    # 2 cores less 10 % = 1800m; phase 3's three 500m workers and phase 2's one would
    # leave 50m, no worker for phase 1, if the deepest phase were simply served first.
    phases = [{**p, "cpuBudgetPercent": 100} for p in DEFAULT_PHASES]
    phases[2]["cpuPerWorker"] = "500m"
    spec = parse_spec({"cpuPool": "2", "headroomPercent": 10, "phases": phases})
    metrics = [PhaseMetrics(0, 5, 0), PhaseMetrics(0, 5, 0), PhaseMetrics(9, 9, 0)]

    result = plan(spec, metrics, [0, 0, 0], PlannerState(), T0)

    # A worker each first (500m + 250m + 100m), then the 950m left in priority order:
    # one more for phase 3, one for phase 2, the last 200m for two of phase 1.
    assert result.desired == (3, 2, 2)
    assert [p.reason.value for p in result.phases] == ["PoolLimited"] * 3


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
    # Everyone wakes up: their jobs are halted, nothing is left to do, so at once to 0.
    Moment("07:30", (0, 0, 0), (0, 0, 0), (0, 0, 0)),
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
            # Every phase with jobs gets a worker before any priority: 200m + 500m + 1
            # core = 1700m; the 100m left fits no further worker, not even phase 1's.
            Moment(
                "20:00",
                (10, 10, 10),
                (10, 10, 10),
                (1, 1, 1),
                ("PoolLimited", "PoolLimited", "PhaseBudgetLimited"),
            ),
            # Phase 3 has idle users but no jobs: of the 1100m its core leaves, phase 1
            # takes five more 200m workers first; the last 100m fits no phase-2 worker.
            Moment(
                "21:00",
                (10, 10, 10),
                (10, 10, 0),
                (6, 1, 0),
                ("PoolLimited", "PoolLimited", "Demand"),
            ),
            # Phase 1 gets its whole demand first, phase 2 what is left (900m: one more).
            Moment(
                "22:00",
                (10, 10, 10),
                (2, 10, 0),
                (2, 2, 0),
                ("Demand", "PoolLimited", "Demand"),
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
            # The window closes with jobs left: they stay queued for the next window.
            Moment(
                "06:00+1",
                (0, 0, 9),
                (0, 0, 9),
                (0, 0, 0),
                ("NoIdleUsers", "NoIdleUsers", "OutsideOffPeakWindow"),
            ),
        ],
    )
