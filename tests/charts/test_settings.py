"""The environment the chart gives EROS is accepted by EROS' own Settings class."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from typing import Any

import pytest

from eros.core.settings import Settings
from tests.charts.chart import Rendering, eros_containers, render_scenario, scenario_names

# Stand-ins for settings read from Secrets the user creates (existingSecret).
USER_SECRET_VALUE = {
    "EROS_DATABASE_URL": "postgresql://eros:secret@db:5432/eros",
    "EROS_REDIS_URL": "redis://redis:6379/0",
    "EROS_JWT_SECRET": "a-signing-key-created-by-the-platform-team-0123456789",
    "EROS_ANTHROPIC_API_KEY": "sk-ant-example",
}


def container_environment(rendering: Rendering, container: Mapping[str, Any]) -> dict[str, str]:
    """What the container's process sees, with Secret and ConfigMap references resolved."""
    config_maps = {r.name: r.manifest["data"] for r in rendering.of_kind("ConfigMap")}
    secrets = {r.name: r.manifest["data"] for r in rendering.of_kind("Secret")}
    environment: dict[str, str] = {}
    for source in container.get("envFrom", []):
        environment.update(config_maps[source["configMapRef"]["name"]])
    for env in container.get("env", []):
        if "value" in env:
            environment[env["name"]] = env["value"]
            continue
        if "fieldRef" in env["valueFrom"]:
            continue  # the downward API (the operator's POD_NAME): no EROS setting
        ref = env["valueFrom"]["secretKeyRef"]
        if ref["name"] in secrets:
            environment[env["name"]] = base64.b64decode(secrets[ref["name"]][ref["key"]]).decode()
        else:
            environment[env["name"]] = USER_SECRET_VALUE[env["name"]]
    return environment


@pytest.mark.parametrize("scenario", scenario_names())
def test_every_eros_container_starts_with_valid_settings(
    scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendering = render_scenario(scenario)
    checked = 0
    for rendered, container in eros_containers(rendering):
        for name in [name for name in os.environ if name.startswith("EROS_")]:
            monkeypatch.delenv(name)
        environment = container_environment(rendering, container)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        settings = Settings()
        assert settings.environment.value == rendering.merged_values["config"]["environment"]
        assert settings.redis_url and settings.database_url, rendered
        checked += 1
    assert checked
