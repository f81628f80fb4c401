"""values.yaml is fully documented, and values.schema.json rejects what would pass silently."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import helm_python
import jsonschema
import pytest
import yaml

from tests.charts.chart import CHART_DIR, chart, render, scenario_names, scenario_values

VALUES_FILE = CHART_DIR / "values.yaml"
SCHEMA_FILE = CHART_DIR / "values.schema.json"
EXTERNAL = {
    "externalDatabase": {"url": "postgresql://eros@db:5432/eros"},
    "externalRedis": {"url": "redis://redis:6379/0"},
}


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text())
    return loaded


def schema_nodes(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every subschema, with a readable path."""
    if isinstance(node, dict):
        yield path, node
        for key, child in node.items():
            yield from schema_nodes(child, f"{path}/{key}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from schema_nodes(child, f"{path}/{index}")


def with_external(values: dict[str, Any]) -> dict[str, Any]:
    return {**EXTERNAL, **values}


def test_the_schema_is_valid_draft_07() -> None:
    loaded = schema()
    assert loaded["$schema"].startswith("http://json-schema.org/draft-07/schema")
    jsonschema.Draft7Validator.check_schema(loaded)


def test_values_yaml_points_editors_at_the_schema() -> None:
    first_line = VALUES_FILE.read_text().splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=values.schema.json"


def test_every_property_in_the_schema_has_a_description() -> None:
    for path, node in schema_nodes(schema()):
        for name, child in (node.get("properties") or {}).items():
            assert child.get("description"), f"{path}/properties/{name} has no description"


def test_objects_with_known_keys_reject_unknown_ones() -> None:
    for path, node in schema_nodes(schema()):
        if "properties" in node and path not in {"/definitions/extraEnvItem"}:
            assert node.get("additionalProperties") is False, f"{path} accepts any key"


def test_the_defaults_and_every_scenario_meet_the_schema() -> None:
    validator = jsonschema.Draft7Validator(schema())
    defaults = yaml.safe_load(VALUES_FILE.read_text())
    assert not list(validator.iter_errors(defaults))
    for name in scenario_names():
        merged = chart().merge_values(scenario_values(name))
        errors = [error.message for error in validator.iter_errors(merged)]
        assert not errors, f"ci/{name}-values.yaml: {errors}"


def documented_keys(node: Any, schema_node: dict[str, Any], path: str) -> Iterator[str]:
    """Keys of the chart's own options that values.yaml does not spell out.

    Reusable definitions (`$ref`) are Kubernetes types such as probes and security
    contexts: their optional fields are documented by Kubernetes, so they are not
    descended into.
    """
    properties = schema_node.get("properties")
    if "$ref" in schema_node or not isinstance(node, dict) or not properties:
        return
    for key, child_schema in properties.items():
        if key not in node:
            yield f"{path}.{key}".lstrip(".")
            continue
        yield from documented_keys(node[key], child_schema, f"{path}.{key}")


def test_values_yaml_lists_every_option_of_the_schema() -> None:
    # Optional keys without a default would be undocumented; only Helm's `global` is exempt.
    defaults = yaml.safe_load(VALUES_FILE.read_text())
    missing = [key for key in documented_keys(defaults, schema(), "") if key != "global"]
    assert not missing


def test_every_key_in_values_yaml_has_a_comment() -> None:
    lines = VALUES_FILE.read_text().splitlines()
    undocumented = []
    root = yaml.compose(VALUES_FILE.read_text())
    assert root is not None
    for key_node, path in mapping_keys(root, ""):
        line = key_node.start_mark.line
        above = lines[line - 1].strip() if line > 0 else ""
        if not (above.startswith("#") or " # " in lines[line]):
            undocumented.append(f"{path} (line {line + 1})")
    assert not undocumented


def mapping_keys(node: yaml.Node, path: str) -> Iterator[tuple[yaml.Node, str]]:
    """Keys of mappings, descending into mappings but not into lists (their items are examples)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = f"{path}.{key.value}".lstrip(".")
            yield key, child
            yield from mapping_keys(value, child)


BAD_VALUES = {
    "a misspelt top-level key": {"replicaCount": 3},
    "a misspelt nested key": {"api": {"replicaCont": 3}},
    "a misspelt probe field": {"api": {"livenessProbe": {"initialDelay": 5}}},
    "a number as a string": {"api": {"replicaCount": "3"}},
    "a list where a map belongs": {"api": {"nodeSelector": ["disk=ssd"]}},
    "an unknown log format": {"config": {"logFormat": "xml"}},
    "an unknown environment": {"config": {"environment": "staging"}},
    "a short JWT secret": {"jwt": {"secret": "too-short"}},
    "a malformed digest": {"image": {"digest": "latest"}},
    "an unknown pull policy": {"image": {"pullPolicy": "Sometimes"}},
    "two phase thresholds": {"config": {"phaseIdleSeconds": [600, 1800]}},
    "a budget above 100 percent": {
        "erosProcessing": {
            "phases": [
                {
                    "name": "phase-1",
                    "cpuBudgetPercent": 150,
                    "cpuPerWorker": "100m",
                    "memoryPerWorker": "256Mi",
                    "jobsPerWorker": 1,
                    "minReplicas": 0,
                    "maxReplicas": 4,
                    "offPeakOnly": False,
                }
            ]
            * 3
        }
    },
    "too much headroom": {"erosProcessing": {"headroomPercent": 60}},
    "a CPU pool that is no quantity": {"erosProcessing": {"cpuPool": "four"}},
    "an off-peak time out of range": {"erosProcessing": {"offPeak": {"start": "25:00"}}},
    "limits removed (null deletes a default)": {"api": {"resources": {"limits": None}}},
    "a namespace that is no DNS label": {"operator": {"watchNamespaces": ["Prod_NS"]}},
    "a database URL of another scheme": {"externalDatabase": {"url": "mysql://db/eros"}},
    "a Secret name with capitals": {"jwt": {"existingSecret": "My-Secret"}},
    "a password that would break the URL": {"postgresql": {"auth": {"password": "p@ss:w/rd"}}},
}


@pytest.mark.parametrize("values", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_helm_rejects_bad_values_through_the_schema(values: dict[str, Any]) -> None:
    with pytest.raises(helm_python.HelmValuesError):
        chart().validate_schema(with_external(values))


BAD_COMBINATIONS = {
    "thresholds out of order": (
        {"config": {"phaseIdleSeconds": [1800, 600, 3600]}},
        "strictly increasing",
    ),
    "minReplicas above maxReplicas": (
        {
            "erosProcessing": {
                "phases": [
                    {**phase, "minReplicas": 5}
                    for phase in (
                        {
                            "name": f"phase-{n}",
                            "cpuBudgetPercent": 10,
                            "cpuPerWorker": "100m",
                            "memoryPerWorker": "256Mi",
                            "jobsPerWorker": 1,
                            "minReplicas": 0,
                            "maxReplicas": 4,
                            "offPeakOnly": False,
                        }
                        for n in (1, 2, 3)
                    )
                ]
            }
        },
        "minReplicas above maxReplicas",
    ),
    "a priority missing a phase": (
        {"erosProcessing": {"priority": ["phase-3", "phase-1"]}},
        "every phase name exactly once",
    ),
    "both ways of choosing namespaces": (
        {"operator": {"watchAllNamespaces": True, "watchNamespaces": ["a"]}},
        "not both",
    ),
    "an autoscaler without a target": (
        {"api": {"autoscaling": {"enabled": True, "targetCPUUtilizationPercentage": 0}}},
        "needs a target",
    ),
    "an empty off-peak window": (
        {"erosProcessing": {"offPeak": {"start": "07:00", "end": "07:00"}}},
        "must differ",
    ),
}


@pytest.mark.parametrize(
    ("values", "message"), BAD_COMBINATIONS.values(), ids=BAD_COMBINATIONS.keys()
)
def test_the_templates_reject_combinations_the_schema_cannot_express(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(helm_python.HelmRenderError, match=message):
        render(with_external(values))
