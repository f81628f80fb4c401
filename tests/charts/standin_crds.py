"""Minimal stand-ins for CRDs the chart may use but does not own (ServiceMonitor,
PodMonitor and PrometheusRule come with the Prometheus operator), registered on the test
control plane only, so that a server-side dry run can admit the chart's objects of those
kinds. They check no field: what the chart puts in them is checked by the tests of its
templates (tests/charts/test_render.py, test_alerts.py)."""

from __future__ import annotations

from typing import Any

Manifest = dict[str, Any]


def standin_crd(group: str, version: str, kind: str, plural: str) -> Manifest:
    """A namespaced CRD that accepts any spec."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }


# kopf's KopfPeering and ClusterKopfPeering need none: the chart ships them (crds/).
STANDIN_CRDS = (
    standin_crd("monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors"),
    standin_crd("monitoring.coreos.com", "v1", "PodMonitor", "podmonitors"),
    standin_crd("monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrules"),
)
