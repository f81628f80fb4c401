"""The simulator's pure pieces: population, checkpoints, slots, KEDA's caps, the table."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from eros.operator.planner import PhaseMetrics, phase_budget_replicas, usable_millicores
from eros.simulate.policies import AlwaysOn, Reactive, within_pool
from eros.simulate.population import NEVER_MS, PopulationParams, generate, parse_time_zones
from eros.simulate.report import format_table
from eros.simulate.run import load_spec
from eros.simulate.workers import kept_after_halt, parse_job_cpu, slot_cores

ROOT = Path(__file__).resolve().parents[2]
LARGE = ROOT / "examples" / "erosprocessing-large.yaml"
DAY_MS = 86_400_000


def test_time_zone_shares_are_normalised() -> None:
    assert parse_time_zones("1:3,-5:1") == ((1.0, 0.75), (-5.0, 0.25))


def test_idle_periods_are_sorted_and_end_after_they_start() -> None:
    periods = generate(500, DAY_MS, 2 * DAY_MS, PopulationParams(parse_time_zones("0:1")), 7)
    assert (np.diff(periods.start_ms) >= 0).all()
    assert (periods.end_ms > periods.start_ms).all()
    assert (periods.end_ms > DAY_MS).all() and (periods.start_ms <= 2 * DAY_MS).all()
    # Each user has at most one period without a return: their last.
    never = periods.user[periods.end_ms == NEVER_MS]
    assert len(never) == len(set(never.tolist()))


def test_the_same_seed_gives_the_same_population() -> None:
    params = PopulationParams(parse_time_zones("1:1"))
    a, b = generate(200, 0, DAY_MS, params, 5), generate(200, 0, DAY_MS, params, 5)
    assert (a.start_ms == b.start_ms).all() and (a.end_ms == b.end_ms).all()


def test_a_halt_keeps_work_up_to_the_last_checkpoint_passed() -> None:
    done = np.array([0.1, 0.4, 0.9])
    total = np.array([1.0, 1.0, 1.0])
    assert kept_after_halt(done, total, (1 / 3, 2 / 3)).tolist() == pytest.approx([0, 1 / 3, 2 / 3])
    assert kept_after_halt(done, total, ()).tolist() == [0, 0, 0]


def test_a_worker_runs_one_job_on_its_whole_limit_but_never_more_than_one_core() -> None:
    assert slot_cores(250) == 0.25
    assert slot_cores(2000) == 1.0


def test_job_cpu_takes_three_positive_medians() -> None:
    assert parse_job_cpu("0.1,0.2,3") == (0.1, 0.2, 3.0)
    with pytest.raises(ValueError):
        parse_job_cpu("0.1,0.2")


def test_keda_is_held_to_the_budgets_and_the_pool() -> None:
    spec = load_spec(LARGE)
    granted = within_pool(spec, (100, 100, 100))
    assert all(g <= cap for g, cap in zip(granted, phase_budget_replicas(spec), strict=True))
    used = sum(g * p.cpu_per_worker_millicores for g, p in zip(granted, spec.phases, strict=True))
    assert used <= usable_millicores(spec)


def test_keda_scales_to_zero_only_after_its_cooldown() -> None:
    spec = load_spec(LARGE)
    keda = Reactive(spec)
    at = datetime(2026, 12, 7, 1, tzinfo=UTC)
    busy = [PhaseMetrics(1, 8, 0)] * 3
    empty = [PhaseMetrics(1, 0, 0)] * 3
    assert keda.decide(at, busy, (0, 0, 0), [])[0] == 2  # 8 queued / 4 jobs per worker
    later = datetime.fromtimestamp(at.timestamp() + 60, UTC)
    assert keda.decide(later, empty, (2, 2, 2), [])[0] == 2  # HPA stabilization
    gone = datetime.fromtimestamp(at.timestamp() + 400, UTC)
    assert keda.decide(gone, empty, (2, 2, 2), [])[0] == 0


def test_the_always_on_fleet_is_the_planners_peak_within_the_pool() -> None:
    spec = load_spec(LARGE)
    fleet = AlwaysOn(spec, datetime(2026, 12, 7, tzinfo=UTC)).fleet
    used = sum(n * p.cpu_per_worker_millicores for n, p in zip(fleet, spec.phases, strict=True))
    assert fleet[0] == spec.phases[0].max_replicas and 0 < used <= usable_millicores(spec)


def test_the_table_puts_policies_in_columns() -> None:
    text = format_table([{"policy": "a", "x": "1"}, {"policy": "bb", "x": "22"}])
    assert text.splitlines() == ["policy  a  bb", "x       1  22"]
