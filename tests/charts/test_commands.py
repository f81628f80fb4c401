"""Every command the chart, the Dockerfile and skaffold.yaml run exists in the real `eros` CLI.

The arguments are parsed by the CLI's own argparse parser, `eros.cli.main.build_parser()`,
so a renamed subcommand or flag fails here instead of in a crash-looping pod.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from typing import Any

import pytest

from eros.cli.main import build_parser
from tests.charts.chart import Rendering, eros_containers, render_scenario, scenario_names
from tests.charts.dockerfile import stages
from tests.charts.skaffold import profile_names, render_profile

# What the cluster runs: the chart's components, and the workers the operator starts
# from the same image (`eros worker --phase N`, see operator/).
DEPLOYED_SUBCOMMANDS = {"api", "migrate", "scheduler", "operator"}
WORKER_PHASES = (1, 2, 3)
# Local only: it starts embedded servers and must never run in a cluster.
LOCAL_ONLY_SUBCOMMANDS = {"dev"}


def parse_error(argv: list[str]) -> str | None:
    """None when the CLI accepts argv, else argparse's message."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            build_parser().parse_args(argv)
    except SystemExit as exit_:
        return stderr.getvalue().strip() or f"exit status {exit_.code}"
    return None


def renderings() -> Iterator[tuple[str, Rendering]]:
    for scenario in scenario_names():
        yield f"ci/{scenario}", render_scenario(scenario)
    for profile in [None, *profile_names()]:
        yield f"skaffold -p {profile}", render_profile(profile)


def chart_commands() -> list[Any]:
    cases = []
    for source, rendering in renderings():
        for rendered, container in eros_containers(rendering):
            case_id = f"{source}:{rendered.kind}/{rendered.name}:{container['name']}"
            cases.append(pytest.param(container, id=case_id))
    return cases


CHART_COMMANDS = chart_commands()


@pytest.mark.parametrize("container", CHART_COMMANDS)
def test_the_chart_runs_real_subcommands_through_the_images_entrypoint(
    container: dict[str, Any],
) -> None:
    # No `command`: the image's ENTRYPOINT (`eros`) receives the args.
    assert "command" not in container
    argv = [str(arg) for arg in container["args"]]
    assert argv[0] not in LOCAL_ONLY_SUBCOMMANDS
    assert parse_error(argv) is None, parse_error(argv)


def test_the_chart_deploys_every_cluster_component() -> None:
    deployed = {str(case.values[0]["args"][0]) for case in CHART_COMMANDS}
    assert deployed == DEPLOYED_SUBCOMMANDS


def test_the_images_default_command_is_a_real_subcommand() -> None:
    _, found = stages()
    runtime = found[-1]
    assert runtime.last("ENTRYPOINT").exec_form() == ["eros"]
    argv = runtime.last("CMD").exec_form()
    assert parse_error(argv) is None, parse_error(argv)


@pytest.mark.parametrize("phase", WORKER_PHASES)
def test_the_worker_command_the_operator_runs_exists(phase: int) -> None:
    assert parse_error(["worker", "--phase", str(phase)]) is None


def test_the_documented_admin_command_exists() -> None:
    # docs/kubernetes.md tells operators to promote the first admin this way.
    assert parse_error(["users", "promote", "admin@example.com"]) is None


def test_a_misspelt_subcommand_would_be_caught() -> None:
    assert parse_error(["schedular"]) is not None
