"""Failed logins lock an (account, client address) pair out, progressively, for a
bounded time; a locked or throttled attempt costs no argon2 work."""

from __future__ import annotations

from fastapi.testclient import TestClient

from eros.core.clock import ManualClock
from eros.core.settings import (
    DEFAULT_LOGIN_FREE_FAILURES,
    DEFAULT_LOGIN_LOCKOUT_BASE_SECONDS,
    DEFAULT_LOGIN_LOCKOUT_MAX_SECONDS,
)
from tests.api.auth_support import (
    PASSWORD,
    WRONG,
    PasswordWork,
    auth_client,
    login,
    password_work,
    register,
)

__all__ = ["auth_client", "password_work"]  # fixtures

EMAIL = "owner@example.com"
ATTACKER = "203.0.113.66"


def _retry_after(response: object) -> int:
    return int(response.headers["retry-after"])  # type: ignore[attr-defined]


def test_forty_wrong_passwords_lock_the_account_out_before_the_right_one_is_accepted(
    auth_client: TestClient, password_work: PasswordWork
) -> None:
    register(auth_client, EMAIL)
    statuses = [login(auth_client, EMAIL, WRONG, ATTACKER).status_code for _ in range(40)]
    assert statuses[:DEFAULT_LOGIN_FREE_FAILURES] == [401] * DEFAULT_LOGIN_FREE_FAILURES
    assert set(statuses[DEFAULT_LOGIN_FREE_FAILURES:]) == {429}
    right = login(auth_client, EMAIL, PASSWORD, ATTACKER)
    assert right.status_code == 429
    # Locked for this pair, and by now over the address's rate limit as well.
    assert right.json()["code"] in {"login_locked", "rate_limited"}
    assert _retry_after(right) >= 1
    # Only the attempts that were let through were checked against the hash.
    assert password_work.verifications == DEFAULT_LOGIN_FREE_FAILURES


def test_each_further_failure_doubles_the_lockout_up_to_its_cap_which_then_ends(
    auth_client: TestClient, clock: ManualClock
) -> None:
    register(auth_client, EMAIL)
    lockouts: list[int] = []
    failures = 0
    while failures < DEFAULT_LOGIN_FREE_FAILURES + 15:
        response = login(auth_client, EMAIL, WRONG, ATTACKER)
        if response.status_code == 401:
            failures += 1
            continue
        assert response.status_code == 429
        if response.json()["code"] == "login_locked":
            lockouts.append(_retry_after(response))
        clock.advance(seconds=_retry_after(response))
    base, cap = DEFAULT_LOGIN_LOCKOUT_BASE_SECONDS, DEFAULT_LOGIN_LOCKOUT_MAX_SECONDS
    expected = [int(min(cap, base * 2**n)) for n in range(15)]
    assert lockouts == expected
    assert max(lockouts) == cap
    locked = login(auth_client, EMAIL, PASSWORD, ATTACKER)
    assert locked.status_code == 429 and _retry_after(locked) == cap
    clock.advance(seconds=cap)
    assert login(auth_client, EMAIL, PASSWORD, ATTACKER).status_code == 200


def test_an_attacker_elsewhere_cannot_lock_the_owner_out(auth_client: TestClient) -> None:
    register(auth_client, EMAIL)
    for _ in range(40):
        login(auth_client, EMAIL, WRONG, ATTACKER)
    assert login(auth_client, EMAIL, WRONG, ATTACKER).status_code == 429
    assert login(auth_client, EMAIL, PASSWORD, "198.51.100.7").status_code == 200


def test_a_successful_login_forgets_the_failures_before_it(auth_client: TestClient) -> None:
    register(auth_client, EMAIL)
    free = DEFAULT_LOGIN_FREE_FAILURES - 1
    for _ in range(2):
        assert [login(auth_client, EMAIL, WRONG).status_code for _ in range(free)] == [401] * free
        assert login(auth_client, EMAIL, PASSWORD).status_code == 200


def test_an_unknown_address_is_locked_out_just_like_an_existing_one(
    auth_client: TestClient,
) -> None:
    register(auth_client, EMAIL)
    answers = []
    for email in (EMAIL, "nobody@example.com"):
        for _ in range(DEFAULT_LOGIN_FREE_FAILURES):
            login(auth_client, email, WRONG, ATTACKER)
        locked = login(auth_client, email, WRONG, ATTACKER)
        answers.append((locked.status_code, locked.json()["code"], _retry_after(locked)))
    assert answers[0] == answers[1] == (429, "login_locked", DEFAULT_LOGIN_LOCKOUT_BASE_SECONDS)
