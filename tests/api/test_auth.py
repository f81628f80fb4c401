from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from eros.core.clock import ManualClock
from tests.conftest import TEST_ACCESS_TOKEN_TTL_SECONDS, Account

PASSWORD = "correct horse battery"


def test_registering_accepts_then_logging_in_returns_tokens_and_the_user(
    client: TestClient,
) -> None:
    response = client.post(
        "/api/v1/auth/register",
        json={"email": "Ann@Example.com", "password": PASSWORD, "name": "Ann"},
    )
    assert response.status_code == 202
    assert response.json()["success"] is True
    login = client.post(
        "/api/v1/auth/login", json={"email": "ann@example.com", "password": PASSWORD}
    )
    assert login.status_code == 200
    body = login.json()
    assert body["user"]["email"] == "Ann@example.com"  # the domain is normalised
    assert body["user"]["role"] == "user"
    assert body["tokenType"] == "bearer"
    assert body["accessToken"] and body["refreshToken"]


def test_an_email_can_register_only_once_whatever_its_case(client: TestClient) -> None:
    client.post(
        "/api/v1/auth/register",
        json={"email": "bo@example.com", "password": PASSWORD, "name": "Bo"},
    )
    again = client.post(
        "/api/v1/auth/register",
        json={"email": "BO@example.com", "password": "another password", "name": "Mallory"},
    )
    assert again.status_code == 202
    # The first registration stands: its password, not the second one's, logs in.
    first = client.post(
        "/api/v1/auth/login", json={"email": "bo@example.com", "password": PASSWORD}
    )
    assert first.status_code == 200
    assert first.json()["user"]["name"] == "Bo"
    second = client.post(
        "/api/v1/auth/login", json={"email": "bo@example.com", "password": "another password"}
    )
    assert second.status_code == 401


def test_logging_in_with_the_right_password_gives_tokens(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    account = make_account()
    response = client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": PASSWORD}
    )
    assert response.status_code == 200
    assert response.json()["user"]["id"] == account.id


def test_a_wrong_password_and_an_unknown_email_look_the_same(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    account = make_account()
    wrong = client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": "nope nope"}
    )
    unknown = client.post(
        "/api/v1/auth/login", json={"email": "x@example.com", "password": PASSWORD}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "invalid_credentials"


def test_a_refresh_token_is_rotated_on_every_use(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    account = make_account()
    first = client.post("/api/v1/auth/refresh", json={"refreshToken": account.refresh_token})
    assert first.status_code == 200
    rotated = first.json()["refreshToken"]
    assert rotated != account.refresh_token
    second = client.post("/api/v1/auth/refresh", json={"refreshToken": rotated})
    assert second.status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_its_whole_family(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    account = make_account()
    rotated = client.post(
        "/api/v1/auth/refresh", json={"refreshToken": account.refresh_token}
    ).json()
    reuse = client.post("/api/v1/auth/refresh", json={"refreshToken": account.refresh_token})
    assert reuse.status_code == 401
    assert reuse.json()["code"] == "refresh_token_reused"
    # The legitimate holder of the newest token is logged out too.
    newest = client.post("/api/v1/auth/refresh", json={"refreshToken": rotated["refreshToken"]})
    assert newest.status_code == 401
    assert newest.json()["code"] == "refresh_token_revoked"


def test_reuse_revokes_only_that_login_not_the_users_other_sessions(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    account = make_account()
    other = client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": PASSWORD}
    ).json()
    client.post("/api/v1/auth/refresh", json={"refreshToken": account.refresh_token})
    client.post("/api/v1/auth/refresh", json={"refreshToken": account.refresh_token})
    still = client.post("/api/v1/auth/refresh", json={"refreshToken": other["refreshToken"]})
    assert still.status_code == 200


def test_logout_revokes_the_refresh_token(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    account = make_account()
    logout = client.post("/api/v1/auth/logout", json={"refreshToken": account.refresh_token})
    assert logout.json()["success"] is True
    after = client.post("/api/v1/auth/refresh", json={"refreshToken": account.refresh_token})
    assert after.status_code == 401
    assert after.json()["code"] == "refresh_token_revoked"


def test_an_unknown_refresh_token_is_refused(client: TestClient) -> None:
    response = client.post("/api/v1/auth/refresh", json={"refreshToken": "made-up"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"


def test_an_expired_refresh_token_is_refused(
    client: TestClient, make_account: Callable[..., Account], clock: ManualClock
) -> None:
    account = make_account()
    clock.advance(seconds=31 * 24 * 3600)
    response = client.post("/api/v1/auth/refresh", json={"refreshToken": account.refresh_token})
    assert response.status_code == 401
    assert response.json()["code"] == "refresh_token_expired"


def test_an_access_token_expires(
    client: TestClient, make_account: Callable[..., Account], clock: ManualClock
) -> None:
    account = make_account()
    assert client.get("/api/v1/activity/status", headers=account.headers).status_code == 200
    clock.advance(seconds=TEST_ACCESS_TOKEN_TTL_SECONDS)
    expired = client.get("/api/v1/activity/status", headers=account.headers)
    assert expired.status_code == 401
    assert expired.json()["code"] == "token_expired"
    assert expired.headers["www-authenticate"] == "Bearer"


def test_a_promoted_user_gets_an_admin_token_at_next_login(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    admin = make_account(admin=True)
    me = client.post("/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD}).json()
    assert me["user"]["role"] == "admin"
    assert client.get("/api/v1/activity/stats", headers=admin.headers).status_code == 200
