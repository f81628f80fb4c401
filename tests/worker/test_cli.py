"""`eros scheduler` and `eros worker` on the command line (`eros dev`: tests/cli)."""

from __future__ import annotations

import pytest

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
