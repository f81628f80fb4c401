"""The PodMonitor of the worker pods: off by default, and when on it scrapes the very pods
and port the operator builds."""

from __future__ import annotations

from typing import Any

import helm_python
import pytest

from eros.operator.manifests import METRICS_PORT_NAME, Owner, build_worker_deployment
from eros.operator.spec import parse_spec
from tests.charts.chart import CHART_DIR, NAMESPACE, chart, kube_version, render, scenario_values

# Helm lint reports warnings at this severity and above.
LINT_WARNING = 2
OWNER_UID = "0b2c5e52-0000-4000-8000-000000000002"


def _values(**overrides: Any) -> dict[str, Any]:
    return {**scenario_values("minimal"), **overrides}


def _worker_pods(owner_name: str) -> list[dict[str, Any]]:
    spec = parse_spec({})
    owner = Owner(name=owner_name, namespace=NAMESPACE, uid=OWNER_UID)
    return [
        build_worker_deployment(owner, spec, phase, replicas=1)["spec"]["template"]
        for phase in spec.phases
    ]


def _selects(monitor: dict[str, Any], pod: dict[str, Any]) -> bool:
    wanted = monitor["spec"]["selector"]["matchLabels"].items()
    return bool(wanted <= pod["metadata"]["labels"].items())


def test_no_pod_monitor_is_rendered_by_default() -> None:
    assert not render(_values()).of_kind("PodMonitor")


def test_the_pod_monitor_scrapes_every_phases_workers_on_their_metrics_port() -> None:
    rendering = render(_values(podMonitor={"enabled": True}))
    (monitor,) = (r.manifest for r in rendering.of_kind("PodMonitor"))
    (resource,) = (r.manifest for r in rendering.of_kind("ErosProcessing"))

    assert monitor["metadata"]["namespace"] == NAMESPACE
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    for pod in _worker_pods(resource["metadata"]["name"]):
        assert _selects(monitor, pod)
        ports = {port["name"] for port in pod["spec"]["containers"][0]["ports"]}
        for endpoint in monitor["spec"]["podMetricsEndpoints"]:
            assert endpoint["port"] in ports and endpoint["path"] == "/metrics"
    assert {e["port"] for e in monitor["spec"]["podMetricsEndpoints"]} == {METRICS_PORT_NAME}


def test_the_pod_monitor_leaves_the_workers_of_other_resources_alone() -> None:
    rendering = render(_values(podMonitor={"enabled": True}))
    (monitor,) = (r.manifest for r in rendering.of_kind("PodMonitor"))
    assert not any(_selects(monitor, pod) for pod in _worker_pods("someone-elses"))


def test_without_the_charts_resource_it_scrapes_every_eros_worker_of_the_namespace() -> None:
    rendering = render(_values(podMonitor={"enabled": True}, erosProcessing={"enabled": False}))
    (monitor,) = (r.manifest for r in rendering.of_kind("PodMonitor"))
    assert all(_selects(monitor, pod) for pod in _worker_pods("hand-made"))


def test_the_pod_monitor_takes_its_labels_interval_and_timeout_from_the_values() -> None:
    values = {
        "enabled": True,
        "labels": {"release": "kube-prometheus-stack"},
        "interval": "15s",
        "scrapeTimeout": "5s",
    }
    (monitor,) = (r.manifest for r in render(_values(podMonitor=values)).of_kind("PodMonitor"))
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert (endpoint["interval"], endpoint["scrapeTimeout"]) == ("15s", "5s")


def test_empty_interval_and_timeout_leave_them_to_prometheus() -> None:
    values = {"enabled": True, "interval": "", "scrapeTimeout": ""}
    (monitor,) = (r.manifest for r in render(_values(podMonitor=values)).of_kind("PodMonitor"))
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert "interval" not in endpoint and "scrapeTimeout" not in endpoint


@pytest.mark.parametrize(
    "values",
    [
        {"enabled": "yes"},
        {"enabled": True, "interval": "thirty seconds"},
        {"enabled": True, "port": "http"},
    ],
    ids=["enabled is no boolean", "an interval that is no duration", "an unknown key"],
)
def test_the_schema_rejects_bad_pod_monitor_values(values: dict[str, Any]) -> None:
    with pytest.raises(helm_python.HelmValuesError):
        chart().validate_schema(_values(podMonitor=values))


def test_strict_lint_passes_with_the_pod_monitor_on() -> None:
    report = helm_python.lint(
        CHART_DIR,
        _values(podMonitor={"enabled": True}),
        strict=True,
        namespace=NAMESPACE,
        kube_version=f"v{kube_version()}",
    )
    assert not [m for m in report["messages"] if m["severity"] >= LINT_WARNING], report
    assert not report["errors"], report["errors"]
