"""The status the operator writes: per phase figures and the KEDA-style conditions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from eros.operator.planner import PhaseMetrics, PlannerState, plan
from eros.operator.spec import DEFAULT_PHASES, parse_spec
from eros.operator.status import (
    DeploymentState,
    Observation,
    Problem,
    build_status,
    invalid_spec_status,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SPEC = parse_spec({})
METRICS = [PhaseMetrics(5, 3, 1), PhaseMetrics(2, 0, 0), PhaseMetrics(1, 2, 0)]
DEPLOYMENTS = [
    DeploymentState("eros-phase-1", 2, 1, cpu_millicores=100),
    DeploymentState("eros-phase-2", 0, 0, cpu_millicores=250),
    DeploymentState("eros-phase-3", 1, 1, cpu_millicores=1000),
]


def conditions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status["conditions"]}


def healthy() -> Observation:
    result = plan(SPEC, METRICS, [2, 0, 1], PlannerState(), NOW)
    return Observation(METRICS, result, result.desired, DEPLOYMENTS)


def test_a_healthy_tick_reports_every_phase_and_the_totals() -> None:
    status = build_status(SPEC, healthy(), {}, NOW, generation=4, last_scale_time=NOW)

    assert status["observedGeneration"] == 4
    assert status["idleUsers"] == "5/2/1"
    assert status["desiredReplicas"] == 4
    assert (status["replicas"], status["readyReplicas"]) == (3, 2)
    # What the Deployments hold (2 x 100m + 1 x 1), not what the plan wants (4 replicas).
    assert status["cpuAllocated"] == "1200m"
    assert status["lastScaleTime"] == "2026-03-02T12:00:00Z"
    first = status["phases"][0]
    assert first == {
        "name": "phase-1",
        "idleUsers": 5,
        "queuedJobs": 3,
        "runningJobs": 1,
        "deployment": "eros-phase-1",
        "desiredReplicas": 2,
        "currentReplicas": 2,
        "readyReplicas": 1,
        "cpuAllocated": "200m",
        "budgetReplicas": 2,
        "reason": "PhaseBudgetLimited",
    }
    found = conditions(status)
    assert {k: v["status"] for k, v in found.items()} == {
        "Ready": "True",
        "Active": "True",
        "Degraded": "False",
        "Paused": "False",
    }
    assert all(c["observedGeneration"] == 4 for c in found.values())


def test_a_condition_keeps_its_transition_time_until_its_status_changes() -> None:
    first = build_status(SPEC, healthy(), {}, NOW, 1, None)
    later = NOW + timedelta(minutes=5)
    same = build_status(SPEC, healthy(), first, later, 1, None)
    assert conditions(same)["Ready"]["lastTransitionTime"] == "2026-03-02T12:00:00Z"

    degraded = Observation(
        None, None, (2, 0, 1), DEPLOYMENTS, degraded=Problem("MetricsUnavailable", "Redis down.")
    )
    flipped = build_status(SPEC, degraded, same, later, 1, None)
    assert conditions(flipped)["Degraded"]["status"] == "True"
    assert conditions(flipped)["Degraded"]["lastTransitionTime"] == "2026-03-02T12:05:00Z"
    assert conditions(flipped)["Ready"]["lastTransitionTime"] == "2026-03-02T12:00:00Z"


def test_a_degraded_tick_keeps_the_last_figures_and_the_replicas() -> None:
    before = build_status(SPEC, healthy(), {}, NOW, 1, NOW)
    degraded = Observation(
        None,
        None,
        tuple(d.replicas for d in DEPLOYMENTS),
        DEPLOYMENTS,
        degraded=Problem("MetricsUnavailable", "Redis at redis://r:6379 is unreachable."),
    )
    status = build_status(SPEC, degraded, before, NOW + timedelta(seconds=5), 1, None)

    assert status["idleUsers"] == "5/2/1"
    assert [p["desiredReplicas"] for p in status["phases"]] == [2, 0, 1]
    assert status["phases"][0]["reason"] == "MetricsUnavailable"
    assert status["lastScaleTime"] == before["lastScaleTime"]
    message = conditions(status)["Degraded"]["message"]
    assert "unreachable" in message and "kept" in message


def test_no_workers_means_not_active() -> None:
    stopped = [DeploymentState(d.name, 0, 0, d.cpu_millicores) for d in DEPLOYMENTS]
    idle = Observation(METRICS, None, (0, 0, 0), stopped)
    assert conditions(build_status(SPEC, idle, {}, NOW, 1, None))["Active"]["status"] == "False"


def test_a_paused_resource_says_so() -> None:
    paused = parse_spec({"paused": True})
    seen = Observation(METRICS, None, (2, 0, 1), DEPLOYMENTS)
    status = build_status(paused, seen, {}, NOW, 1, None)
    assert conditions(status)["Paused"]["status"] == "True"
    assert status["phases"][0]["reason"] == "Paused"


def test_a_paused_resource_reports_the_cpu_its_deployments_hold_not_the_spec() -> None:
    edited = [{**DEFAULT_PHASES[0], "cpuPerWorker": "500m"}, *DEFAULT_PHASES[1:]]
    paused = parse_spec({"paused": True, "phases": edited})
    seen = Observation(None, None, (2, 0, 1), DEPLOYMENTS)
    status = build_status(paused, seen, {}, NOW, 1, None)
    assert status["phases"][0]["cpuAllocated"] == "200m"
    assert status["cpuAllocated"] == "1200m"


def test_active_counts_the_replicas_that_run_not_those_the_plan_wants() -> None:
    stopped = [DeploymentState(d.name, 0, 0, d.cpu_millicores) for d in DEPLOYMENTS]
    scaling_up = build_status(
        SPEC, Observation(METRICS, None, (2, 0, 1), stopped), {}, NOW, 1, None
    )
    active = conditions(scaling_up)["Active"]
    assert (active["status"], active["reason"]) == ("False", "NoWorkers")


def test_an_invalid_spec_keeps_the_phase_figures_and_says_what_still_runs() -> None:
    before = build_status(SPEC, healthy(), {}, NOW, 1, NOW)
    status = invalid_spec_status("priority must list every phase", DEPLOYMENTS, before, NOW, 2)
    assert status["phases"] == before["phases"]
    assert status["observedGeneration"] == 2
    assert (status["replicas"], status["readyReplicas"], status["cpuAllocated"]) == (
        3,
        2,
        "1200m",
    )
    found = conditions(status)
    assert (found["Ready"]["status"], found["Ready"]["reason"]) == ("False", "InvalidSpec")
    assert "priority" in found["Ready"]["message"]
    assert (found["Active"]["status"], found["Active"]["message"]) == (
        "True",
        "3 worker replicas run across all phases.",
    )
    assert found["Degraded"]["reason"] == found["Paused"]["reason"] == "InvalidSpec"


def test_an_invalid_spec_with_nothing_running_is_not_active() -> None:
    stopped = [None, None, None]
    status = invalid_spec_status("phases must list exactly 3 phases", stopped, {}, NOW, 1)
    assert conditions(status)["Active"]["status"] == "False"
    assert status["cpuAllocated"] == "0"
