"""Every wrong request gets a clear 4xx in the one error shape, never a 500."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import jwt
import pytest
from fastapi.testclient import TestClient

from tests.conftest import TEST_JWT_SECRET, Account

ERROR_KEYS = {"code", "message", "details", "request_id"}


def _assert_error(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == code
    assert body["message"]
    assert body["request_id"] == response.headers["x-request-id"]
    return dict(body)


def test_malformed_json_is_a_400(client: TestClient, make_account: Callable[..., Account]) -> None:
    response = client.post(
        "/api/v1/heartbeat",
        content=b'{"appActive": tru',
        headers={**make_account().headers, "content-type": "application/json"},
    )
    _assert_error(response, 400, "malformed_json")


def test_a_wrong_type_is_a_422_naming_the_field(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    response = client.post(
        "/api/v1/heartbeat",
        json={"appActive": "very", "screenOn": True},
        headers=make_account().headers,
    )
    body = _assert_error(response, 422, "validation_error")
    assert body["details"][0]["loc"] == ["body", "appActive"]


@pytest.mark.parametrize("value", ["true", 1, 0, None])
def test_a_boolean_field_takes_only_json_booleans(
    client: TestClient, make_account: Callable[..., Account], value: object
) -> None:
    response = client.post(
        "/api/v1/heartbeat",
        json={"appActive": True, "screenOn": value},
        headers=make_account().headers,
    )
    body = _assert_error(response, 422, "validation_error")
    assert body["details"][0]["loc"] == ["body", "screenOn"]


def test_a_missing_field_is_a_422(client: TestClient, make_account: Callable[..., Account]) -> None:
    response = client.post(
        "/api/v1/heartbeat", json={"appActive": True}, headers=make_account().headers
    )
    _assert_error(response, 422, "validation_error")


def test_an_unknown_field_is_a_422(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    response = client.post(
        "/api/v1/heartbeat",
        json={"appActive": True, "screenOn": True, "colour": "blue"},
        headers=make_account().headers,
    )
    body = _assert_error(response, 422, "validation_error")
    assert body["details"][0]["type"] == "extra_forbidden"


def test_a_body_that_is_not_an_object_is_a_422(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    response = client.post("/api/v1/heartbeat", json=[1, 2], headers=make_account().headers)
    _assert_error(response, 422, "validation_error")


def test_validation_errors_never_echo_the_password(client: TestClient) -> None:
    response = client.post(
        "/api/v1/auth/register",
        json={"email": "not-an-email", "password": "hunter2-secret", "name": "X"},
    )
    _assert_error(response, 422, "validation_error")
    assert "hunter2" not in response.text


def test_an_oversized_body_is_a_413(client: TestClient) -> None:
    response = client.post(
        "/api/v1/auth/login",
        content=json.dumps({"email": "a@example.com", "password": "x" * 100_000}),
        headers={"content-type": "application/json"},
    )
    _assert_error(response, 413, "payload_too_large")


def test_an_oversized_chunked_body_is_a_413(client: TestClient) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(100):
            yield b"x" * 1024

    response = client.post(
        "/api/v1/auth/login", content=chunks(), headers={"content-type": "application/json"}
    )
    _assert_error(response, 413, "payload_too_large")


def test_a_missing_token_is_a_401(client: TestClient) -> None:
    response = client.post("/api/v1/heartbeat", json={"appActive": True, "screenOn": True})
    _assert_error(response, 401, "not_authenticated")


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer not.a.jwt", "token"])
def test_a_garbled_authorization_header_is_a_401(client: TestClient, header: str) -> None:
    response = client.get("/api/v1/activity/status", headers={"Authorization": header})
    assert response.status_code == 401
    assert set(response.json()) == ERROR_KEYS


def test_a_tampered_token_is_a_401(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    header, payload, signature = make_account().access_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    response = client.get(
        "/api/v1/activity/stats", headers={"Authorization": f"Bearer {header}.{forged}.{signature}"}
    )
    _assert_error(response, 401, "invalid_token")


def test_a_token_signed_with_another_key_is_a_401(client: TestClient) -> None:
    token = jwt.encode(
        {
            "sub": "00000000-0000-0000-0000-000000000000",
            "role": "admin",
            "typ": "access",
            "iss": "eros",
            "iat": 1,
            "exp": 4_000_000_000,
        },
        "another-key-that-is-long-enough-0123456789",
        algorithm="HS256",
    )
    response = client.get("/api/v1/activity/stats", headers={"Authorization": f"Bearer {token}"})
    _assert_error(response, 401, "invalid_token")


def test_an_unsigned_token_is_a_401(client: TestClient) -> None:
    token = jwt.encode(
        {
            "sub": "00000000-0000-0000-0000-000000000000",
            "role": "admin",
            "typ": "access",
            "iss": "eros",
            "iat": 1,
            "exp": 4_000_000_000,
        },
        None,
        algorithm="none",
    )
    response = client.get("/api/v1/activity/stats", headers={"Authorization": f"Bearer {token}"})
    _assert_error(response, 401, "invalid_token")


def test_a_refresh_token_used_as_an_access_token_is_a_401(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    account = make_account()
    response = client.get(
        "/api/v1/activity/status", headers={"Authorization": f"Bearer {account.refresh_token}"}
    )
    _assert_error(response, 401, "invalid_token")


def test_a_signed_token_of_another_kind_is_a_401(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    now = clock.now_ms() // 1000
    token = jwt.encode(
        {
            "sub": "00000000-0000-0000-0000-000000000000",
            "role": "user",
            "typ": "refresh",
            "iss": "eros",
            "iat": now,
            "exp": now + 60,
        },
        TEST_JWT_SECRET,
        algorithm="HS256",
    )
    response = client.get("/api/v1/activity/status", headers={"Authorization": f"Bearer {token}"})
    _assert_error(response, 401, "invalid_token_type")


def test_an_unknown_route_is_a_404_in_the_error_shape(client: TestClient) -> None:
    _assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")


def test_a_wrong_method_is_a_405_in_the_error_shape(client: TestClient) -> None:
    _assert_error(client.get("/api/v1/heartbeat"), 405, "method_not_allowed")


def test_a_405_names_every_method_of_the_path(client: TestClient) -> None:
    response = client.delete("/api/v1/users/profile")
    _assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, HEAD, PUT"


def test_the_clients_request_id_is_echoed(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


def test_an_unsafe_request_id_is_replaced(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert response.headers["x-request-id"] != "bad id\twith spaces"
    assert len(response.headers["x-request-id"]) == 32
