"""The ErosProcessing CRD: its schema, defaults and CEL rules, on good and bad resources."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import kubernetes_validate
import pytest
import yaml

from eros.operator.spec import parse_spec
from tests.charts.chart import kube_version
from tests.operator.crd_cases import GOOD, INVALID, Invalid, resource
from tests.operator.crd_validation import (
    CRD_PATH,
    REPO_ROOT,
    all_rules,
    compile_rule,
    load_crd,
    openapi_schema,
    validate,
)

EXAMPLES = sorted((REPO_ROOT / "examples").glob("erosprocessing-*.yaml"))
# Fields whose absence means something a default cannot say.
NO_DEFAULT = {"tolerationSeconds", "horizonSeconds"}
# Kubernetes types the CRD passes through to the worker pods unchecked.
KUBERNETES_TYPES = {
    "spec.worker.affinity",
    "spec.worker.env[]",
    "spec.worker.envFrom[]",
    "spec.worker.podSecurityContext",
    "spec.worker.securityContext",
}
TIME_ZONES_MODULE = "eros_scripts_sync_time_zones"


def load_time_zones_script() -> ModuleType:
    """scripts/ is no package: load the script by path."""
    if TIME_ZONES_MODULE in sys.modules:
        return sys.modules[TIME_ZONES_MODULE]
    spec = importlib.util.spec_from_file_location(
        TIME_ZONES_MODULE, REPO_ROOT / "scripts" / "sync_time_zones.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[TIME_ZONES_MODULE] = module
    spec.loader.exec_module(module)
    return module


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
                kubernetes_validate.validate(document, kube_version(), strict=True)


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


def test_the_spec_rejects_unknown_fields_instead_of_keeping_them() -> None:
    # kubectl asks for strict field validation, which only a schema without
    # x-kubernetes-preserve-unknown-fields can give: a misspelt field then fails.
    spec = openapi_schema()["properties"]["spec"]
    assert not spec.get("x-kubernetes-preserve-unknown-fields")
    for path, schema, _ in fields(spec, "spec"):
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            assert path in KUBERNETES_TYPES, f"{path} keeps unknown fields"


def test_the_time_zone_rule_lists_the_zones_of_the_tzdata_package() -> None:
    script = load_time_zones_script()
    text = CRD_PATH.read_text(encoding="utf-8")
    assert script.rewrite(text, script.time_zones()) == text, (
        "run: python scripts/sync_time_zones.py && python scripts/sync_crds.py"
    )


def test_the_operator_can_load_every_time_zone_the_crd_admits() -> None:
    for zone in load_time_zones_script().time_zones():
        ZoneInfo(zone)


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


@pytest.mark.parametrize("spec", GOOD.values(), ids=GOOD.keys())
def test_good_resources_are_accepted(spec: Mapping[str, Any]) -> None:
    defaulted, errors = validate(resource(spec))
    assert errors == []
    parse_spec(defaulted["spec"])


@pytest.mark.parametrize("case", INVALID.values(), ids=INVALID.keys())
def test_bad_resources_are_rejected_with_a_clear_message(case: Invalid) -> None:
    _, errors = validate(resource(case.spec))
    assert any(case.local_message in error for error in errors), errors


def test_a_name_too_long_for_the_deployment_names_is_rejected() -> None:
    _, errors = validate(resource(name="x" * 51))
    assert any("at most 50 characters" in error for error in errors), errors
