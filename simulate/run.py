"""One `eros simulate` run: the population once, every policy over it, then the report."""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

from eros.operator.spec import ProcessingSpec, parse_spec
from eros.simulate import policies as policy_module
from eros.simulate.engine import SimulationResult, simulate
from eros.simulate.population import PopulationParams, generate
from eros.simulate.report import format_table, summary_rows, write_csv, write_figures, write_html
from eros.simulate.workers import JobCosts

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    resource: Path
    users: int
    hours: float
    seed: int
    tick_seconds: float | None
    start: datetime
    population: PopulationParams
    costs: JobCosts
    pod_start_seconds: float
    policies: tuple[str, ...]
    out: Path | None


def load_spec(path: Path) -> ProcessingSpec:
    document = yaml.safe_load(path.read_text())
    return parse_spec(document.get("spec", document))


def build_policies(
    names: Sequence[str],
    spec: ProcessingSpec,
    options: RunOptions,
    tick: float,
    say: Callable[[str], None],
) -> list[policy_module.Policy]:
    built: list[policy_module.Policy] = []
    for name in names:
        if name == "always-on":
            built.append(policy_module.AlwaysOn(spec, options.start))
        elif name == "reactive":
            built.append(policy_module.Reactive(spec))
        elif name == "planner":
            built.append(policy_module.Planner(spec))
        elif name == "predictive":
            built.append(
                policy_module.Predictive(simulated_horizon(spec, options.pod_start_seconds, tick))
            )
        else:
            raise ValueError(
                f"unknown policy {name!r}; known: {', '.join(policy_module.POLICY_NAMES)}"
            )
    return built


def simulated_horizon(
    spec: ProcessingSpec, pod_start_seconds: float, tick: float
) -> ProcessingSpec:
    """The resource, its forecast horizon set when it has none: the simulated pod start
    delay plus one tick, as the operator's default is its assumed delay plus one tick."""
    if spec.predictive.horizon_seconds is not None:
        return spec
    seconds = math.ceil(pod_start_seconds + tick)
    predictive = dataclasses.replace(spec.predictive, horizon_seconds=seconds)
    return dataclasses.replace(spec, predictive=predictive)


def run(options: RunOptions, say: Callable[[str], None] = print) -> list[SimulationResult]:
    spec = load_spec(options.resource)
    tick = options.tick_seconds or float(spec.tick_seconds)
    start_ms = int(options.start.timestamp() * 1000)
    began = time.perf_counter()
    periods = generate(
        options.users,
        start_ms,
        start_ms + int(options.hours * 3_600_000),
        options.population,
        options.seed,
    )
    say(
        f"{options.users:,} users, {len(periods):,} idle periods "
        f"in {time.perf_counter() - began:.1f} s."
    )
    results = []
    for policy in build_policies(options.policies, spec, options, tick, say):
        began = time.perf_counter()
        result = simulate(
            spec,
            periods,
            policy,
            start=options.start,
            hours=options.hours,
            tick_seconds=tick,
            pod_start_seconds=options.pod_start_seconds,
            costs=options.costs,
            seed=options.seed,
        )
        result.wall_seconds = time.perf_counter() - began
        ratio = options.hours * 3600 / result.wall_seconds
        say(
            f"{policy.name}: {options.hours:g} h simulated in {result.wall_seconds:.1f} s "
            f"({ratio:,.0f}x real time)."
        )
        results.append(result)
    rows = summary_rows(results, options.hours)
    say(format_table(rows))
    if options.out is not None and results:
        options.out.mkdir(parents=True, exist_ok=True)
        write_csv(results, options.out / "minutes.csv")
        figures = write_figures(results, options.out)
        heading = (
            f"{options.users:,} users, {options.hours:g} h, {options.resource.name}, "
            f"seed {options.seed}"
        )
        write_html(rows, figures, options.out / "report.html", heading)
        say(
            f"Wrote {options.out / 'minutes.csv'}, {len(figures)} PNGs "
            f"and {options.out / 'report.html'}."
        )
    return results
