"""`eros simulate` end to end on a tiny population: the table, the CSV, the PNGs, the page."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

from eros.cli.main import main
from eros.simulate.policies import Predictive
from eros.simulate.run import load_spec, simulated_horizon

ROOT = Path(__file__).resolve().parents[2]


def test_simulate_writes_its_table_csv_figures_and_one_self_contained_page(
    tmp_path: Path,
) -> None:
    out = tmp_path / "report"
    code = main(
        [
            "simulate",
            "--resource",
            str(ROOT / "examples" / "erosprocessing-small.yaml"),
            "--users",
            "200",
            "--hours",
            "1",
            "--policies",
            "always-on,planner",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    with (out / "minutes.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {row["policy"] for row in rows} == {"always-on", "planner"}
    assert sorted(p.name for p in out.glob("*.png")) == [
        "cpu.png",
        "halts.png",
        "jobs.png",
        "users.png",
        "workers.png",
    ]
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 5 and "budget violations" in page


def test_predictive_forecasts_over_the_resources_horizon_else_the_simulated_pod_start() -> None:
    spec = load_spec(ROOT / "examples" / "erosprocessing-large.yaml")
    unset = replace(spec, predictive=replace(spec.predictive, horizon_seconds=None))
    assert Predictive(simulated_horizon(unset, 15.0, 5.0)).horizon_seconds == 20.0
    assert Predictive(simulated_horizon(unset, 15.0, 2.5)).horizon_seconds == 18.0
    own = replace(spec, predictive=replace(spec.predictive, horizon_seconds=42))
    assert Predictive(simulated_horizon(own, 15.0, 5.0)).horizon_seconds == 42.0
