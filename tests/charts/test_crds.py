"""The chart ships exactly the top-level CRDs, and its custom resources match them."""

from __future__ import annotations

import copy
import importlib.util
import re
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.charts.chart import (
    CHART_DIR,
    REPO_ROOT,
    Rendering,
    chart,
    kube_version,
    render_scenario,
    scenario_names,
)

SOURCE_CRDS = REPO_ROOT / "crds"
CHART_CRDS = CHART_DIR / "crds"
CRD_API_VERSION = "apiextensions.k8s.io/v1"
SYNC_MODULE = "eros_scripts_sync_crds"
MAX_EROSPROCESSING_NAME = 50  # the CRD's CEL rule: `<name>-phase-N` must fit a label value
CPU_SUFFIXES = {"m": Decimal("0.001"), "": Decimal(1), "k": Decimal(1000)}


def load_sync_script() -> ModuleType:
    """scripts/ is no package: load the script by path (dataclasses need it in sys.modules)."""
    if SYNC_MODULE in sys.modules:
        return sys.modules[SYNC_MODULE]
    spec = importlib.util.spec_from_file_location(
        SYNC_MODULE, REPO_ROOT / "scripts" / "sync_crds.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[SYNC_MODULE] = module
    spec.loader.exec_module(module)
    return module


def crds(directory: Path) -> dict[str, dict[str, Any]]:
    """The CRDs of a folder by name."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                found[document["metadata"]["name"]] = document
    return found


def crd_for(kind: str, api_version: str) -> dict[str, Any]:
    group, version = api_version.split("/")
    for crd in crds(CHART_CRDS).values():
        spec = crd["spec"]
        if spec["group"] == group and spec["names"]["kind"] == kind:
            assert any(v["name"] == version for v in spec["versions"]), api_version
            return crd
    pytest.fail(f"no CRD in charts/eros/crds for {kind} ({api_version})")


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """The CRD schema with unknown fields forbidden.

    The API server silently prunes fields a structural schema does not declare, so a
    misspelt field in the template would vanish instead of failing: forbid them here.
    """
    schema = copy.deepcopy(schema)

    def tighten(node: Any) -> None:
        if isinstance(node, dict):
            if (
                "properties" in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
                and "additionalProperties" not in node
            ):
                node["additionalProperties"] = False
            for child in node.values():
                tighten(child)
        elif isinstance(node, list):
            for child in node:
                tighten(child)

    tighten(schema)
    # apiVersion, kind and metadata are validated by the API server itself.
    schema["properties"].update(
        apiVersion={"type": "string"}, kind={"type": "string"}, metadata={"type": "object"}
    )
    return schema


def cpu(quantity: str | int) -> Decimal:
    match = re.fullmatch(r"([0-9.]+)(m|k)?", str(quantity))
    assert match, f"{quantity!r} is not a CPU quantity"
    return Decimal(match.group(1)) * CPU_SUFFIXES[match.group(2) or ""]


def seconds(duration: str) -> int:
    parts = re.findall(r"([0-9]+)(h|m|s)", duration)
    assert "".join(n + u for n, u in parts) == duration, duration
    return sum(int(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


def test_the_chart_crds_are_exact_copies_of_the_top_level_crds() -> None:
    drift = load_sync_script().find_drift(SOURCE_CRDS, CHART_CRDS)
    assert drift.clean, f"{drift.describe()}\nrun: python scripts/sync_crds.py"


def test_there_is_a_top_level_crd_to_copy() -> None:
    assert "erosprocessings.eros.dev" in crds(SOURCE_CRDS)


def test_the_sync_script_copies_updates_and_removes(tmp_path: Path) -> None:
    script = load_sync_script()
    source, target = tmp_path / "crds", tmp_path / "chart-crds"
    source.mkdir()
    target.mkdir()
    (source / "new.yaml").write_text("kind: A\n")
    (source / "changed.yaml").write_text("kind: B\n")
    (target / "changed.yaml").write_text("kind: old\n")
    (target / "stale.yaml").write_text("kind: C\n")
    fixed = script.sync(source, target)
    assert (fixed.missing, fixed.changed, fixed.stale) == (
        ["new.yaml"],
        ["changed.yaml"],
        ["stale.yaml"],
    )
    assert script.find_drift(source, target).clean
    assert sorted(p.name for p in target.iterdir()) == ["changed.yaml", "new.yaml"]


def test_helm_loads_every_chart_crd_as_a_valid_crd() -> None:
    loaded = chart().crds
    assert {entry["filename"].split("/")[-1] for entry in loaded} == {
        path.name for path in CHART_CRDS.glob("*.yaml")
    }
    for document in crds(CHART_CRDS).values():
        assert document["apiVersion"] == CRD_API_VERSION
        kubernetes_validate.validate(document, kube_version(), strict=True)


def test_the_crds_install_what_the_operator_and_its_peering_need() -> None:
    names = set(crds(CHART_CRDS))
    assert {"erosprocessings.eros.dev"} <= names
    # The chart creates kopf peering objects by default, so it must ship their CRDs.
    assert {"kopfpeerings.kopf.dev", "clusterkopfpeerings.kopf.dev"} <= names


@pytest.mark.parametrize("scenario", scenario_names())
def test_every_custom_resource_the_chart_renders_matches_its_crd_exactly(scenario: str) -> None:
    rendering = render_scenario(scenario)
    for kind in ("ErosProcessing", "KopfPeering", "ClusterKopfPeering"):
        for rendered in rendering.of_kind(kind):
            manifest = rendered.manifest
            crd = crd_for(kind, manifest["apiVersion"])
            (version,) = [
                v for v in crd["spec"]["versions"] if manifest["apiVersion"].endswith(v["name"])
            ]
            assert version["served"], rendered
            scoped = crd["spec"]["scope"] == "Namespaced"
            assert (rendered.namespace is not None) == scoped, rendered
            jsonschema.validate(manifest, strict(version["schema"]["openAPIV3Schema"]))


def eros_processings() -> list[Any]:
    cases = []
    for scenario in scenario_names():
        rendering = render_scenario(scenario)
        for resource in rendering.of_kind("ErosProcessing"):
            cases.append(pytest.param((rendering, resource.manifest), id=scenario))
    return cases


EROS_PROCESSINGS = eros_processings()


def test_the_default_erosprocessing_is_rendered_unless_disabled() -> None:
    assert EROS_PROCESSINGS
    assert not render_scenario("api-only").of_kind("ErosProcessing")


@pytest.mark.parametrize("case", EROS_PROCESSINGS)
def test_the_erosprocessing_meets_the_crds_cross_field_rules(
    case: tuple[Rendering, dict[str, Any]],
) -> None:
    # The same rules as the CRD's x-kubernetes-validations, which jsonschema cannot run.
    _, resource = case
    spec = resource["spec"]
    assert len(resource["metadata"]["name"]) <= MAX_EROSPROCESSING_NAME
    idle = [seconds(phase["idleAfter"]) for phase in spec["phases"]]
    assert idle == sorted(set(idle)), "idleAfter must increase strictly"
    assert all(cpu(p["cpuPerWorker"]) <= cpu(spec["cpuPool"]) for p in spec["phases"])
    assert 0 <= spec["headroomPercent"] <= 50
    assert all(0 <= p["cpuBudgetPercent"] <= 100 for p in spec["phases"])
    assert all(p["minReplicas"] <= p["maxReplicas"] for p in spec["phases"])
    names = [p["name"] for p in spec["phases"]]
    assert not spec["priority"] or sorted(spec["priority"]) == sorted(names)
    assert spec["offPeak"]["start"] != spec["offPeak"]["end"]


@pytest.mark.parametrize("case", EROS_PROCESSINGS)
def test_the_scheduler_and_the_operator_agree_on_thresholds_and_queues(
    case: tuple[Rendering, dict[str, Any]],
) -> None:
    rendering, resource = case
    config = rendering.merged_values["config"]
    phases = resource["spec"]["phases"]
    assert [seconds(p["idleAfter"]) for p in phases] == config["phaseIdleSeconds"]
    assert [p["queue"] for p in phases] == config["phaseQueues"]


@pytest.mark.parametrize("case", EROS_PROCESSINGS)
def test_the_workers_run_the_charts_image_and_read_redis_from_the_charts_secret(
    case: tuple[Rendering, dict[str, Any]],
) -> None:
    rendering, resource = case
    spec = resource["spec"]
    (api,) = [d for d in rendering.of_kind("Deployment") if d.name.endswith("-api")]
    api_container = api.manifest["spec"]["template"]["spec"]["containers"][0]
    assert spec["worker"]["image"] == api_container["image"]
    redis_env = next(e for e in api_container["env"] if e["name"] == "EROS_REDIS_URL")
    assert spec["redis"]["secretRef"] == redis_env["valueFrom"]["secretKeyRef"]
    # The operator adds EROS_REDIS_URL from secretRef; a second definition would clash.
    assert "EROS_REDIS_URL" not in {env["name"] for env in spec["worker"]["env"]}


# Where the oldest supported Kubernetes is stated; Chart.yaml's kubeVersion is the owner.
KUBERNETES_VERSION_STATEMENTS = (
    "README.md",
    "docs/kubernetes.md",
    "docs/operator.md",
    "charts/eros/README.md",
    "charts/eros/values.yaml",
    "crds/erosprocessing.yaml",
)
STATED_VERSION = re.compile(r"Kubernetes v?(1\.\d+)|kubeVersion: \"?>=\s*v?(1\.\d+)")


def test_the_docs_state_the_charts_minimum_kubernetes_version() -> None:
    minimum = ".".join(kube_version().split(".")[:2])
    stated = {
        name: {a or b for a, b in STATED_VERSION.findall((REPO_ROOT / name).read_text())}
        for name in KUBERNETES_VERSION_STATEMENTS
    }
    assert stated["docs/kubernetes.md"] and stated["docs/operator.md"], stated
    assert all(versions <= {minimum} for versions in stated.values()), (minimum, stated)


def test_the_minimum_kubernetes_version_has_the_crds_cel_features() -> None:
    # CRD validation rules may use CEL's quantity library from Kubernetes 1.29 on.
    minor = int(kube_version().split(".")[1])
    uses_quantities = "isQuantity(" in (SOURCE_CRDS / "erosprocessing.yaml").read_text()
    assert not uses_quantities or minor >= 29
