"""What the API server does with an ErosProcessing before the operator sees it, in Python.

Structural defaulting, the OpenAPI schema (with jsonschema), list-type uniqueness and the
CEL `x-kubernetes-validations` (with cel-python, plus the Kubernetes quantity library,
which cel-python lacks, backed by `eros.operator.quantity`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import yaml
from celpy import celtypes
from celpy.adapter import json_to_cel

from eros.operator.quantity import QuantityError, is_quantity, parse_quantity

REPO_ROOT = Path(__file__).resolve().parents[2]
CRD_PATH = REPO_ROOT / "crds" / "erosprocessing.yaml"


@cache
def _parsed_crd() -> dict[str, Any]:
    # Parsed once: the time zone list makes the file slow to parse in pure Python.
    return dict(yaml.safe_load(CRD_PATH.read_text()))


def load_crd() -> dict[str, Any]:
    return copy.deepcopy(_parsed_crd())


def openapi_schema() -> dict[str, Any]:
    return dict(load_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"])


def apply_defaults(schema: Mapping[str, Any], value: Any) -> Any:
    """Structural defaulting: a missing property with a default gets it, recursively."""
    value = copy.deepcopy(value)
    if isinstance(value, dict):
        for name, sub in (schema.get("properties") or {}).items():
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
            if name in value:
                value[name] = apply_defaults(sub, value[name])
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping):
            for name in value:
                if name not in (schema.get("properties") or {}):
                    value[name] = apply_defaults(extra, value[name])
    elif isinstance(value, list) and "items" in schema:
        value = [apply_defaults(schema["items"], item) for item in value]
    return value


def to_jsonschema(schema: Mapping[str, Any], *, root: bool = True) -> dict[str, Any]:
    """The OpenAPI schema as JSON Schema; unknown fields are errors (kubectl's strict mode)."""
    result: dict[str, Any] = {}
    for key, sub in schema.items():
        if key.startswith("x-kubernetes-") or key in ("default", "description"):
            continue
        if key == "properties":
            result[key] = {name: to_jsonschema(s, root=False) for name, s in sub.items()}
        elif key in ("items", "additionalProperties") and isinstance(sub, Mapping):
            result[key] = to_jsonschema(sub, root=False)
        else:
            result[key] = sub
    if schema.get("x-kubernetes-int-or-string"):
        result["type"] = ["integer", "string"]
    if (
        schema.get("type") == "object"
        and "properties" in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
        and "additionalProperties" not in schema
    ):
        result["additionalProperties"] = False
    return result


class Quantity(celtypes.StringType):
    """A Kubernetes quantity inside CEL."""


def _quantity(text: celtypes.Value) -> Quantity:
    try:
        parse_quantity(str(text))
    except QuantityError as error:
        raise ValueError(f"{text!r} is not a quantity") from error
    return Quantity(str(text))


def _compare(a: celtypes.Value, b: celtypes.Value) -> int:
    left, right = parse_quantity(str(a)), parse_quantity(str(b))
    return int(left > right) - int(left < right)


CEL_FUNCTIONS: dict[str, Any] = {
    "isQuantity": lambda text: celtypes.BoolType(is_quantity(str(text))),
    "quantity": _quantity,
    "compareTo": lambda a, b: celtypes.IntType(_compare(a, b)),
    "isGreaterThan": lambda a, b: celtypes.BoolType(_compare(a, b) > 0),
    "isLessThan": lambda a, b: celtypes.BoolType(_compare(a, b) < 0),
}


@cache
def compile_rule(rule: str) -> celpy.Runner:
    env = celpy.Environment()
    return env.program(env.compile(rule), functions=CEL_FUNCTIONS)


def all_rules(schema: Mapping[str, Any]) -> list[str]:
    rules = [str(r["rule"]) for r in schema.get("x-kubernetes-validations") or []]
    for sub in (schema.get("properties") or {}).values():
        rules += all_rules(sub)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), Mapping):
            rules += all_rules(schema[key])
    return rules


def _cel_errors(schema: Mapping[str, Any], value: Any, path: str) -> list[str]:
    errors = []
    for validation in schema.get("x-kubernetes-validations") or []:
        try:
            result = compile_rule(validation["rule"]).evaluate({"self": json_to_cel(value)})
            ok = isinstance(result, celtypes.BoolType) and bool(result)
        except Exception:  # an evaluation error fails the rule, as in Kubernetes
            ok = False
        if not ok:
            errors.append(f"{path}: {validation.get('message', validation['rule'])}")
    if isinstance(value, dict):
        for name, sub in (schema.get("properties") or {}).items():
            if name in value:
                errors += _cel_errors(sub, value[name], f"{path}.{name}")
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            errors += _cel_errors(schema["items"], item, f"{path}[{index}]")
    return errors


def _list_errors(schema: Mapping[str, Any], value: Any, path: str) -> list[str]:
    errors = []
    if isinstance(value, list):
        kind = schema.get("x-kubernetes-list-type")
        keys = schema.get("x-kubernetes-list-map-keys") or []
        seen = [tuple(item.get(k) for k in keys) for item in value] if kind == "map" else value
        if kind in ("map", "set") and len({repr(s) for s in seen}) != len(seen):
            errors.append(f"{path}: duplicate entries in a list of type {kind}")
        for index, item in enumerate(value):
            errors += _list_errors(schema.get("items") or {}, item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for name, sub in (schema.get("properties") or {}).items():
            if name in value:
                errors += _list_errors(sub, value[name], f"{path}.{name}")
    return errors


def validate(resource: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The defaulted resource and every error the API server would report."""
    schema = openapi_schema()
    defaulted = apply_defaults(schema, resource)
    validator = jsonschema.Draft7Validator(to_jsonschema(schema))
    errors = [
        f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(defaulted)
    ]
    errors += _list_errors(schema, defaulted, "")
    if not errors:  # Kubernetes runs the CEL rules only on a schema-valid object
        errors += _cel_errors(schema, defaulted, "")
    return defaulted, errors
