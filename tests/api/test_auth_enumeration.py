"""Registration does not tell anyone whether an address already has an account."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.auth_support import (
    PASSWORD,
    PasswordWork,
    auth_client,
    login,
    password_work,
    register,
)

__all__ = ["auth_client", "password_work"]  # fixtures


def test_registering_a_new_and_a_taken_address_gives_the_same_status_and_body(
    auth_client: TestClient, password_work: PasswordWork
) -> None:
    register(auth_client, "taken@example.com")
    password_work.hashes = 0
    new = register(auth_client, "fresh@example.com")
    taken = register(auth_client, "Taken@example.com", "a different password")
    assert new.status_code == taken.status_code == 202
    assert new.json() == taken.json()
    assert set(new.headers) - {"x-request-id"} == set(taken.headers) - {"x-request-id"}
    # Both paid for one hash, so neither answers noticeably sooner.
    assert password_work.hashes == 2


def test_registering_a_taken_address_changes_nothing_of_its_account(
    auth_client: TestClient,
) -> None:
    register(auth_client, "taken@example.com")
    register(auth_client, "taken@example.com", "a different password")
    assert login(auth_client, "taken@example.com", PASSWORD).status_code == 200
    assert login(auth_client, "taken@example.com", "a different password").status_code == 401
