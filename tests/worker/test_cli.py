"""`eros scheduler`, `eros worker` and what `eros dev` runs."""

from __future__ import annotations

import pytest

from eros.cli.dev import components
from eros.cli.main import build_parser


@pytest.mark.parametrize("command", [["scheduler"], ["worker"]], ids=" ".join)
def test_the_pipeline_commands_have_help(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([*command, "--help"])
    assert exited.value.code == 0
    assert "--metrics-port" in capsys.readouterr().out


def test_a_worker_needs_a_phase_from_one_to_three() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["worker", "--phase", "4"])
    args = build_parser().parse_args(["worker", "--phase", "2", "--metrics-port", "0"])
    assert (args.phase, args.metrics_port, args.burst) == (2, 0, False)


def test_eros_dev_runs_the_scheduler_and_a_worker_per_phase_on_their_own_ports() -> None:
    by_name = {component.name: component.args for component in components(8000)}
    assert set(by_name) == {"api", "scheduler", "worker-1", "worker-2", "worker-3"}
    assert by_name["worker-2"][:3] == ["worker", "--phase", "2"]
    ports = [
        args[args.index("--metrics-port") + 1] for name, args in by_name.items() if name != "api"
    ]
    assert len(set(ports)) == 4
