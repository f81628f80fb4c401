"""Register, login and refresh are rate limited per client address and per account,
with 429 and `Retry-After` in the one error shape, before any password work."""

from __future__ import annotations

from fastapi.testclient import TestClient

from eros.core.clock import ManualClock
from eros.core.settings import (
    DEFAULT_LOGIN_PER_ACCOUNT_PER_MINUTE,
    DEFAULT_LOGIN_PER_ADDRESS_PER_MINUTE,
    DEFAULT_REFRESH_PER_USER_PER_MINUTE,
    DEFAULT_REGISTER_PER_ADDRESS_PER_HOUR,
    DEFAULT_REGISTER_PER_EMAIL_PER_HOUR,
)
from tests.api.auth_support import (
    PASSWORD,
    WRONG,
    PasswordWork,
    auth_client,
    login,
    password_work,
    peer,
    register,
)
from tests.api.profile_support import assert_error

__all__ = ["auth_client", "password_work"]  # fixtures


def _assert_limited(response: object, scope: str) -> None:
    body = assert_error(response, 429, "rate_limited")
    assert body["details"]["scope"] == scope
    assert int(response.headers["retry-after"]) == body["details"]["retryAfterSeconds"] >= 1  # type: ignore[attr-defined]


def test_one_address_may_try_only_so_many_logins_a_minute_whatever_the_accounts(
    auth_client: TestClient, password_work: PasswordWork
) -> None:
    allowed = DEFAULT_LOGIN_PER_ADDRESS_PER_MINUTE
    statuses = [
        login(auth_client, f"guess{i}@example.com", WRONG, "203.0.113.5").status_code
        for i in range(allowed)
    ]
    assert set(statuses) == {401}
    _assert_limited(
        login(auth_client, "one-more@example.com", WRONG, "203.0.113.5"), "login-address"
    )
    assert password_work.verifications == allowed
    # Another address is not affected.
    assert login(auth_client, "x@example.com", WRONG, "198.51.100.5").status_code == 401


def test_an_account_may_be_tried_only_so_many_times_a_minute_from_all_addresses(
    auth_client: TestClient, clock: ManualClock
) -> None:
    register(auth_client, "owner@example.com")
    allowed = DEFAULT_LOGIN_PER_ACCOUNT_PER_MINUTE
    for i in range(allowed):
        assert login(auth_client, "owner@example.com", WRONG, f"203.0.113.{i}").status_code == 401
    limited = login(auth_client, "owner@example.com", PASSWORD, "198.51.100.9")
    _assert_limited(limited, "login-account")
    clock.advance(seconds=int(limited.headers["retry-after"]))
    assert login(auth_client, "owner@example.com", PASSWORD, "198.51.100.9").status_code == 200


def test_registrations_are_limited_per_email_and_per_address_without_hashing_when_refused(
    auth_client: TestClient, password_work: PasswordWork
) -> None:
    per_email = DEFAULT_REGISTER_PER_EMAIL_PER_HOUR
    for _ in range(per_email):
        assert register(auth_client, "same@example.com", **peer("203.0.113.1")).status_code == 202
    _assert_limited(
        register(auth_client, "same@example.com", **peer("203.0.113.2")), "register-email"
    )
    assert password_work.hashes == per_email
    for i in range(DEFAULT_REGISTER_PER_ADDRESS_PER_HOUR - 1):
        assert (
            register(auth_client, f"new{i}@example.com", **peer("203.0.113.2")).status_code == 202
        )
    _assert_limited(
        register(auth_client, "last@example.com", **peer("203.0.113.2")), "register-address"
    )


def test_an_ipv6_client_counts_as_its_whole_slash_64(auth_client: TestClient) -> None:
    for i in range(DEFAULT_LOGIN_PER_ADDRESS_PER_MINUTE):
        login(auth_client, f"v6-{i}@example.com", WRONG, f"2001:db8:1:2::{i + 1:x}")
    _assert_limited(
        login(auth_client, "v6@example.com", WRONG, "2001:db8:1:2:ffff::1"), "login-address"
    )
    assert login(auth_client, "v6@example.com", WRONG, "2001:db8:1:3::1").status_code == 401


def test_a_users_refreshes_are_limited_per_minute(auth_client: TestClient) -> None:
    register(auth_client, "owner@example.com")
    token = login(auth_client, "owner@example.com", PASSWORD).json()["refreshToken"]
    for _ in range(DEFAULT_REFRESH_PER_USER_PER_MINUTE):
        response = auth_client.post("/api/v1/auth/refresh", json={"refreshToken": token})
        assert response.status_code == 200
        token = response.json()["refreshToken"]
    limited = auth_client.post("/api/v1/auth/refresh", json={"refreshToken": token})
    _assert_limited(limited, "refresh-user")
