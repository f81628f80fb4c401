from __future__ import annotations

import subprocess
import sys

import pytest

from eros.cli.main import build_parser

COMMANDS = [["api"], ["migrate"], ["dev"], ["users", "promote"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([*command, "--help"])
    assert exited.value.code == 0
    assert "usage: eros" in capsys.readouterr().out


def test_the_eros_module_runs_as_a_command() -> None:
    result = subprocess.run(
        [sys.executable, "-P", "-m", "eros.cli.main", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.startswith("eros ")


def test_an_invalid_configuration_exits_with_a_clear_message() -> None:
    result = subprocess.run(
        [sys.executable, "-P", "-m", "eros.cli.main", "migrate"],
        capture_output=True,
        text=True,
        env={"EROS_ENVIRONMENT": "production", "PATH": ""},
    )
    assert result.returncode == 2
    assert "EROS_JWT_SECRET" in result.stderr
    assert "Traceback" not in result.stderr
