"""Rendering charts/eros with Helm's own engine (helm-python-sdk) and reading the result.

Every rendering is cached, so each values scenario is rendered once per test session
whichever test module asks for it first.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "charts" / "eros"
CI_DIR = CHART_DIR / "ci"
RELEASE = "eros"
NAMESPACE = "eros"

Manifest = dict[str, Any]

# Kinds whose pods run to completion: liveness and readiness probes mean nothing for them.
RUN_TO_COMPLETION_KINDS = frozenset({"Job"})
HELM_TEST_HOOK = "test"


@dataclass(frozen=True)
class Rendered:
    """One manifest and the template file it came from."""

    template: str
    manifest: Manifest

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    @property
    def name(self) -> str:
        return str(self.manifest["metadata"]["name"])

    @property
    def namespace(self) -> str | None:
        namespace = self.manifest["metadata"].get("namespace")
        return None if namespace is None else str(namespace)

    def __str__(self) -> str:
        return f"{self.kind}/{self.name} from {self.template}"


@dataclass(frozen=True)
class Rendering:
    """Everything one `helm template` produced for one set of values."""

    values: Mapping[str, Any]
    merged_values: Mapping[str, Any]
    notes: str
    manifests: tuple[Rendered, ...]

    def of_kind(self, kind: str) -> list[Rendered]:
        return [rendered for rendered in self.manifests if rendered.kind == kind]

    def one(self, kind: str, name: str) -> Manifest:
        matches = [r.manifest for r in self.of_kind(kind) if r.name == name]
        assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
        return matches[0]


@functools.cache
def chart() -> helm_python.Chart:
    """The chart, loaded once; Helm's chart objects are immutable and thread-safe."""
    return helm_python.Chart.load(CHART_DIR)


def scenario_names() -> list[str]:
    """The chart-testing scenarios: every `charts/eros/ci/*-values.yaml`."""
    return sorted(path.name.removesuffix("-values.yaml") for path in CI_DIR.glob("*-values.yaml"))


def scenario_values(name: str) -> dict[str, Any]:
    values = yaml.safe_load((CI_DIR / f"{name}-values.yaml").read_text())
    assert isinstance(values, dict), f"ci/{name}-values.yaml is not a mapping"
    return values


def kube_version() -> str:
    """The oldest Kubernetes version the chart supports, from `kubeVersion: ">=X.Y.Z-0"`."""
    constraint = str(chart().metadata["kubeVersion"])
    match = re.fullmatch(r">=\s*v?(\d+\.\d+\.\d+)(-0)?", constraint.strip())
    assert match, f"kubeVersion {constraint!r} is not a plain lower bound"
    return match.group(1)


def render(values: Mapping[str, Any], *, namespace: str = NAMESPACE) -> Rendering:
    """Render the chart as `helm install eros charts/eros -n <namespace> -f <values>` would."""
    files = chart().render(dict(values), name=RELEASE, namespace=namespace, is_install=True)
    manifests: list[Rendered] = []
    notes = ""
    for template, text in sorted(files.items()):
        if template.endswith("NOTES.txt"):
            notes = text
            continue
        for document in yaml.safe_load_all(text):
            if document:
                manifests.append(Rendered(template.removeprefix("eros/"), document))
    return Rendering(
        values=values,
        merged_values=chart().merge_values(dict(values)),
        notes=notes,
        manifests=tuple(manifests),
    )


@functools.cache
def render_scenario(name: str) -> Rendering:
    return render(scenario_values(name))


def pod_template(manifest: Manifest) -> dict[str, Any] | None:
    """The pod a workload runs: a Deployment's or Job's template, or a bare Pod."""
    if manifest["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
        template: dict[str, Any] = manifest["spec"]["template"]
        return template
    if manifest["kind"] == "Pod":
        return manifest
    return None


def pods(rendering: Rendering) -> Iterator[tuple[Rendered, dict[str, Any]]]:
    """Every pod template of a rendering, with the manifest it belongs to."""
    for rendered in rendering.manifests:
        pod = pod_template(rendered.manifest)
        if pod is not None:
            yield rendered, pod


def containers(pod: Mapping[str, Any]) -> list[dict[str, Any]]:
    spec = pod["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def runs_to_completion(rendered: Rendered) -> bool:
    """Jobs and `helm test` pods: they exit when done, so they carry no probes."""
    annotations = rendered.manifest["metadata"].get("annotations") or {}
    hooks = str(annotations.get("helm.sh/hook", "")).split(",")
    return rendered.kind in RUN_TO_COMPLETION_KINDS or HELM_TEST_HOOK in hooks


def eros_containers(rendering: Rendering) -> Iterator[tuple[Rendered, dict[str, Any]]]:
    """Containers running the EROS image, whose arguments go to the `eros` command."""
    repository = str(rendering.merged_values["image"]["repository"])
    for rendered, pod in pods(rendering):
        for container in containers(pod):
            image = str(container["image"])
            if image.startswith(f"{repository}:") or image.startswith(f"{repository}@"):
                yield rendered, container
