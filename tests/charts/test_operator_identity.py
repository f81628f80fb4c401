"""Each operator pod knows its own name: the identity kopf peering records it under and
the tiebreak between replicas of the same --priority."""

from __future__ import annotations

from typing import Any

import pytest

from eros.operator.peering import IDENTITY_ENV
from tests.charts.chart import render_scenario, scenario_names


def operator_container(scenario: str) -> dict[str, Any] | None:
    for rendered in render_scenario(scenario).of_kind("Deployment"):
        if rendered.template.endswith("templates/operator/deployment.yaml"):
            containers = rendered.manifest["spec"]["template"]["spec"]["containers"]
            return next(c for c in containers if c["name"] == "operator")
    return None


@pytest.mark.parametrize("scenario", scenario_names())
def test_the_operator_reads_its_pod_name_from_the_downward_api(scenario: str) -> None:
    container = operator_container(scenario)
    if container is None:
        pytest.skip(f"the {scenario} scenario has no operator")
    env = {item["name"]: item for item in container.get("env") or []}
    assert env[IDENTITY_ENV] == {
        "name": IDENTITY_ENV,
        "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
    }
    # The rest of the environment is still there, not replaced by the pod name.
    assert "EROS_REDIS_URL" in env
