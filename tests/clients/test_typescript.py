"""The TypeScript client is generated from the OpenAPI document, stays current, compiles
under strict TypeScript, and talks to a real API server from Node.js."""

from __future__ import annotations

import functools
import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from eros.api.app import create_app
from eros.core.settings import Settings
from tests.live_server import serve

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "clients" / "typescript"
GENERATOR = ROOT / "scripts" / "typescript_client.py"
NODE_SECONDS = 120


@functools.cache
def _generator() -> ModuleType:
    """scripts/ is not a package: the generator is loaded from its file."""
    spec = importlib.util.spec_from_file_location("typescript_client", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _tsc() -> Path:
    local = CLIENT / "node_modules" / ".bin" / "tsc"
    found = local if local.exists() else shutil.which("tsc")
    if found is None:
        pytest.skip("TypeScript is not installed: run `npm ci --prefix clients/typescript`")
    return Path(found)


def test_the_committed_client_matches_the_openapi_document() -> None:
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_schema_types_map_onto_typescript_types() -> None:
    ts = _generator().typescript_type
    assert ts({"type": "string", "format": "date-time"}) == "string"
    assert ts({"anyOf": [{"type": "integer"}, {"type": "null"}]}) == "number | null"
    assert ts({"type": "array", "items": {"$ref": "#/components/schemas/Gender"}}) == "Gender[]"
    assert ts({"enum": ["like", "skip"]}) == '"like" | "skip"'
    assert ts({"type": "object", "additionalProperties": {"type": "number"}}) == (
        "Record<string, number>"
    )
    assert ts({}) == "unknown"


def test_a_component_split_by_direction_gets_a_valid_name() -> None:
    assert _generator().type_name("AgeRange-Input") == "AgeRangeInput"


def test_every_operation_becomes_a_uniquely_named_method() -> None:
    generator = _generator()
    document = generator.current_document()
    names = [op.name for op in generator.operations(document)]
    assert len(names) == len(set(names))
    assert {"heartbeat", "login", "getDailyMatches", "banUser"} <= set(names)


def test_the_client_compiles_under_strict_typescript() -> None:
    tsc = _tsc()
    result = subprocess.run(
        [str(tsc), "--noEmit", "-p", str(CLIENT)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def live_api(settings: Settings, db: object, redis_client: object) -> Iterator[str]:
    """The API served by uvicorn on a free loopback port, for clients outside Python."""
    with serve(create_app(settings)) as url:
        yield url


# Registers, logs in, sends a heartbeat, saves and reads a profile, and gets the error
# shape back for a bad request: the screens of the source documents, through the client.
NODE_SCRIPT = """
import { ErosClient, ErosApiError } from "./eros.js";
const baseUrl = process.argv[2];
let token;
const client = new ErosClient({ baseUrl, accessToken: () => token });
const out = {};
const password = "correct horse battery";
out.register = await client.register({ email: "ts@example.com", password, name: "Ts" });
const login = await client.login({ email: "ts@example.com", password });
token = login.token;
out.userId = login.userId;
out.heartbeat = await client.heartbeat({ appActive: true, screenOn: true });
out.profile = await client.putOwnProfile({
  name: "Ts", bio: "Hello", age: 30, gender: "woman", gendersSought: ["man"],
});
out.status = await client.activityStatus();
try {
  await client.heartbeat({ appActive: "yes", screenOn: true });
} catch (error) {
  const known = error instanceof ErosApiError;
  out.error = known ? { status: error.status, code: error.body.code } : String(error);
}
console.log(JSON.stringify(out));
"""


def test_the_compiled_client_drives_a_real_api_server(live_api: str, tmp_path: Path) -> None:
    tsc = _tsc()
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed")
    build = subprocess.run(
        [str(tsc), "-p", str(CLIENT), "--noEmit", "false", "--outDir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=NODE_SECONDS,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (tmp_path / "package.json").write_text('{"type": "module"}')
    (tmp_path / "run.mjs").write_text(NODE_SCRIPT)
    run = subprocess.run(
        [node, str(tmp_path / "run.mjs"), live_api],
        capture_output=True,
        text=True,
        timeout=NODE_SECONDS,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["register"]["success"] is True
    assert out["heartbeat"]["success"] is True and out["heartbeat"]["processingHalted"] is False
    assert out["profile"]["profile"]["bio"] == "Hello"
    assert out["status"]["userId"] == out["userId"]
    assert out["error"] == {"status": 422, "code": "validation_error"}
