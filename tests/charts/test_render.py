"""The chart renders, lints strictly and validates against Kubernetes for every scenario."""

from __future__ import annotations

import base64
import json
import re
from collections import Counter

import helm_python
import kubernetes_validate
import pytest

from tests.charts.chart import (
    CHART_DIR,
    NAMESPACE,
    Rendering,
    chart,
    eros_containers,
    kube_version,
    pods,
    render,
    render_scenario,
    scenario_names,
    scenario_values,
)

SCENARIOS = scenario_names()
# Kinds from optional integrations whose CRDs the chart does not ship: they are
# checked by the tests of their own templates instead.
EXTERNAL_CUSTOM_KINDS = frozenset({"ServiceMonitor", "PodMonitor", "PrometheusRule"})
# Custom resources whose CRDs the chart ships; test_crds validates them against those.
CHART_CUSTOM_KINDS = frozenset({"ErosProcessing", "KopfPeering", "ClusterKopfPeering"})
BUILTIN_KINDS = frozenset(
    {
        "ConfigMap",
        "Secret",
        "Service",
        "ServiceAccount",
        "Deployment",
        "Job",
        "Pod",
        "PersistentVolumeClaim",
        "Role",
        "RoleBinding",
        "ClusterRole",
        "ClusterRoleBinding",
        "Ingress",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
    }
)
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LINT_WARNING = 2


@pytest.fixture(params=SCENARIOS)
def scenario(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def rendering(scenario: str) -> Rendering:
    return render_scenario(scenario)


def test_there_are_scenarios_for_the_optional_features() -> None:
    assert {"minimal", "production", "development", "all-features"} <= set(SCENARIOS)


def test_the_default_values_alone_refuse_to_render_and_say_what_is_missing() -> None:
    # PostgreSQL and Redis are external by default and have no sensible default address:
    # failing at `helm install` beats pods crash-looping on a missing setting.
    with pytest.raises(helm_python.HelmRenderError, match=r"externalDatabase\.url"):
        render({})


def test_missing_redis_is_named_too() -> None:
    with pytest.raises(helm_python.HelmRenderError, match=r"externalRedis\.url"):
        render({"externalDatabase": {"url": "postgresql://db/eros"}})


def test_the_chart_declares_the_kubernetes_versions_it_supports() -> None:
    metadata = chart().metadata
    assert metadata["apiVersion"] == "v2"
    assert kube_version() in kubernetes_validate.utils.all_versions()


def test_strict_lint_passes(scenario: str) -> None:
    report = helm_python.lint(
        CHART_DIR,
        scenario_values(scenario),
        strict=True,
        namespace=NAMESPACE,
        kube_version=f"v{kube_version()}",
    )
    problems = [m for m in report["messages"] if m["severity"] >= LINT_WARNING]
    assert not problems, problems
    assert not report["errors"], report["errors"]


@pytest.mark.parametrize(
    "version",
    [kube_version(), kubernetes_validate.utils.latest_version()],
    ids=["oldest-supported", "newest-known"],
)
def test_every_manifest_validates_against_the_kubernetes_schemas(
    rendering: Rendering, version: str
) -> None:
    checked = 0
    for rendered in rendering.manifests:
        if rendered.kind in EXTERNAL_CUSTOM_KINDS | CHART_CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(rendered.manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            pytest.fail(
                f"{rendered} is invalid for Kubernetes {version} at {path}: {error.message}"
            )
        checked += 1
    assert checked > 0


def test_only_known_kinds_are_rendered(rendering: Rendering) -> None:
    kinds = {rendered.kind for rendered in rendering.manifests}
    custom = {kind for kind in kinds if kind not in BUILTIN_KINDS}
    assert custom <= EXTERNAL_CUSTOM_KINDS | CHART_CUSTOM_KINDS


def test_each_template_file_holds_one_kind(rendering: Rendering) -> None:
    kinds_per_file: dict[str, set[str]] = {}
    for rendered in rendering.manifests:
        kinds_per_file.setdefault(rendered.template, set()).add(rendered.kind)
    mixed = {template: kinds for template, kinds in kinds_per_file.items() if len(kinds) > 1}
    assert not mixed


def test_names_are_unique_valid_and_short_enough(rendering: Rendering) -> None:
    keys = Counter((r.kind, r.namespace, r.name) for r in rendering.manifests)
    assert not [key for key, count in keys.items() if count > 1]
    for rendered in rendering.manifests:
        assert len(rendered.name) <= 63 and DNS_LABEL.match(rendered.name), rendered


def test_namespaced_objects_name_their_namespace(rendering: Rendering) -> None:
    cluster_scoped = {"ClusterRole", "ClusterRoleBinding", "ClusterKopfPeering"}
    for rendered in rendering.manifests:
        if rendered.kind in cluster_scoped:
            assert rendered.namespace is None, rendered
        else:
            assert rendered.namespace, rendered


def test_everything_carries_the_standard_labels(rendering: Rendering) -> None:
    for rendered in rendering.manifests:
        labels = rendered.manifest["metadata"]["labels"]
        assert labels["app.kubernetes.io/instance"] == "eros", rendered
        assert labels["app.kubernetes.io/managed-by"] == "Helm", rendered
        assert labels["app.kubernetes.io/name"] == "eros", rendered
        assert labels["helm.sh/chart"].startswith("eros-"), rendered


def test_selectors_match_their_pods_and_only_their_component(rendering: Rendering) -> None:
    for deployment in rendering.of_kind("Deployment"):
        selector = deployment.manifest["spec"]["selector"]["matchLabels"]
        pod_labels = deployment.manifest["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= pod_labels.items(), deployment
        assert "app.kubernetes.io/component" in selector, deployment
    selectors = [
        tuple(sorted(d.manifest["spec"]["selector"]["matchLabels"].items()))
        for d in rendering.of_kind("Deployment")
    ]
    assert len(selectors) == len(set(selectors)), "two Deployments select the same pods"


def test_services_select_pods_that_expose_their_target_ports(rendering: Rendering) -> None:
    deployments = [d.manifest for d in rendering.of_kind("Deployment")]
    for service in rendering.of_kind("Service"):
        selector = service.manifest["spec"]["selector"]
        backends = [
            d
            for d in deployments
            if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(backends) == 1, f"{service} selects {len(backends)} Deployments"
        port_names = {
            port["name"]
            for container in backends[0]["spec"]["template"]["spec"]["containers"]
            for port in container.get("ports", [])
        }
        for port in service.manifest["spec"]["ports"]:
            assert port["targetPort"] in port_names, f"{service}: no port {port['targetPort']}"


def test_pods_reference_only_configmaps_and_secrets_that_exist(rendering: Rendering) -> None:
    """Rendered objects must exist; `existingSecret` names are the user's to create."""
    values = rendering.merged_values
    user_secrets = {
        values[group]["existingSecret"]
        for group in ("externalDatabase", "externalRedis", "jwt", "anthropic")
        if values[group]["existingSecret"]
    }
    rendered_secrets = {r.name: r.manifest for r in rendering.of_kind("Secret")}
    config_maps = {r.name for r in rendering.of_kind("ConfigMap")}
    for rendered, pod in pods(rendering):
        for container in pod["spec"]["containers"]:
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps, rendered
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref is None or ref["name"] in user_secrets:
                    continue
                assert ref["name"] in rendered_secrets, f"{rendered}: Secret {ref['name']}"
                assert ref["key"] in rendered_secrets[ref["name"]]["data"], (
                    f"{rendered}: key {ref['key']} of Secret {ref['name']}"
                )


def test_every_eros_pod_gets_all_settings_and_every_secret_setting(rendering: Rendering) -> None:
    required = {"EROS_DATABASE_URL", "EROS_REDIS_URL", "EROS_JWT_SECRET"}
    for rendered, container in eros_containers(rendering):
        names = {env["name"] for env in container.get("env", [])}
        assert required <= names, f"{rendered}: missing {required - names}"
        assert container.get("envFrom"), rendered


def test_the_settings_configmap_holds_json_lists(rendering: Rendering) -> None:
    (config_map,) = (
        r for r in rendering.of_kind("ConfigMap") if r.template.endswith("/configmap.yaml")
    )
    data = config_map.manifest["data"]
    assert (
        json.loads(data["EROS_PHASE_IDLE_SECONDS"])
        == rendering.merged_values["config"]["phaseIdleSeconds"]
    )
    assert len(json.loads(data["EROS_PHASE_QUEUES"])) == 3
    assert isinstance(json.loads(data["EROS_CORS_ORIGINS"]), list)
    assert data["EROS_ENVIRONMENT"] in {"production", "development", "test"}


def test_notes_tell_how_to_reach_and_check_the_release(rendering: Rendering) -> None:
    assert "kubectl --namespace eros get deployments" in rendering.notes
    if rendering.merged_values["erosProcessing"]["enabled"]:
        assert "get erosprocessing" in rendering.notes


OPTIONAL_KINDS = (
    "Ingress",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "ServiceMonitor",
    "PodMonitor",
    "PrometheusRule",
    "NetworkPolicy",
    "PersistentVolumeClaim",
)


def test_optional_integrations_are_off_by_default() -> None:
    rendering = render_scenario("minimal")
    for kind in OPTIONAL_KINDS:
        assert not rendering.of_kind(kind), kind
    components = {
        d.manifest["metadata"]["labels"]["app.kubernetes.io/component"]
        for d in rendering.of_kind("Deployment")
    }
    assert components == {"api", "scheduler", "operator"}, "no in-cluster databases by default"


def test_every_optional_integration_renders_in_some_scenario() -> None:
    rendered_kinds = {r.kind for name in SCENARIOS for r in render_scenario(name).manifests}
    assert set(OPTIONAL_KINDS) <= rendered_kinds


def test_the_autoscaler_owns_the_api_replica_count() -> None:
    rendering = render_scenario("production")
    (hpa,) = rendering.of_kind("HorizontalPodAutoscaler")
    target = hpa.manifest["spec"]["scaleTargetRef"]
    api = rendering.one("Deployment", target["name"])
    assert "replicas" not in api["spec"], "Helm would reset the HPA's count on every upgrade"


def test_the_ingress_and_service_monitors_point_at_real_service_ports() -> None:
    rendering = render_scenario("all-features")
    services = {r.name: r.manifest for r in rendering.of_kind("Service")}
    (ingress,) = rendering.of_kind("Ingress")
    for rule in ingress.manifest["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            ports = {p["port"] for p in services[backend["name"]]["spec"]["ports"]}
            assert backend["port"]["number"] in ports
    monitors = rendering.of_kind("ServiceMonitor")
    assert len(monitors) == 3
    for monitor in monitors:
        selector = monitor.manifest["spec"]["selector"]["matchLabels"]
        matched = [
            s for s in services.values() if selector.items() <= s["metadata"]["labels"].items()
        ]
        assert len(matched) == 1, monitor
        port_names = {p["name"] for p in matched[0]["spec"]["ports"]}
        for endpoint in monitor.manifest["spec"]["endpoints"]:
            assert endpoint["port"] in port_names and endpoint["path"] == "/metrics"


def test_the_network_policies_cover_every_pod_of_the_release() -> None:
    rendering = render_scenario("trial-persistent")
    selectors = [
        p.manifest["spec"]["podSelector"]["matchLabels"] for p in rendering.of_kind("NetworkPolicy")
    ]
    for deployment in rendering.of_kind("Deployment"):
        labels = deployment.manifest["spec"]["template"]["metadata"]["labels"]
        assert any(selector.items() <= labels.items() for selector in selectors), deployment


def test_the_migration_job_is_a_hook_that_runs_after_install_and_before_upgrade() -> None:
    (job,) = render_scenario("minimal").of_kind("Job")
    annotations = job.manifest["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "post-install,pre-upgrade"
    assert job.manifest["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]


def test_the_helm_test_checks_the_readiness_endpoint_through_the_service() -> None:
    rendering = render_scenario("minimal")
    (pod,) = rendering.of_kind("Pod")
    assert pod.manifest["metadata"]["annotations"]["helm.sh/hook"] == "test"
    url = pod.manifest["spec"]["containers"][0]["args"][-1]
    assert url == "http://eros-api:8000/api/v1/health"
    rendering.one("Service", "eros-api")


def test_a_generated_jwt_secret_is_long_and_given_values_are_kept() -> None:
    generated = render_scenario("minimal").one("Secret", "eros")["data"]["jwt-secret"]
    assert len(base64.b64decode(generated)) >= 32
    data = render_scenario("all-features").one("Secret", "eros-all")["data"]
    given = scenario_values("all-features")["jwt"]["secret"]
    assert base64.b64decode(data["jwt-secret"]).decode() == given


def test_existing_secrets_keep_every_secret_out_of_the_charts_secret() -> None:
    assert not render_scenario("production").of_kind("Secret")


def test_a_restricted_api_still_lets_the_helm_test_pod_in() -> None:
    rendering = render_scenario("all-features")
    (test_pod,) = rendering.of_kind("Pod")
    labels = test_pod.manifest["metadata"]["labels"]
    api_policy = rendering.one("NetworkPolicy", "eros-all-api")
    peers = [peer for rule in api_policy["spec"]["ingress"] for peer in rule.get("from", [])]
    assert any(
        set(peer) == {"podSelector"}
        and peer["podSelector"]["matchLabels"].items() <= labels.items()
        for peer in peers
    )
