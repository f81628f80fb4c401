"""Reading skaffold.yaml as skaffold would: profiles applied, then the Helm values it passes."""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Mapping
from typing import Any

import helm_python
import yaml

from tests.charts.chart import REPO_ROOT, Rendering, render

SKAFFOLD_FILE = REPO_ROOT / "skaffold.yaml"
# What skaffold substitutes into setValueTemplates after a build, for an image it pushed.
BUILT_IMAGE = {
    "IMAGE_REPO": "registry.example.com/eros/eros",
    "IMAGE_TAG": "0123abc",
    "IMAGE_DIGEST": "sha256:" + "ab" * 32,
}
PROFILE_ONLY_KEYS = frozenset({"name", "activation", "patches", "requiresAllActivations"})


def config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SKAFFOLD_FILE.read_text())
    return loaded


def profile_names() -> list[str]:
    return [str(profile["name"]) for profile in config().get("profiles", [])]


def effective(profile: str | None) -> dict[str, Any]:
    """The pipeline skaffold runs with `-p <profile>` (or no profile): sections the profile
    sets replace the base's, then its JSON patches apply."""
    base = config()
    result = {key: value for key, value in base.items() if key != "profiles"}
    if profile is None:
        return result
    (chosen,) = [p for p in base.get("profiles", []) if p["name"] == profile]
    for key, value in chosen.items():
        if key not in PROFILE_ONLY_KEYS:
            result[key] = copy.deepcopy(value)
    for patch in chosen.get("patches", []):
        apply_patch(result, patch)
    return result


def apply_patch(document: dict[str, Any], patch: Mapping[str, Any]) -> None:
    """RFC 6902 add, replace and remove: the operations skaffold.yaml uses."""
    *parents, last = [
        part.replace("~1", "/").replace("~0", "~") for part in patch["path"][1:].split("/")
    ]
    target: Any = document
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    op = patch.get("op", "replace")
    if isinstance(target, list):
        index = len(target) if last == "-" else int(last)
        if op == "add":
            target.insert(index, copy.deepcopy(patch["value"]))
        elif op == "replace":
            target[index] = copy.deepcopy(patch["value"])
        else:
            assert op == "remove", op
            del target[index]
        return
    if op in {"add", "replace"}:
        assert op == "add" or last in target, f"replace of a missing {patch['path']}"
        target[last] = copy.deepcopy(patch["value"])
    else:
        assert op == "remove", op
        del target[last]


def helm_values(release: Mapping[str, Any]) -> dict[str, Any]:
    """The values `helm install` gets from a skaffold release: -f files, then --set."""
    values: dict[str, Any] = {}
    for path in release.get("valuesFiles", []):
        merge(values, yaml.safe_load((REPO_ROOT / path).read_text()))
    for key, value in release.get("setValues", {}).items():
        merge(values, helm_python.parse_set_string(f"{key}={value}"))
    for key, template in release.get("setValueTemplates", {}).items():
        merge(values, helm_python.parse_set_string(f"{key}={expand(template)}"))
    return values


def expand(template: str) -> str:
    def substitute(match: re.Match[str]) -> str:
        variable, artifact = match.group(1), match.group(2)
        assert artifact in artifact_names(), f"{match.group(0)} names no built artifact"
        return BUILT_IMAGE[variable]

    expanded = re.sub(
        r"\{\{\s*\.(IMAGE_REPO|IMAGE_TAG|IMAGE_DIGEST)_(\w+)\s*\}\}", substitute, template
    )
    assert "{{" not in expanded, f"unknown template variable in {template!r}"
    return expanded


def artifact_names() -> set[str]:
    # Go templates cannot use / or - in names: skaffold replaces them with _.
    return {re.sub(r"[/-]", "_", a["image"]) for a in config()["build"]["artifacts"]}


def merge(target: dict[str, Any], source: Mapping[str, Any]) -> None:
    for key, value in source.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


@functools.cache
def render_profile(profile: str | None) -> Rendering:
    """The chart as skaffold deploys it with `-p <profile>`."""
    (release,) = effective(profile)["deploy"]["helm"]["releases"]
    return render(helm_values(release), namespace=release["namespace"])
