"""skaffold.yaml meets Skaffold's published schema and deploys what it says it does."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from tests.charts.chart import REPO_ROOT
from tests.charts.skaffold import (
    BUILT_IMAGE,
    config,
    effective,
    helm_values,
    profile_names,
    render_profile,
)

SCHEMA_DIR = REPO_ROOT / "tests" / "charts" / "data"
PROFILES: list[str | None] = [None, *profile_names()]
PROFILE_IDS = ["no-profile", *profile_names()]


def vendored_schema() -> dict[str, Any]:
    version = config()["apiVersion"].removeprefix("skaffold/")
    path = SCHEMA_DIR / f"skaffold-{version}.json"
    assert path.exists(), f"vendor Skaffold's schema for {version} as {path.name}"
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def test_skaffold_yaml_meets_the_schema_of_its_api_version() -> None:
    jsonschema.validate(config(), vendored_schema())


def test_the_schema_would_catch_a_misspelt_key() -> None:
    # Proof that the check above is strict: Skaffold's schema forbids unknown keys.
    broken = {**config(), "bulid": config()["build"]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, vendored_schema())


def test_there_are_dev_and_prod_profiles_and_skaffold_dev_picks_dev() -> None:
    assert {"dev", "prod"} <= set(profile_names())
    (dev,) = [p for p in config()["profiles"] if p["name"] == "dev"]
    assert {"command": "dev"} in dev["activation"]


@pytest.mark.parametrize("profile", PROFILES, ids=PROFILE_IDS)
def test_every_profile_yields_a_valid_config_whose_files_exist(profile: str | None) -> None:
    pipeline = effective(profile)
    jsonschema.validate(pipeline, vendored_schema())
    (artifact,) = pipeline["build"]["artifacts"]
    assert (REPO_ROOT / artifact.get("context", ".") / artifact["docker"]["dockerfile"]).is_file()
    (release,) = pipeline["deploy"]["helm"]["releases"]
    assert (REPO_ROOT / release["chartPath"] / "Chart.yaml").is_file()
    for path in release["valuesFiles"]:
        assert (REPO_ROOT / path).is_file(), path


@pytest.mark.parametrize("profile", PROFILES, ids=PROFILE_IDS)
def test_the_chart_deploys_the_image_skaffold_built(profile: str | None) -> None:
    (release,) = effective(profile)["deploy"]["helm"]["releases"]
    image = helm_values(release)["image"]
    assert image["repository"] == BUILT_IMAGE["IMAGE_REPO"]
    built = f"{BUILT_IMAGE['IMAGE_REPO']}:{BUILT_IMAGE['IMAGE_TAG']}@{BUILT_IMAGE['IMAGE_DIGEST']}"
    rendering = render_profile(profile)
    images = {
        container["image"]
        for deployment in rendering.of_kind("Deployment")
        if deployment.manifest["metadata"]["labels"]["app.kubernetes.io/component"]
        in {"api", "scheduler", "operator"}
        for container in deployment.manifest["spec"]["template"]["spec"]["containers"]
    }
    assert images == {built}
    for resource in rendering.of_kind("ErosProcessing"):
        assert resource.manifest["spec"]["worker"]["image"] == built


def test_dev_forwards_the_api_port_of_a_service_it_deploys() -> None:
    rendering = render_profile("dev")
    forwards = effective("dev")["portForward"]
    assert forwards
    for forward in forwards:
        service = rendering.one("Service", forward["resourceName"])
        assert service["metadata"]["namespace"] == forward["namespace"]
        assert forward["port"] in {port["port"] for port in service["spec"]["ports"]}


def test_dev_runs_everything_in_the_cluster_and_prod_nothing() -> None:
    dev, prod = render_profile("dev"), render_profile("prod")
    assert dev.merged_values["config"]["environment"] == "development"
    assert dev.merged_values["redis"]["enabled"] and dev.merged_values["postgresql"]["enabled"]
    assert prod.merged_values["config"]["environment"] == "production"
    assert not (
        prod.merged_values["redis"]["enabled"] or prod.merged_values["postgresql"]["enabled"]
    )
    assert config()["build"]["tagPolicy"] != effective("prod")["build"]["tagPolicy"]
    assert effective("prod")["build"]["local"]["push"] is True
