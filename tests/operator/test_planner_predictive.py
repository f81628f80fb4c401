"""Predictive pre-scaling, by example: which phases a forecast brings up, and when.

The invariants with prediction on (budgets, pool, no stranded jobs, never less than the
reactive plan) are in `test_planner_properties.py`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eros.operator.planner import (
    PhaseMetrics,
    PlannerState,
    PlanReason,
    plan,
)
from eros.operator.spec import DEFAULT_PHASES, ProcessingSpec, parse_spec

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
# 23:00 in Berlin in March (CET) is 22:00 UTC.
WINDOW_OPENS = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)
HORIZON_SECONDS = 20


def predictive_spec(**extra: object) -> ProcessingSpec:
    return parse_spec(
        {
            "predictive": {"enabled": True, "horizonSeconds": HORIZON_SECONDS},
            "scaleDown": {"stabilizationWindowSeconds": 0},
            **extra,
        }
    )


OFF_PEAK = {
    "phases": [{**phase, "offPeakOnly": i == 2} for i, phase in enumerate(DEFAULT_PHASES)],
    "offPeak": {"start": "23:00", "end": "07:00", "timeZone": "Europe/Berlin"},
}


def off_peak_spec() -> ProcessingSpec:
    return predictive_spec(**OFF_PEAK)


def decide(spec: ProcessingSpec, metrics: list[PhaseMetrics], now: datetime = T0) -> list[int]:
    return list(plan(spec, metrics, [0, 0, 0], PlannerState(), now).desired)


def test_a_phase_without_a_worker_gets_one_before_its_first_user_crosses_in() -> None:
    spec = predictive_spec()
    coming = PhaseMetrics(idle_users=0, queued_jobs=0, running_jobs=0, expected_crossings=1.0)
    result = plan(
        spec, [PhaseMetrics(3, 0, 0), coming, PhaseMetrics(0, 0, 0)], [0, 0, 0], PlannerState(), T0
    )
    assert result.desired[1] == 1
    assert result.phases[1].reason is PlanReason.EXPECTED_CROSSINGS


def test_less_than_half_a_user_expected_brings_no_worker() -> None:
    unlikely = PhaseMetrics(0, 0, 0, expected_crossings=0.4)
    assert decide(predictive_spec(), [PhaseMetrics(0, 0, 0), unlikely, PhaseMetrics(0, 0, 0)]) == [
        0,
        0,
        0,
    ]


def test_a_phase_with_a_worker_up_gets_none_more_for_the_users_about_to_cross_in() -> None:
    spec = predictive_spec()
    busy = PhaseMetrics(idle_users=5, queued_jobs=0, running_jobs=1, expected_crossings=30.0)
    reactive = {"scaleDown": {"stabilizationWindowSeconds": 0}, "predictive": {"enabled": False}}
    without = decide(parse_spec(reactive), [busy] * 3)
    assert decide(spec, [busy] * 3) == without


def test_an_off_peak_phase_is_up_when_its_window_opens_for_the_users_waiting_for_it() -> None:
    spec = off_peak_spec()
    waiting = [PhaseMetrics(0, 0, 0), PhaseMetrics(0, 0, 0), PhaseMetrics(2, 0, 0)]
    before = WINDOW_OPENS - timedelta(seconds=HORIZON_SECONDS + 1)
    ahead = WINDOW_OPENS - timedelta(seconds=HORIZON_SECONDS - 1)
    assert decide(spec, waiting, before) == [0, 0, 0]
    result = plan(spec, waiting, [0, 0, 0], PlannerState(), ahead)
    assert result.desired[2] == 2
    assert result.phases[2].reason is PlanReason.EXPECTED_CROSSINGS


def test_with_prediction_off_an_off_peak_phase_waits_for_its_window_to_open() -> None:
    spec = parse_spec({**OFF_PEAK, "predictive": {"enabled": False}})
    waiting = [PhaseMetrics(0, 0, 0), PhaseMetrics(0, 0, 0), PhaseMetrics(500, 0, 0)]
    assert decide(spec, waiting, WINDOW_OPENS - timedelta(seconds=1)) == [0, 0, 0]
