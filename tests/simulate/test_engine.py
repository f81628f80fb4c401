"""A small simulated morning through the production decisions: the invariants hold."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

import eros.core.phases
import eros.operator.planner
import eros.pipeline.rules
import eros.pipeline.scheduler
from eros.operator.spec import ProcessingSpec
from eros.simulate import engine, policies
from eros.simulate.population import PopulationParams, generate, parse_time_zones
from eros.simulate.run import load_spec, simulated_horizon

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 12, 7, tzinfo=UTC)
HOURS = 2.0


@pytest.fixture(scope="module")
def spec() -> ProcessingSpec:
    return load_spec(ROOT / "examples" / "erosprocessing-large.yaml")


@pytest.fixture(scope="module")
def results(spec: ProcessingSpec) -> list[engine.SimulationResult]:
    start_ms = int(START.timestamp() * 1000)
    periods = generate(
        1000,
        start_ms,
        start_ms + int(HOURS * 3_600_000),
        PopulationParams(time_zones=parse_time_zones("1:1")),
        seed=3,
    )
    chosen: list[policies.Policy] = [
        policies.AlwaysOn(spec, START),
        policies.Reactive(spec),
        policies.Planner(spec),
        policies.Predictive(simulated_horizon(spec, pod_start_seconds=15.0, tick=2.0)),
    ]
    return [
        engine.simulate(spec, periods, p, start=START, hours=HOURS, tick_seconds=2.0)
        for p in chosen
    ]


def test_no_policy_ever_exceeds_a_budget(results: list[engine.SimulationResult]) -> None:
    assert {r.budget_violations for r in results} == {0}


def test_no_job_is_stranded(results: list[engine.SimulationResult]) -> None:
    assert {sum(r.stranded_ticks) for r in results} == {0}


def test_every_enqueued_job_is_done_halted_or_still_fresh(
    results: list[engine.SimulationResult],
) -> None:
    for r in results:
        assert sum(r.jobs_enqueued) > 0
        assert all(
            done <= enqueued for done, enqueued in zip(r.jobs_done, r.jobs_enqueued, strict=True)
        )


def test_the_planner_allocates_less_than_the_always_on_fleet(
    results: list[engine.SimulationResult],
) -> None:
    always_on, _, planner = results[:3]
    assert planner.cpu_hours_allocated < always_on.cpu_hours_allocated
    assert planner.cpu_hours_used <= planner.cpu_hours_allocated


def test_no_job_starts_before_its_user_crossed(results: list[engine.SimulationResult]) -> None:
    for r in results:
        for delays in r.start_delays:
            assert (delays >= 0).all()


def test_simulate_calls_the_production_decisions_not_copies() -> None:
    assert engine.plan is eros.operator.planner.plan
    assert policies.plan is eros.operator.planner.plan  # type: ignore[attr-defined]
    assert engine.enqueue_bounds is eros.pipeline.scheduler.enqueue_bounds
    assert engine.crossing_bounds is eros.pipeline.scheduler.crossing_bounds
    assert engine.phase_for_idle is eros.core.phases.phase_for_idle
    assert engine.enqueue_outcomes is eros.pipeline.rules.enqueue_outcomes
    assert engine.halt_actions is eros.pipeline.rules.halt_actions


def test_no_simulate_module_defines_a_production_decision() -> None:
    production = {
        "plan",
        "enqueue_bounds",
        "crossing_bounds",
        "phase_for_idle",
        "in_window",
        "enqueue_outcomes",
        "halt_actions",
    }
    for path in (ROOT / "simulate").glob("*.py"):
        defined = {
            node.name
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.FunctionDef)
        }
        assert not defined & production, path


def test_users_per_phase_follow_the_thresholds() -> None:
    # One user idle from 0 s, back at 5000 s; thresholds 600/1800/3600 s; ticks of 100 s.
    periods = engine.IdlePeriods(
        users=1,
        user=np.array([0], np.int32),
        start_ms=np.array([0], np.int64),
        end_ms=np.array([5_000_000], np.int64),
    )
    counts = engine.users_per_phase(periods, [600, 1800, 3600], 0, 100_000, 60)
    assert counts[5].tolist() == [0, 0, 0]
    assert counts[6].tolist() == [1, 0, 0]
    assert counts[18].tolist() == [0, 1, 0]
    assert counts[36].tolist() == [0, 0, 1]
    assert counts[50].tolist() == [0, 0, 0]
