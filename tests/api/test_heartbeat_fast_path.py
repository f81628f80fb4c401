"""Heartbeats are served ahead of FastAPI (eros.api.fastpath) and answered exactly as the
FastAPI route answers them; a browser's heartbeat, with CORS configured, takes the route."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from eros.api.fastpath import ACCESS_LOG_ONE_IN
from eros.api.schemas.activity import HeartbeatResponse
from eros.core.settings import Settings
from tests.conftest import Account

ORIGIN = "https://app.example.com"
ACTIVE = {"appActive": True, "screenOn": True}
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"cors_origins": [ORIGIN]})


def _from_browser(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Origin": ORIGIN}


def _comparable(response: httpx.Response) -> tuple[int, dict[str, Any]]:
    body = dict(response.json())
    body.pop("request_id", None)
    body.pop("timestamp", None)
    return response.status_code, body


def test_a_heartbeat_is_answered_with_the_response_model_and_the_apis_headers(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    response = client.post(
        "/api/v1/heartbeat", json=ACTIVE, headers={**make_account().headers, "X-Request-ID": "r-1"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"] == "r-1"
    assert SECURITY_HEADERS.items() <= response.headers.items()
    model = HeartbeatResponse.model_validate_json(response.content)
    assert response.content == model.model_dump_json(by_alias=True).encode()
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(
    ("content", "with_token"),
    [
        (b'{"appActive":true,"screenOn":true}', True),
        (b'{"appActive":false,"screenOn":false}', True),
        (b'{"appActive": tru', True),
        (b'{"appActive":"very","screenOn":true}', True),
        (b'{"appActive":true}', True),
        (b'{"appActive":true,"screenOn":true,"userId":"x"}', True),
        (b"[1, 2]", True),
        (b'{"appActive":true,"screenOn":true}', False),
    ],
)
def test_an_apps_heartbeat_and_a_browsers_are_answered_alike(
    client: TestClient, make_account: Callable[..., Account], content: bytes, with_token: bool
) -> None:
    headers = {"content-type": "application/json"}
    if with_token:
        headers |= make_account().headers
    from_app = client.post("/api/v1/heartbeat", content=content, headers=headers)
    from_browser = client.post("/api/v1/heartbeat", content=content, headers=_from_browser(headers))
    assert from_browser.headers["access-control-allow-origin"] == ORIGIN
    assert _comparable(from_app) == _comparable(from_browser)
    assert from_app.headers.get("www-authenticate") == from_browser.headers.get("www-authenticate")
    for response in (from_app, from_browser):
        assert SECURITY_HEADERS.items() <= response.headers.items()
        if response.status_code >= 400:
            assert response.json()["request_id"] == response.headers["x-request-id"]


def test_a_heartbeat_whose_declared_body_is_too_large_is_a_413(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    response = client.post(
        "/api/v1/heartbeat",
        content=b" " * 100_000,
        headers={**make_account().headers, "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_a_heartbeat_whose_chunked_body_grows_too_large_is_a_413(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(100):
            yield b" " * 1024

    response = client.post(
        "/api/v1/heartbeat",
        content=chunks(),
        headers={**make_account().headers, "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert response.json()["request_id"] == response.headers["x-request-id"]


def test_successes_and_failures_are_counted_under_the_heartbeat_route(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    client.post("/api/v1/heartbeat", json=ACTIVE, headers=make_account().headers)
    client.post("/api/v1/heartbeat", json=ACTIVE)
    client.post("/api/v1/heartbeat", json={"appActive": 1}, headers=make_account().headers)
    text = client.get("/metrics").text
    for status in ("200", "401", "422"):
        assert (
            f'eros_http_requests_total{{method="POST",route="/api/v1/heartbeat",status="{status}"}}'
            in text
        )
    latency = 'eros_http_request_duration_seconds_count{method="POST",route="/api/v1/heartbeat"}'
    assert latency in text


def _access_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "eros.api.access" and r.route.endswith("beat")]


def test_every_failed_heartbeat_and_one_success_in_a_hundred_are_logged(
    client: TestClient, make_account: Callable[..., Account], caplog: pytest.LogCaptureFixture
) -> None:
    headers = make_account().headers
    caplog.set_level(logging.INFO, logger="eros.api.access")
    for _ in range(ACCESS_LOG_ONE_IN):
        client.post("/api/v1/heartbeat", json=ACTIVE, headers=headers)
    client.post("/api/v1/heartbeat", json=ACTIVE)
    lines = _access_lines(caplog)
    assert [(r.status, getattr(r, "sampled_one_in", None)) for r in lines] == [
        (200, ACCESS_LOG_ONE_IN),
        (401, None),
    ]


def test_at_debug_level_every_heartbeat_is_logged(
    client: TestClient, make_account: Callable[..., Account], caplog: pytest.LogCaptureFixture
) -> None:
    headers = make_account().headers
    caplog.set_level(logging.DEBUG, logger="eros.api.access")
    for _ in range(3):
        client.post("/api/v1/heartbeat", json=ACTIVE, headers=headers)
    assert [r.status for r in _access_lines(caplog)] == [200, 200, 200]


def test_the_heartbeat_stays_documented_in_openapi(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/heartbeat"]["post"]
    body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body_schema["required"] == ["appActive", "screenOn"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HeartbeatResponse"
    }
    assert operation["responses"]["401"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    assert operation["security"] == [{"HTTPBearer": []}]
