"""Who owns the chart's ErosProcessing, as far as rendering shows it: Helm creates it as a
hook (after the migrations on install, or on an upgrade that finds it missing) and never
manages it as a release resource, so no upgrade or rollback writes over ops' edits.

Offline, `lookup` finds nothing, so both an install and an upgrade render the hook;
tests/charts/test_runbook_on_server.py runs Helm on a real server: upgrades, a rollback,
an uninstall and a reinstall leave an edited resource as it was.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest
import yaml

from tests.charts.chart import (
    NAMESPACE,
    RELEASE,
    REPO_ROOT,
    Manifest,
    Rendering,
    chart,
    render,
    render_scenario,
    scenario_names,
    scenario_values,
)
from tests.operator.crd_validation import validate

HOOK = "helm.sh/hook"
HOOK_WEIGHT = "helm.sh/hook-weight"
HOOK_DELETE_POLICY = "helm.sh/hook-delete-policy"
RESOURCE_POLICY = "helm.sh/resource-policy"
SCENARIOS_WITH_THE_RESOURCE = [
    name for name in scenario_names() if render_scenario(name).of_kind("ErosProcessing")
]


def annotations_of(manifest: Manifest) -> dict[str, str]:
    return dict(manifest["metadata"].get("annotations") or {})


def hook_events(manifest: Manifest) -> set[str]:
    events = annotations_of(manifest).get(HOOK, "")
    return {event.strip() for event in events.split(",") if event.strip()}


def release_managed(manifests: list[Manifest]) -> list[Manifest]:
    """What Helm records in the release manifest and patches on every upgrade: all but hooks."""
    return [manifest for manifest in manifests if not hook_events(manifest)]


def upgrade_manifests(values: Mapping[str, Any]) -> list[Manifest]:
    """The chart as `helm upgrade` renders it (`.Release.IsUpgrade`), without a cluster."""
    files = chart().render(dict(values), name=RELEASE, namespace=NAMESPACE, is_upgrade=True)
    return [
        document
        for template, text in sorted(files.items())
        if not template.endswith("NOTES.txt")
        for document in yaml.safe_load_all(text)
        if document
    ]


def the_resource(manifests: list[Manifest]) -> Manifest:
    (resource,) = [m for m in manifests if m["kind"] == "ErosProcessing"]
    return resource


def install_manifests(rendering: Rendering) -> list[Manifest]:
    return [rendered.manifest for rendered in rendering.manifests]


@pytest.mark.parametrize("scenario", SCENARIOS_WITH_THE_RESOURCE)
def test_the_erosprocessing_is_a_hook_of_install_and_upgrade_only(scenario: str) -> None:
    resource = the_resource(install_manifests(render_scenario(scenario)))
    # Neither a rollback nor an uninstall runs it: it exists before either.
    assert hook_events(resource) == {"post-install", "post-upgrade"}


@pytest.mark.parametrize("scenario", SCENARIOS_WITH_THE_RESOURCE)
def test_no_install_or_upgrade_makes_it_a_resource_helm_manages(scenario: str) -> None:
    values = scenario_values(scenario)
    for manifests in (install_manifests(render_scenario(scenario)), upgrade_manifests(values)):
        managed = release_managed(manifests)
        assert managed, "the rest of the chart is still managed"
        assert [m for m in managed if m["kind"] == "ErosProcessing"] == []


def test_helm_creates_it_only_after_the_migration_job_succeeded() -> None:
    manifests = install_manifests(render_scenario("minimal"))
    (job,) = [m for m in manifests if m["kind"] == "Job"]
    assert "post-install" in hook_events(job)
    resource = the_resource(manifests)
    # Helm runs the hooks of one event by weight, each waiting for the previous.
    assert int(annotations_of(resource)[HOOK_WEIGHT]) > int(annotations_of(job)[HOOK_WEIGHT])


def test_no_delete_policy_deletes_it_after_creating_it() -> None:
    # hook-succeeded would delete it at once; Helm's default, before-hook-creation, only
    # applies when the hook renders, which it does only while the resource is missing.
    resource = the_resource(install_manifests(render_scenario("minimal")))
    assert annotations_of(resource)[HOOK_DELETE_POLICY] == "before-hook-creation"
    assert RESOURCE_POLICY not in annotations_of(resource)


@pytest.mark.parametrize("scenario", SCENARIOS_WITH_THE_RESOURCE)
def test_an_upgrade_that_recreates_it_renders_it_from_the_same_values(scenario: str) -> None:
    installed = the_resource(install_manifests(render_scenario(scenario)))
    upgraded = the_resource(upgrade_manifests(scenario_values(scenario)))
    assert upgraded == installed


@pytest.mark.parametrize("scenario", SCENARIOS_WITH_THE_RESOURCE)
def test_the_upgrade_rendering_still_meets_the_crds_schema_and_rules(scenario: str) -> None:
    _, errors = validate(the_resource(upgrade_manifests(scenario_values(scenario))))
    assert errors == []


def test_a_disabled_resource_renders_on_neither_install_nor_upgrade() -> None:
    values = {**scenario_values("minimal"), "erosProcessing": {"enabled": False}}
    assert render(values).of_kind("ErosProcessing") == []
    assert [m for m in upgrade_manifests(values) if m["kind"] == "ErosProcessing"] == []


def test_the_notes_tell_ops_to_tune_it_with_kubectl_and_that_helm_keeps_their_edits() -> None:
    notes = render_scenario("minimal").notes
    assert "kubectl patch" in notes and "kubectl edit" in notes
    assert "helm upgrade` and `helm rollback` keep your edits" in notes
    assert f"delete erosprocessing {RELEASE}" in notes
    assert "reverted" not in notes


def console_commands(text: str) -> list[str]:
    return [
        line
        for block in re.findall(r"```console\n(.*?)```", text, flags=re.DOTALL)
        for line in block.splitlines()
        if line.startswith("kubectl ")
    ]


def test_the_tuning_commands_of_the_kubernetes_guide_are_the_tested_runbooks() -> None:
    guide = (REPO_ROOT / "docs" / "kubernetes.md").read_text()
    tuning = guide.split("\n### Tuning the workers\n", 1)[1].split("\n## ", 1)[0]
    runbook = (REPO_ROOT / "docs" / "operator.md").read_text().split("\n## Runbook\n", 1)[1]
    assert console_commands(tuning)
    assert set(console_commands(tuning)) <= set(console_commands(runbook))
    assert "Do not `kubectl edit`" not in guide
