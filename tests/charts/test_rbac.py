"""The operator gets exactly the permissions it uses, in exactly the namespaces it serves."""

from __future__ import annotations

from typing import Any

import pytest

from tests.charts.chart import (
    Rendering,
    render,
    render_scenario,
    scenario_names,
    scenario_values,
)

# Exactly the verbs the operator sends wherever it serves ErosProcessing resources: kopf
# lists, watches and patches, and posts Events; it never gets one object or updates one.
NAMESPACED_RULES = {
    ("eros.dev", "erosprocessings"): {"list", "watch", "patch"},
    ("eros.dev", "erosprocessings/status"): {"patch"},
    # kopf's index lists and watches them; the operator reads one before changing it.
    ("apps", "deployments"): {"get", "list", "watch", "create", "patch", "delete"},
    ("", "events"): {"create"},
    # The Redis URL of the ErosProcessing (its spec.redis.secretRef), by name only.
    ("", "secrets"): {"get"},
}
# kopf scans CRDs only when it serves every namespace (operator/handlers.py turns the
# scanning off otherwise), so a namespaced operator has no cluster-scoped right at all.
CRD_READ = {("apiextensions.k8s.io", "customresourcedefinitions"): {"list", "watch"}}
NAMESPACE_READ = {("", "namespaces"): {"list", "watch"}}
PEERING = {("kopf.dev", "kopfpeerings"): {"list", "watch", "patch"}}
CLUSTER_PEERING = {("kopf.dev", "clusterkopfpeerings"): {"list", "watch", "patch"}}


def grants(role: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    """A role's rules as {(apiGroup, resource): verbs}."""
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        # Only Secrets are narrowed to names; every other rule covers the resource type.
        assert bool(rule.get("resourceNames")) == (rule["resources"] == ["secrets"]), rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    return granted


def operator_args(rendering: Rendering) -> list[str]:
    (operator,) = [d for d in rendering.of_kind("Deployment") if d.name.endswith("-operator")]
    args: list[str] = operator.manifest["spec"]["template"]["spec"]["containers"][0]["args"]
    return args


def secret_names(role: dict[str, Any]) -> list[str]:
    (rule,) = [rule for rule in role["rules"] if "secrets" in rule["resources"]]
    names: list[str] = rule["resourceNames"]
    return names


@pytest.mark.parametrize("scenario", scenario_names())
def test_no_role_uses_wildcards(scenario: str) -> None:
    rendering = render_scenario(scenario)
    for kind in ("Role", "ClusterRole"):
        for role in rendering.of_kind(kind):
            for rule in role.manifest["rules"]:
                for field in ("apiGroups", "resources", "verbs"):
                    assert "*" not in rule[field], f"{role}: wildcard {field}"


@pytest.mark.parametrize("scenario", scenario_names())
def test_the_operator_may_read_the_redis_secret_of_the_erosprocessing_and_no_other(
    scenario: str,
) -> None:
    rendering = render_scenario(scenario)
    for resource in rendering.of_kind("ErosProcessing"):
        wanted = resource.manifest["spec"]["redis"]["secretRef"]["name"]
        for kind in ("Role", "ClusterRole"):
            for role in rendering.of_kind(kind):
                assert secret_names(role.manifest) == [wanted], role


def test_by_default_the_operator_serves_only_its_namespace_through_a_role() -> None:
    rendering = render_scenario("minimal")
    (role,) = rendering.of_kind("Role")
    assert role.namespace == "eros"
    assert grants(role.manifest) == NAMESPACED_RULES | PEERING
    assert not rendering.of_kind("ClusterRole") and not rendering.of_kind("ClusterRoleBinding")
    assert operator_args(rendering) == ["operator", "--namespace", "eros", "--peering", "eros"]
    (peering,) = rendering.of_kind("KopfPeering")
    assert peering.namespace == "eros"


def test_listed_namespaces_each_get_a_role_binding_and_peering() -> None:
    rendering = render_scenario("multi-namespace")
    namespaces = ["eros", "eros-batch", "eros-staging"]
    for kind in ("Role", "RoleBinding", "KopfPeering"):
        assert sorted(r.namespace or "" for r in rendering.of_kind(kind)) == namespaces
    for role in rendering.of_kind("Role"):
        assert grants(role.manifest) == NAMESPACED_RULES | PEERING
    for binding in rendering.of_kind("RoleBinding"):
        (subject,) = binding.manifest["subjects"]
        assert subject == {
            "kind": "ServiceAccount",
            "name": "eros-operator",
            "namespace": "eros",
        }
    assert not rendering.of_kind("ClusterRole")
    args = operator_args(rendering)
    assert [args[i + 1] for i, arg in enumerate(args) if arg == "--namespace"] == namespaces


def test_serving_every_namespace_moves_the_rules_into_the_cluster_role() -> None:
    rendering = render_scenario("cluster-wide")
    assert not rendering.of_kind("Role") and not rendering.of_kind("RoleBinding")
    assert not rendering.of_kind("KopfPeering")
    (cluster_role,) = rendering.of_kind("ClusterRole")
    assert grants(cluster_role.manifest) == (
        CRD_READ | NAMESPACE_READ | NAMESPACED_RULES | CLUSTER_PEERING
    )
    (peering,) = rendering.of_kind("ClusterKopfPeering")
    assert peering.name == "eros-cluster"
    assert operator_args(rendering) == ["operator", "--all-namespaces", "--peering", "eros-cluster"]


def test_cluster_scoped_names_include_the_release_namespace() -> None:
    # Two releases in two namespaces must not overwrite each other's ClusterRole.
    for kind in ("ClusterRole", "ClusterRoleBinding"):
        (resource,) = render_scenario("cluster-wide").of_kind(kind)
        assert resource.name == "eros-eros-operator"


def test_further_redis_secrets_can_be_granted_by_name() -> None:
    rendering = render(
        {**scenario_values("minimal"), "operator": {"redisSecretNames": ["team-a-redis"]}}
    )
    (role,) = rendering.of_kind("Role")
    assert secret_names(role.manifest) == ["eros", "team-a-redis"]


def test_without_the_operator_there_is_no_rbac() -> None:
    rendering = render_scenario("api-only")
    for kind in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "KopfPeering"):
        assert not rendering.of_kind(kind), kind


def test_the_other_components_share_a_tokenless_service_account() -> None:
    rendering = render_scenario("minimal")
    accounts = {r.name: r.manifest for r in rendering.of_kind("ServiceAccount")}
    assert accounts["eros"]["automountServiceAccountToken"] is False
    assert accounts["eros-operator"]["automountServiceAccountToken"] is True
    bound = {
        subject["name"]
        for kind in ("RoleBinding", "ClusterRoleBinding")
        for binding in rendering.of_kind(kind)
        for subject in binding.manifest["subjects"]
    }
    assert bound == {"eros-operator"}
