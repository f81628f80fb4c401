"""The figures each tick leaves for the dashboards and alerts: ready workers, budgets, the
plan's reasons, the off-peak window and when the last tick ended."""

from __future__ import annotations

from datetime import UTC, datetime

from eros.operator import prometheus
from eros.operator.planner import PhaseMetrics, PlannerState, PlanReason, plan
from eros.operator.spec import parse_spec
from eros.operator.status import DeploymentState

NAMESPACE = "tick-metrics"
NAME = "eros"
# 03:00 UTC is inside the default off-peak window (23:00-07:00 UTC), 12:00 outside it.
NIGHT = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
NOON = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _value(metric: str, **labels: str) -> float | None:
    return prometheus.REGISTRY.get_sample_value(
        metric, {"namespace": NAMESPACE, "name": NAME, **labels}
    )


def _record(now: datetime, ready: tuple[int, int, int] = (0, 1, 2)) -> None:
    spec = parse_spec({"cpuPool": "4", "headroomPercent": 5})
    figures = [PhaseMetrics(idle_users=10, queued_jobs=5, running_jobs=0) for _ in spec.phases]
    planned = plan(spec, figures, [0, 0, 0], PlannerState(), now)
    deployments = [
        DeploymentState(name=f"eros-{phase.name}", replicas=count, ready_replicas=count)
        for phase, count in zip(spec.phases, ready, strict=True)
    ]
    prometheus.record_tick(NAMESPACE, NAME, spec, deployments, planned, now)


def test_a_tick_records_ready_workers_and_each_phases_budget() -> None:
    _record(NIGHT)
    assert _value("eros_operator_ready_replicas", phase="phase-3") == 2
    # Phase 3's budget is 100% of 4 cores, capped by the usable 3.8: three 1-core workers.
    assert _value("eros_operator_budget_replicas", phase="phase-3") == 3
    assert _value("eros_operator_cpu_budget_cores", phase="phase-3") == 3
    assert _value("eros_operator_cpu_usable_cores") == 3.8


def test_exactly_one_reason_is_current_per_phase() -> None:
    _record(NIGHT)
    for phase in ("phase-1", "phase-2", "phase-3"):
        values = {
            reason.value: _value("eros_operator_plan_reason", phase=phase, reason=reason.value)
            for reason in PlanReason
        }
        present = [value for value in values.values() if value is not None]
        assert len(present) == len(values), "every reason has a series"
        assert sorted(present) == [0] * (len(values) - 1) + [1], values


def test_the_off_peak_window_and_the_tick_time_are_recorded() -> None:
    _record(NIGHT)
    assert _value("eros_operator_off_peak_window_open") == 1
    assert _value("eros_operator_last_tick_timestamp_seconds") == NIGHT.timestamp()
    _record(NOON)
    assert _value("eros_operator_off_peak_window_open") == 0
    assert _value("eros_operator_last_tick_timestamp_seconds") == NOON.timestamp()


def test_an_invalid_spec_still_counts_as_a_tick() -> None:
    prometheus.record_tick(NAMESPACE, "invalid", None, [], None, NOON)
    assert (
        prometheus.REGISTRY.get_sample_value(
            "eros_operator_last_tick_timestamp_seconds", {"namespace": NAMESPACE, "name": "invalid"}
        )
        == NOON.timestamp()
    )


def test_forgetting_a_resource_drops_its_tick_series() -> None:
    _record(NIGHT)
    prometheus.forget(NAMESPACE, NAME, ["phase-1", "phase-2", "phase-3"])
    assert _value("eros_operator_ready_replicas", phase="phase-3") is None
    assert _value("eros_operator_plan_reason", phase="phase-3", reason="Demand") is None
    assert _value("eros_operator_last_tick_timestamp_seconds") is None
