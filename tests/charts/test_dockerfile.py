"""The one image: multi-stage, pinned slim base, wheels built apart, non-root, `eros` entrypoint.

No Docker engine runs here, so these are static checks of the Dockerfile and
.dockerignore; test_commands checks that the commands it runs exist.
"""

from __future__ import annotations

import re
import tomllib

import yaml

from tests.charts.chart import REPO_ROOT
from tests.charts.dockerfile import stages

# A pinned CPython 3.11 patch release on a named Debian release, slim variant.
PINNED_BASE = re.compile(r"^python:3\.11\.\d+-slim-(bookworm|trixie)(@sha256:[a-f0-9]{64})?$")
BUILD_TOOLS = re.compile(r"\b(apt-get|apt|gcc|g\+\+|make|build-essential|pip wheel)\b")


def test_the_image_is_built_in_stages_from_a_pinned_slim_python_311() -> None:
    _, found = stages()
    assert len(found) >= 2, "build and runtime stages"
    for stage in found:
        assert PINNED_BASE.match(stage.base), stage.base
    assert found[0].base == found[-1].base, "build and run on the same interpreter"


def test_wheels_are_built_in_the_builder_without_the_optional_extras() -> None:
    _, found = stages()
    builder_runs = " ".join(i.arguments for i in found[0].all("RUN"))
    assert "pip wheel" in builder_runs
    # `.` alone: the embedded servers and the dev tools stay out of the image.
    assert not re.search(r"\.\[|eros\[", builder_runs), "install `.` without extras"
    assert "embedded" not in builder_runs and "dev]" not in builder_runs


def test_the_runtime_stage_has_no_build_tools_and_copies_only_the_install() -> None:
    _, found = stages()
    runtime = found[-1]
    for instruction in runtime.all("RUN"):
        assert not BUILD_TOOLS.search(instruction.arguments), instruction.arguments
        assert "pip install" not in instruction.arguments, instruction.arguments
    copies = [i.arguments for i in runtime.all("COPY")]
    assert copies and all(c.startswith("--from=") for c in copies), copies


def test_the_runtime_user_is_numeric_and_not_root() -> None:
    _, found = stages()
    user = found[-1].last("USER").arguments
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) > 0, user
    assert not gid or (gid.isdigit() and int(gid) > 0), user


def test_the_chart_runs_the_image_as_its_own_user() -> None:
    _, found = stages()
    uid, _, gid = found[-1].last("USER").arguments.partition(":")
    pod = yaml.safe_load((REPO_ROOT / "charts" / "eros" / "values.yaml").read_text())
    assert pod["podSecurityContext"]["runAsUser"] == int(uid)
    assert pod["podSecurityContext"]["runAsGroup"] == int(gid or uid)


def package_folders() -> set[str]:
    """The top-level folders pyproject.toml maps onto the `eros` namespace."""
    setuptools = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return {folder for folder in setuptools["package-dir"].values() if "/" not in folder}


def test_the_builder_copies_every_package_folder() -> None:
    _, found = stages()
    copied = {i.arguments.split()[0] for i in found[0].all("COPY")}
    assert package_folders() <= copied


def test_the_entrypoint_is_the_eros_command() -> None:
    _, found = stages()
    assert found[-1].last("ENTRYPOINT").exec_form() == ["eros"]


def test_the_build_context_leaves_out_tests_charts_and_local_state() -> None:
    patterns = [
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    # An allow-list: exclude everything, then re-include the package sources.
    assert patterns[0] == "*"
    included = {p.removeprefix("!").rstrip("/") for p in patterns if p.startswith("!")}
    assert {"pyproject.toml", *package_folders()} <= included
    assert not included & {"tests", "charts", ".venv", ".eros", ".git", "bench", "docs"}
