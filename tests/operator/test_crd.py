"""The ErosProcessing CRD: its schema, defaults and CEL rules, on good and bad resources."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from eros.operator.spec import DEFAULT_PHASES, parse_spec
from tests.operator.crd_validation import (
    REPO_ROOT,
    all_rules,
    compile_rule,
    load_crd,
    openapi_schema,
    validate,
)

EXAMPLES = sorted((REPO_ROOT / "examples").glob("erosprocessing-*.yaml"))
KUBERNETES_VERSION = "1.29"
# Fields whose absence means something a default cannot say.
NO_DEFAULT = {"tolerationSeconds"}


def resource(spec: Mapping[str, Any] | None = None, name: str = "eros") -> dict[str, Any]:
    return {
        "apiVersion": "eros.dev/v1alpha1",
        "kind": "ErosProcessing",
        "metadata": {"name": name, "namespace": "eros"},
        "spec": copy.deepcopy(dict(spec or {})),
    }


def phases(**changes: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The default phases with some fields changed, by phase index (`p0`, `p1`, `p2`)."""
    result = [dict(p) for p in DEFAULT_PHASES]
    for key, fields in changes.items():
        result[int(key[1:])].update(fields)
    return result


def fields(
    schema: Mapping[str, Any], path: str = ""
) -> Iterator[tuple[str, Mapping[str, Any], bool]]:
    """(path, schema, required) of every property below `schema`."""
    required = set(schema.get("required") or [])
    for name, sub in (schema.get("properties") or {}).items():
        yield f"{path}.{name}", sub, name in required
        yield from fields(sub, f"{path}.{name}")
    if isinstance(schema.get("items"), Mapping):
        yield from fields(schema["items"], f"{path}[]")


def test_the_crd_files_are_valid_kubernetes_objects() -> None:
    for path in sorted((REPO_ROOT / "crds").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_crd_is_namespaced_with_short_names_status_and_printer_columns() -> None:
    crd = load_crd()["spec"]
    version = crd["versions"][0]
    assert (crd["group"], crd["scope"], crd["names"]["kind"]) == (
        "eros.dev",
        "Namespaced",
        "ErosProcessing",
    )
    assert version["name"] == "v1alpha1"
    assert crd["names"]["shortNames"]
    assert version["subresources"] == {"status": {}}
    columns = {c["name"] for c in version["additionalPrinterColumns"]}
    assert {"Idle", "Replicas", "Ready", "Age"} <= columns


def test_every_spec_field_has_a_description_and_a_default_or_is_required() -> None:
    spec = openapi_schema()["properties"]["spec"]
    for path, schema, required in fields(spec, "spec"):
        assert schema.get("description"), f"{path} has no description"
        if path.rsplit(".", 1)[-1] not in NO_DEFAULT:
            assert "default" in schema or required, f"{path} has neither default nor required"


def test_every_status_field_has_a_description() -> None:
    status = openapi_schema()["properties"]["status"]
    for path, schema, _ in fields(status, "status"):
        assert schema.get("description"), f"{path} has no description"


def test_every_cel_rule_compiles() -> None:
    rules = all_rules(openapi_schema())
    assert len(rules) >= 10
    for rule in rules:
        compile_rule(rule)  # raises on a syntax error


def test_the_operator_applies_the_same_defaults_as_the_crd() -> None:
    defaulted, errors = validate(resource())
    assert errors == []
    assert parse_spec(defaulted["spec"]) == parse_spec({})


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: Path(p).name)
def test_the_examples_are_valid(path: Path) -> None:
    example = yaml.safe_load(path.read_text())
    defaulted, errors = validate(example)
    assert errors == []
    parse_spec(defaulted["spec"])


GOOD = {
    "empty spec": {},
    "quantities as numbers": {"cpuPool": 8, "phases": phases(p2={"cpuPerWorker": 2})},
    "fractional cores": {"cpuPool": "2.5", "phases": phases(p2={"cpuPerWorker": "1.5"})},
    "budget bounds": {"phases": phases(p0={"cpuBudgetPercent": 0}, p2={"cpuBudgetPercent": 100})},
    "headroom bounds": {"headroomPercent": 50},
    "min equals max": {"phases": phases(p1={"minReplicas": 3, "maxReplicas": 3})},
    "custom priority": {"priority": ["phase-1", "phase-3", "phase-2"]},
    "compound durations": {
        "phases": phases(p0={"idleAfter": "90s"}, p1={"idleAfter": "1h30m"}, p2={"idleAfter": "2h"})
    },
    "window across midnight": {"offPeak": {"start": "22:00", "end": "06:00"}},
}


@pytest.mark.parametrize("spec", GOOD.values(), ids=GOOD.keys())
def test_good_resources_are_accepted(spec: Mapping[str, Any]) -> None:
    defaulted, errors = validate(resource(spec))
    assert errors == []
    parse_spec(defaulted["spec"])


BAD = {
    "budget above 100": ({"phases": phases(p0={"cpuBudgetPercent": 101})}, "within 0-100"),
    "negative budget": ({"phases": phases(p1={"cpuBudgetPercent": -1})}, "within 0-100"),
    "thresholds not increasing": (
        {"phases": phases(p1={"idleAfter": "10m"})},
        "strictly increasing",
    ),
    "thresholds decreasing": ({"phases": phases(p2={"idleAfter": "20m"})}, "strictly increasing"),
    "headroom above 50": ({"headroomPercent": 51}, "headroomPercent must be within 0-50"),
    "min above max": (
        {"phases": phases(p2={"minReplicas": 5, "maxReplicas": 4})},
        "minReplicas must not exceed maxReplicas",
    ),
    "cpu not a quantity": (
        {"phases": phases(p0={"cpuPerWorker": "a lot"})},
        "cpuPerWorker must be a positive CPU quantity",
    ),
    "zero cpu": ({"phases": phases(p0={"cpuPerWorker": "0"})}, "positive CPU quantity"),
    "memory not a quantity": (
        {"phases": phases(p0={"memoryPerWorker": "12 gigs"})},
        "memoryPerWorker must be a positive memory quantity",
    ),
    "negative pool": ({"cpuPool": "-4"}, "cpuPool must be a positive CPU quantity"),
    "worker bigger than the pool": (
        {"cpuPool": "1", "phases": phases(p2={"cpuPerWorker": "2"})},
        "must not exceed cpuPool",
    ),
    "priority with an unknown phase": (
        {"priority": ["phase-1", "phase-2", "phase-9"]},
        "list every phase name exactly once",
    ),
    "priority missing a phase": ({"priority": ["phase-1", "phase-2"]}, "exactly once"),
    "duplicate phase names": (
        {"phases": phases(p1={"name": "phase-1"})},
        "duplicate entries",
    ),
    "two phases": ({"phases": phases()[:2]}, "too short"),
    "empty off-peak window": ({"offPeak": {"start": "06:00", "end": "06:00"}}, "must differ"),
    "off-peak time not HH:MM": ({"offPeak": {"start": "6pm"}}, "does not match"),
    "duration in words": ({"phases": phases(p0={"idleAfter": "ten minutes"})}, "does not match"),
    "misspelt field": ({"headroomPercnt": 5}, "Additional properties"),
    "unknown pull policy": ({"worker": {"imagePullPolicy": "Sometimes"}}, "is not one of"),
    "tick too fast": ({"tickSeconds": 0}, "less than the minimum"),
}


@pytest.mark.parametrize(("spec", "message"), BAD.values(), ids=BAD.keys())
def test_bad_resources_are_rejected_with_a_clear_message(
    spec: Mapping[str, Any], message: str
) -> None:
    _, errors = validate(resource(spec))
    assert any(message in error for error in errors), errors


def test_a_name_too_long_for_the_deployment_names_is_rejected() -> None:
    _, errors = validate(resource(name="x" * 51))
    assert any("at most 50 characters" in error for error in errors), errors
