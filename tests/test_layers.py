"""Imports go one way: api, worker, operator and cli over the pipeline over core.

A module may import its own package and the packages of lower layers only; the three
components of one layer (api, worker, operator) never import each other, and cli, on top,
may import anything. A test rather than a convention, so that an import going back up
fails here and not in a review.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"core": 0, "pipeline": 1, "api": 2, "worker": 2, "operator": 2, "cli": 3, "simulate": 3}


def package_folders() -> dict[str, str]:
    """Top-level folder -> the `eros` subpackage it is, from pyproject.toml."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return {
        folder: package.removeprefix("eros.")
        for package, folder in setuptools["package-dir"].items()
        if "/" not in folder
    }


def imported_packages(path: Path) -> Iterator[tuple[int, str]]:
    """(line, eros subpackage) of every `eros.*` import in a module."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "eros" and len(parts) > 1:
                yield node.lineno, parts[1]


def violations(folder: str, package: str) -> list[str]:
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for line, target in imported_packages(path):
            if target == package or LAYERS[target] < LAYERS[package]:
                continue
            if package == "cli":
                continue
            found.append(f"{path.relative_to(ROOT)}:{line} imports eros.{target}")
    return found


def test_every_package_has_a_layer() -> None:
    assert set(package_folders().values()) == set(LAYERS)


@pytest.mark.parametrize("folder", sorted(package_folders()))
def test_a_package_imports_only_lower_layers(folder: str) -> None:
    assert violations(folder, package_folders()[folder]) == []


def test_an_import_going_back_up_is_found(tmp_path: Path) -> None:
    module = tmp_path / "leak.py"
    module.write_text("from eros.api.deps import RedisDep\nimport eros.worker.job\n")
    assert [target for _, target in imported_packages(module)] == ["api", "worker"]
    assert LAYERS["api"] > LAYERS["pipeline"]
