"""The ops runbook (docs/operator.md, "Runbook") run as written against a real API server,
and Helm keeping ops' edits: re-applying what an upgrade manages, and a real `helm install`,
`upgrade`, `rollback`, `uninstall` and reinstall through Helm's own SDK.

No operator runs here (tests/operator tests it end to end): where the runbook reads what
the operator writes, the test writes that status as the operator would.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import helm_python
import pytest
import yaml

from tests.charts.chart import (
    CHART_DIR,
    RELEASE,
    REPO_ROOT,
    Manifest,
    chart,
    kube_version,
    render,
    scenario_values,
)
from tests.control_plane import ControlPlane
from tests.operator.crd_validation import apply_defaults, openapi_schema

pytestmark = pytest.mark.kube

RUNBOOK = REPO_ROOT / "docs" / "operator.md"
DOCUMENTED_NAMESPACE = "eros"
RESOURCE = RELEASE  # the chart names its ErosProcessing after the release
HELM_TIMEOUT_SECONDS = 120
# No kubelet runs on the test server, so nothing a hook waits for could complete: the
# migration Job stays out, and the release is installed without waiting.
HELM_VALUES: dict[str, Any] = {**scenario_values("minimal"), "migrations": {"enabled": False}}
NEW_IMAGE_TAG = "0.2.0"


def runbook_commands(section: str) -> list[list[str]]:
    """The kubectl commands of one "### section" of the runbook, in order, as argv lists."""
    runbook = RUNBOOK.read_text().split("\n## Runbook\n", 1)[1].split("\n## ", 1)[0]
    sections = dict(part.split("\n", 1) for part in runbook.split("\n### ")[1:] if "\n" in part)
    body = sections[section]
    commands = [
        shlex.split(line)
        for block in re.findall(r"```console\n(.*?)```", body, flags=re.DOTALL)
        for line in block.splitlines()
        if line.startswith("kubectl ")
    ]
    assert commands, f"the runbook's section {section!r} has no kubectl command"
    return commands


def in_namespace(command: list[str], namespace: str) -> list[str]:
    """The documented command aimed at the test's namespace instead of `eros`."""
    assert command[:3] == ["kubectl", "--namespace", DOCUMENTED_NAMESPACE], command
    return ["--namespace", namespace, *command[3:]]


@dataclass(frozen=True)
class Cluster:
    plane: ControlPlane
    namespace: str

    def run(self, command: list[str], *, check: bool = True) -> str:
        result = self.plane.kubectl(*in_namespace(command, self.namespace), check=check)
        return result.stdout if result.returncode == 0 else f"exit {result.returncode}"

    def run_section(self, section: str) -> list[str]:
        return [self.run(command) for command in runbook_commands(section)]

    def live(self, name: str = RESOURCE) -> dict[str, Any]:
        result = self.plane.kubectl(
            "get", "--namespace", self.namespace, "erosprocessing", name, "-o", "json"
        )
        body: dict[str, Any] = json.loads(result.stdout)
        return body

    def exists(self, name: str = RESOURCE) -> bool:
        result = self.plane.kubectl(
            "get", "--namespace", self.namespace, "erosprocessing", name, check=False
        )
        return result.returncode == 0

    def write_status(self, status: dict[str, Any]) -> None:
        """What the operator's status patch does (kopf patches the status subresource)."""
        self.plane.kubectl(
            "patch",
            "--namespace",
            self.namespace,
            "erosprocessing",
            RESOURCE,
            "--subresource=status",
            "--type=merge",
            "-p",
            json.dumps({"status": status}),
        )


def the_charts_resource(namespace: str) -> Manifest:
    (resource,) = render(HELM_VALUES, namespace=namespace).of_kind("ErosProcessing")
    return resource.manifest


def upgrade_manifests(namespace: str) -> list[Manifest]:
    """What `helm upgrade` applies and records: the upgrade rendering without its hooks."""
    files = chart().render(dict(HELM_VALUES), name=RELEASE, namespace=namespace, is_upgrade=True)
    return [
        document
        for template, text in sorted(files.items())
        if not template.endswith("NOTES.txt")
        for document in yaml.safe_load_all(text)
        if document and "helm.sh/hook" not in (document["metadata"].get("annotations") or {})
    ]


@pytest.fixture(scope="module")
def namespace(eros_crds: ControlPlane) -> Iterator[str]:
    name = eros_crds.create_namespace("runbook")
    yield name
    eros_crds.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def cluster(eros_crds: ControlPlane, namespace: str) -> Iterator[Cluster]:
    """The chart's ErosProcessing created as Helm creates a hook's objects (`create`)."""
    eros_crds.kubectl(
        "create",
        "--namespace",
        namespace,
        "-f",
        "-",
        input=yaml.safe_dump(the_charts_resource(namespace)),
    )
    yield Cluster(eros_crds, namespace)
    eros_crds.kubectl(
        "delete", "--namespace", namespace, "erosprocessing", RESOURCE, "--wait=false"
    )


def phase(resource: dict[str, Any], name: str) -> dict[str, Any]:
    phases: list[dict[str, Any]] = resource["spec"]["phases"]
    (found,) = [p for p in phases if p["name"] == name]
    return found


def test_the_plan_the_runbook_shows_names_the_resource_and_its_conditions(
    cluster: Cluster,
) -> None:
    wide, per_phase, described, events = cluster.run_section("See the current plan")
    header, row = wide.splitlines()
    assert header.split()[:1] == ["NAME"]
    assert {"ACTIVE", "DEGRADED", "PAUSED"} <= set(header.split())
    assert row.split()[0] == RESOURCE
    # Without an operator there is no plan yet: the lines are empty, not an error.
    assert per_phase == ""
    assert f"Name:         {RESOURCE}" in described
    assert events == "", "no Events yet (kubectl says so on stderr)"


def test_the_plan_per_phase_reads_what_the_operator_writes(cluster: Cluster) -> None:
    _, per_phase, _, _ = runbook_commands("See the current plan")
    # The server prunes fields its CRD does not know, so a misnamed field reads as empty.
    cluster.write_status(
        {
            "phases": [
                {
                    "name": "phase-1",
                    "idleUsers": 3,
                    "queuedJobs": 2,
                    "runningJobs": 1,
                    "deployment": f"{RESOURCE}-phase-1",
                    "desiredReplicas": 2,
                    "currentReplicas": 1,
                    "readyReplicas": 1,
                    "cpuAllocated": "100m",
                    "budgetReplicas": 2,
                    "reason": "Demand",
                }
            ]
        }
    )
    assert cluster.run(per_phase).splitlines() == [
        "phase-1: 3 idle, 2 queued, 1 running; 1 of 2 workers, budget 2: Demand"
    ]


def test_changing_a_budget_as_documented_is_stored_by_the_server(cluster: Cluster) -> None:
    before = cluster.live()
    cluster.run_section("Change a budget")
    after = cluster.live()
    assert phase(after, "phase-3")["cpuBudgetPercent"] == 60
    assert after["spec"]["cpuPool"] == "8"
    for other in ("phase-1", "phase-2"):
        assert phase(after, other) == phase(before, other)
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 2


def test_a_budget_patch_aimed_at_the_wrong_phase_changes_nothing(cluster: Cluster) -> None:
    budget, _ = runbook_commands("Change a budget")
    misaimed = [arg.replace('"value": "phase-3"', '"value": "phase-2"') for arg in budget]
    before = cluster.live()
    assert cluster.run(misaimed, check=False).startswith("exit ")
    assert cluster.live()["spec"] == before["spec"]


def test_pausing_and_resuming_as_documented_are_stored_by_the_server(cluster: Cluster) -> None:
    pause, resume = runbook_commands("Pause and resume")
    cluster.run(pause)
    assert cluster.live()["spec"]["paused"] is True
    cluster.run(resume)
    assert cluster.live()["spec"]["paused"] is False


def test_moving_phase_3_to_off_peak_as_documented_is_stored_by_the_server(
    cluster: Cluster,
) -> None:
    cluster.run_section("Move a phase to off-peak")
    after = cluster.live()
    offpeak_only = {p["name"]: p["offPeakOnly"] for p in after["spec"]["phases"]}
    assert offpeak_only == {"phase-1": False, "phase-2": False, "phase-3": True}
    assert after["spec"]["offPeak"] == {
        "start": "22:00",
        "end": "06:00",
        "timeZone": "Europe/Berlin",
    }


def condition(kind: str, status: str, reason: str, message: str, generation: int) -> dict[str, Any]:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def test_the_runbook_tells_a_pending_edit_from_one_that_took_effect(cluster: Cluster) -> None:
    generations, conditions, wait = runbook_commands("Tell that the change took effect")
    pause, _ = runbook_commands("Pause and resume")
    cluster.run(pause)
    budget, _ = runbook_commands("Change a budget")
    cluster.run(budget)
    generation = cluster.live()["metadata"]["generation"]
    # The operator read the edit (observedGeneration) but, paused, did not apply it.
    cluster.write_status(
        {
            "observedGeneration": generation,
            "conditions": [
                condition("Ready", "False", "ChangesPending", "spec.paused is true.", generation),
                condition("Paused", "True", "Paused", "spec.paused is true.", generation),
            ],
        }
    )
    assert cluster.run(generations).split() == [str(generation), str(generation)]
    shown = cluster.run(conditions).splitlines()
    assert shown[0].startswith("Ready=False ChangesPending: ")
    assert shown[1].startswith("Paused=True Paused: ")
    # Checked once: `--timeout=0s` is kubectl's "check once and don't wait".
    check_once = [arg if not arg.startswith("--timeout=") else "--timeout=0s" for arg in wait]
    assert cluster.run(check_once, check=False).startswith("exit ")
    cluster.write_status(
        {
            "conditions": [
                condition("Ready", "True", "Reconciled", "They match.", generation),
                condition("Paused", "False", "Running", "Scaling.", generation),
            ]
        }
    )
    assert cluster.run(wait) != ""


def test_reapplying_what_an_upgrade_manages_leaves_the_edited_resource_unchanged(
    cluster: Cluster,
) -> None:
    for section in ("Change a budget", "Move a phase to off-peak"):
        cluster.run_section(section)
    pause, _ = runbook_commands("Pause and resume")
    cluster.run(pause)
    edited = cluster.live()
    managed = upgrade_manifests(cluster.namespace)
    assert managed and not [m for m in managed if m["kind"] == "ErosProcessing"]
    # As Helm 4 applies them (server-side), conflicts forced: the worst an upgrade could do.
    cluster.plane.kubectl(
        "apply",
        "--server-side",
        "--field-manager=helm",
        "--force-conflicts",
        "--namespace",
        cluster.namespace,
        "-f",
        "-",
        input=yaml.safe_dump_all(managed),
    )
    after = cluster.live()
    assert after["spec"] == edited["spec"]
    assert after["metadata"]["generation"] == edited["metadata"]["generation"]


# --- Helm itself -------------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    helm: helm_python.Config
    chart: helm_python.Chart
    cluster: Cluster

    def install(self) -> dict[str, Any]:
        return self.helm.install(
            self.chart,
            RELEASE,
            HELM_VALUES,
            namespace=self.cluster.namespace,
            timeout=HELM_TIMEOUT_SECONDS,
        )

    def upgrade(self, values: dict[str, Any]) -> dict[str, Any]:
        return self.helm.upgrade(
            self.chart,
            RELEASE,
            values,
            namespace=self.cluster.namespace,
            timeout=HELM_TIMEOUT_SECONDS,
        )


@pytest.fixture(scope="module")
def installable_chart(tmp_path_factory: pytest.TempPathFactory) -> helm_python.Chart:
    """The chart, its kubeVersion widened to the test server's v1.28.7: that server is built
    to validate CRDs as 1.29 does (../shared/kube/README.md), which is all the chart's
    minimum stands for, and Helm refuses an install on the version number alone."""
    copy = tmp_path_factory.mktemp("chart") / CHART_DIR.name
    shutil.copytree(CHART_DIR, copy)
    metadata = copy / "Chart.yaml"
    text = metadata.read_text()
    stated = f'kubeVersion: ">={kube_version()}-0"'
    assert stated in text
    metadata.write_text(text.replace(stated, 'kubeVersion: ">=1.28.0-0"'))
    return helm_python.Chart.load(copy)


@pytest.fixture
def release(eros_crds: ControlPlane, installable_chart: helm_python.Chart) -> Iterator[Release]:
    namespace = eros_crds.create_namespace("helm-owner")
    helm = helm_python.Config(kubeconfig_path=eros_crds.kubeconfig, namespace=namespace)
    yield Release(helm, installable_chart, Cluster(eros_crds, namespace))
    helm.close()
    eros_crds.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def test_helm_upgrade_rollback_uninstall_and_reinstall_keep_the_ops_edits(
    release: Release,
) -> None:
    installed = release.install()
    cluster = release.cluster
    assert "kind: ErosProcessing" not in installed["manifest"]
    created = cluster.live()
    assert created["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"
    rendered = the_charts_resource(cluster.namespace)
    assert created["spec"] == apply_defaults(openapi_schema(), rendered)["spec"]

    cluster.run_section("Change a budget")
    cluster.run_section("Move a phase to off-peak")
    edited = cluster.live()

    # New values for the phase and a new image: the upgrade changes neither in the resource,
    # and its notes say how to move the workers to the image.
    values = json.loads(json.dumps(HELM_VALUES))
    values["image"] = {"tag": NEW_IMAGE_TAG}
    values["erosProcessing"] = {"cpuPool": "2", "paused": True}
    upgraded = release.upgrade(values)
    assert "kind: ErosProcessing" not in upgraded["manifest"]
    assert cluster.live()["spec"] == edited["spec"]
    assert cluster.live()["metadata"]["generation"] == edited["metadata"]["generation"]
    image = f"{chart().merge_values(values)['image']['repository']}:{NEW_IMAGE_TAG}"
    move = (
        f"kubectl --namespace {cluster.namespace} patch erosprocessing {RESOURCE} --type=merge"
        f""" -p '{{"spec": {{"worker": {{"image": "{image}"}}}}}}'"""
    )
    assert move in upgraded["notes"]

    release.helm.rollback(RELEASE, version=1, timeout=HELM_TIMEOUT_SECONDS)
    assert cluster.live()["spec"] == edited["spec"]

    release.helm.uninstall(RELEASE, timeout=HELM_TIMEOUT_SECONDS)
    assert cluster.live()["spec"] == edited["spec"], "uninstall leaves it"

    reinstalled = release.install()
    assert "kind: ErosProcessing" not in reinstalled["manifest"]
    assert cluster.live()["metadata"]["uid"] == edited["metadata"]["uid"], "adopted, not replaced"
    assert cluster.live()["spec"] == edited["spec"]

    # Deleted by hand, the next upgrade recreates it from the values of that upgrade.
    cluster.plane.kubectl(
        "delete", "--namespace", cluster.namespace, "erosprocessing", RESOURCE, "--wait=true"
    )
    release.upgrade(values)
    recreated = cluster.live()
    assert recreated["metadata"]["uid"] != edited["metadata"]["uid"]
    assert recreated["spec"]["cpuPool"] == "2"
    assert recreated["spec"]["paused"] is True
    assert phase(recreated, "phase-3")["cpuBudgetPercent"] == 100
