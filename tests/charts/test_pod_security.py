"""Every pod the chart renders meets the Pod Security Standards' "restricted" profile and more.

The rules hold for every container, the trial Valkey and PostgreSQL included (their
images run as uid 999 and write only to mounted volumes). The one documented
exception: pods that run to completion (the migration Job, the `helm test` pod) have
no liveness or readiness probes, which mean nothing for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from tests.charts.chart import (
    Rendered,
    Rendering,
    containers,
    pods,
    render_scenario,
    runs_to_completion,
    scenario_names,
)

PodAndContainer = tuple[Rendered, Mapping[str, Any], Mapping[str, Any]]


def every_container() -> list[Any]:
    """One case per (scenario, pod, container), so a failure names all three."""
    cases = []
    for scenario in scenario_names():
        rendering = render_scenario(scenario)
        for rendered, pod in pods(rendering):
            for container in containers(pod):
                case_id = f"{scenario}:{rendered.kind}/{rendered.name}:{container['name']}"
                cases.append(pytest.param((rendered, pod, container), id=case_id))
    return cases


CASES = every_container()


def effective(pod: Mapping[str, Any], container: Mapping[str, Any], field: str) -> Any:
    """A security setting as Kubernetes applies it: the container's, else the pod's."""
    container_context = container.get("securityContext") or {}
    if field in container_context:
        return container_context[field]
    return (pod["spec"].get("securityContext") or {}).get(field)


@pytest.mark.parametrize("case", CASES)
def test_the_container_never_runs_as_root(case: PodAndContainer) -> None:
    _, pod, container = case
    assert effective(pod, container, "runAsNonRoot") is True
    assert effective(pod, container, "runAsUser") not in (0, None), "set a numeric non-root uid"


@pytest.mark.parametrize("case", CASES)
def test_the_root_filesystem_is_read_only(case: PodAndContainer) -> None:
    _, _, container = case
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


@pytest.mark.parametrize("case", CASES)
def test_privileges_cannot_grow(case: PodAndContainer) -> None:
    _, _, container = case
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context.get("privileged", False) is False
    assert "ALL" in context["capabilities"]["drop"]
    assert not context["capabilities"].get("add")


@pytest.mark.parametrize("case", CASES)
def test_seccomp_uses_the_runtime_default(case: PodAndContainer) -> None:
    _, pod, container = case
    assert effective(pod, container, "seccompProfile") == {"type": "RuntimeDefault"}


@pytest.mark.parametrize("case", CASES)
def test_cpu_and_memory_have_requests_and_limits(case: PodAndContainer) -> None:
    _, _, container = case
    resources = container["resources"]
    for bound in ("requests", "limits"):
        assert {"cpu", "memory"} <= resources[bound].keys(), f"missing {bound}"


@pytest.mark.parametrize("case", CASES)
def test_long_running_containers_have_liveness_and_readiness_probes(
    case: PodAndContainer,
) -> None:
    rendered, _, container = case
    if runs_to_completion(rendered):
        assert "livenessProbe" not in container and "readinessProbe" not in container
        return
    assert container.get("livenessProbe"), "no liveness probe"
    assert container.get("readinessProbe"), "no readiness probe"


@pytest.mark.parametrize("case", CASES)
def test_the_pod_shares_nothing_with_its_node(case: PodAndContainer) -> None:
    _, pod, _ = case
    spec = pod["spec"]
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        assert not spec.get(field), field
    for volume in spec.get("volumes", []):
        assert "hostPath" not in volume, volume["name"]


@pytest.mark.parametrize("case", CASES)
def test_only_the_operator_gets_a_kubernetes_api_token(case: PodAndContainer) -> None:
    rendered, pod, _ = case
    is_operator = rendered.manifest["metadata"]["labels"]["app.kubernetes.io/component"] == (
        "operator"
    )
    assert pod["spec"]["automountServiceAccountToken"] is is_operator


@pytest.mark.parametrize("scenario", scenario_names())
def test_the_workers_the_operator_creates_get_the_same_security(scenario: str) -> None:
    rendering: Rendering = render_scenario(scenario)
    for resource in rendering.of_kind("ErosProcessing"):
        worker = resource.manifest["spec"]["worker"]
        pod = {"spec": {"securityContext": worker["podSecurityContext"]}}
        container = {"securityContext": worker["securityContext"]}
        assert effective(pod, container, "runAsNonRoot") is True
        assert effective(pod, container, "runAsUser") not in (0, None)
        assert effective(pod, container, "seccompProfile") == {"type": "RuntimeDefault"}
        assert worker["securityContext"]["readOnlyRootFilesystem"] is True
        assert worker["securityContext"]["allowPrivilegeEscalation"] is False
        assert "ALL" in worker["securityContext"]["capabilities"]["drop"]
