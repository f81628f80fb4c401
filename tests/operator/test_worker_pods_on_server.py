"""The worker pods the operator builds, as a real API server stores them: every phase's
pod carries the `metrics` port and both probes, under restricted pod security."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eros.operator.manifests import (
    METRICS_PORT,
    METRICS_PORT_NAME,
    Owner,
    build_worker_deployment,
    selector_labels,
)
from eros.operator.spec import parse_spec
from eros.pipeline.server import HEALTH_PATH, READY_PATH
from tests.control_plane import ControlPlane
from tests.operator_process import eventually

pytestmark = pytest.mark.kube

NAME = "eros"
RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}
# The controller manager creates the ReplicaSets and their pods within seconds.
POD_TIMEOUT_SECONDS = 60.0


def _pods(plane: ControlPlane, namespace: str, phase: int) -> list[dict[str, Any]]:
    selector = ",".join(f"{key}={value}" for key, value in selector_labels(NAME, phase).items())
    out = plane.kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json").stdout
    items: list[dict[str, Any]] = json.loads(out)["items"]
    return items


def test_every_phases_worker_pod_is_admitted_with_its_metrics_port_and_probes(
    control_plane: ControlPlane,
) -> None:
    namespace = control_plane.create_namespace("eros-workers", labels=RESTRICTED)
    spec = parse_spec({})
    owner = Owner(name=NAME, namespace=namespace, uid="0b2c5e52-0000-4000-8000-000000000003")
    deployments = [build_worker_deployment(owner, spec, phase, 1) for phase in spec.phases]
    for deployment in deployments:
        # No ErosProcessing exists here: the garbage collector would delete an orphan.
        deployment["metadata"].pop("ownerReferences")
    control_plane.apply(*deployments, namespace=namespace)

    for phase in spec.phases:
        pods = eventually(
            lambda number=phase.number: _pods(control_plane, namespace, number),
            POD_TIMEOUT_SECONDS,
            f"the phase {phase.number} worker pod",
        )
        (container,) = pods[0]["spec"]["containers"]
        assert container["ports"] == [
            {"name": METRICS_PORT_NAME, "containerPort": METRICS_PORT, "protocol": "TCP"}
        ]
        assert container["livenessProbe"]["httpGet"]["path"] == HEALTH_PATH
        assert container["readinessProbe"]["httpGet"]["path"] == READY_PATH
        for probe in (container["livenessProbe"], container["readinessProbe"]):
            assert probe["httpGet"]["port"] == METRICS_PORT_NAME
