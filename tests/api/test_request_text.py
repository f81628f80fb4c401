"""No request body takes a control character: every string of every request schema, with
a NUL or an ESC slipped in, is refused with 422 in the one error shape, never a 500.

The bodies are built from the OpenAPI document, so a new route or field is fuzzed
without being listed here; `EXAMPLES` gives a valid body only where the schema alone
cannot (cross-field rules).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from eros.api.app import create_app
from eros.api.schemas.assistant import LANGUAGE_TAG_PATTERN
from eros.core.clock import ManualClock, utc_from_ms
from eros.core.settings import Settings
from tests.api.profile_support import BASE_PROFILE, assert_error
from tests.conftest import Account

BAD_CHARACTERS = ["\x00", "\x1b"]
PLENTY = 1_000_000
# Whole valid bodies, by schema title, where the schema alone cannot make one.
EXAMPLES: dict[str, dict[str, Any]] = {"ProfileUpdate": BASE_PROFILE}
# Field values, by schema title, for cross-field rules.
FIELDS: dict[str, dict[str, Any]] = {"MatchActionRequest": {"action": "report"}}
PATTERNS = {LANGUAGE_TAG_PATTERN: "es"}
_serial = itertools.count(1)

Path = tuple[str | int, ...]


@pytest.fixture
def roomy_client(
    settings: Settings, clock: ManualClock, redis_client: Any, db: Any
) -> Iterator[TestClient]:
    """Limits out of the way: every route here takes dozens of requests in a row."""
    limits = {
        name: PLENTY
        for name in Settings.model_fields
        if name.endswith(("_per_minute", "_per_hour"))
    }
    app = create_app(settings.model_copy(update=limits), clock=clock)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


class BodyMaker:
    def __init__(self, document: dict[str, Any], now_ms: int) -> None:
        self._schemas = document["components"]["schemas"]
        self._now = utc_from_ms(now_ms)

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self._schemas[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def make(self, schema: dict[str, Any]) -> Any:
        schema = self._resolve(schema)
        title = schema.get("title", "")
        if title in EXAMPLES:
            return copy.deepcopy(EXAMPLES[title])
        if "anyOf" in schema:
            return self.make(next(s for s in schema["anyOf"] if s.get("type") != "null"))
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "object":
            body = {name: self.make(sub) for name, sub in schema.get("properties", {}).items()}
            return {**body, **FIELDS.get(title, {})}
        if kind == "array":
            return [self.make(schema["items"]) for _ in range(max(1, schema.get("minItems", 0)))]
        if kind == "string":
            return self._string(schema)
        if kind in ("integer", "number"):
            low = schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1)
            return int(low) if kind == "integer" else float(low)
        if kind == "boolean":
            return True
        raise AssertionError(f"no example for the schema {schema}")

    def _string(self, schema: dict[str, Any]) -> str:
        fmt = schema.get("format")
        if fmt == "email":
            return f"fuzz{next(_serial)}@example.com"
        if fmt == "uuid":
            return str(uuid4())
        if fmt == "date-time":
            return self._now.isoformat()
        if fmt == "date":
            return "1990-01-01"
        if fmt == "uri":
            return "https://img.example.com/a.jpg"
        if "pattern" in schema and schema["pattern"] in PATTERNS:
            return PATTERNS[schema["pattern"]]
        return "abcdefgh"[: schema.get("maxLength", 8)].ljust(schema.get("minLength", 1), "a")


def strings_in(value: Any, path: Path = ()) -> Iterator[tuple[Path, bool]]:
    """Every string of a body: (its path, whether it is a dict key rather than a value)."""
    if isinstance(value, str):
        yield path, False
    elif isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key), True
            yield from strings_in(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings_in(item, (*path, index))


def with_character(body: Any, path: Path, is_key: bool, character: str) -> tuple[Any, Path]:
    """The body with `character` slipped into one string; and the path it now has."""
    body = copy.deepcopy(body)
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if is_key:
        assert isinstance(last, str)
        new_key = last[:1] + character + last[1:]
        parent[new_key] = parent.pop(last)
        return body, (*path[:-1], new_key)
    text = parent[last]
    parent[last] = text[:1] + character + text[1:]
    return body, path


def _routes_with_bodies(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            request_body = operation.get("requestBody")
            if request_body:
                schema = request_body["content"]["application/json"]["schema"]
                url = path.replace("{", "").replace("}", "")
                for parameter in operation.get("parameters", []):
                    if parameter["in"] == "path":
                        url = url.replace(parameter["name"], str(uuid4()))
                yield method, url, schema


def _body_path(body: Any, loc: list[Any]) -> tuple[Any, ...]:
    """The steps of an error's `loc` that are keys or indexes of the body, dropping the
    names pydantic adds for the union member it tried (`Location`, `function-after[...]`)."""
    path: list[Any] = []
    node = body
    for step in loc:
        in_dict = isinstance(node, dict) and step in node
        in_list = isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        if in_dict or in_list:
            node = node[step]
        elif isinstance(node, dict | list):
            continue
        path.append(step)
    return tuple(path)


def test_every_string_of_every_request_body_refuses_nul_and_escape_with_a_422(
    roomy_client: TestClient, make_account: Any, clock: ManualClock
) -> None:
    document = roomy_client.get("/openapi.json").json()
    admin: Account = make_account(admin=True)
    maker = BodyMaker(document, clock.now_ms())
    fuzzed: list[str] = []
    for method, url, schema in _routes_with_bodies(document):
        body = maker.make(schema)
        baseline = roomy_client.request(method, url, json=body, headers=admin.headers)
        assert baseline.status_code < 500 and baseline.status_code != 422, (
            f"{method} {url}: the generated body {body} is not valid ({baseline.text}); "
            "give it an entry in EXAMPLES or FIELDS"
        )
        for path, is_key in strings_in(body):
            for character in BAD_CHARACTERS:
                bad, bad_path = with_character(body, path, is_key, character)
                response = roomy_client.request(method, url, json=bad, headers=admin.headers)
                where = f"{method} {url} {list(bad_path)} with {character!r}"
                assert response.status_code == 422, f"{where}: {response.text}"
                details = assert_error(response, 422, "validation_error")["details"]
                locs = [_body_path(bad, d["loc"][1:])[: len(bad_path)] for d in details]
                assert bad_path in locs, f"{where}: refused elsewhere, {details}"
            fuzzed.append(f"{method.upper()} {url.split('/api/v1')[-1]} {'.'.join(map(str, path))}")
    # The fuzzer really reached the free-text fields the issue named, and some others.
    routes = {entry.split(" ")[1] for entry in fuzzed}
    assert {"/auth/register", "/auth/login", "/users/profile", "/reports"} <= routes
    assert any(entry.endswith("/auth/register name") for entry in fuzzed)
