"""Helpers shared by the profile, interaction, safety and match API tests."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import uuid4

import psycopg
from fastapi.testclient import TestClient

from eros.api.app import create_app
from eros.core.clock import ManualClock
from eros.core.settings import Settings
from eros.core.tokens import Role, issue_access_token
from tests.conftest import TEST_ACCESS_TOKEN_TTL_SECONDS, TEST_JWT_SECRET, Account

ERROR_KEYS = {"code", "message", "details", "request_id"}

BASE_PROFILE: dict[str, Any] = {
    "displayName": "Ana",
    "bio": "Hiker and reader.",
    "photoUrls": ["https://img.example.com/ana/1.jpg"],
    "birthDate": "1995-06-15",
    "gender": "woman",
    "gendersSought": ["man"],
    "ageRange": {"min": 18, "max": 60},
    "location": {"latitude": 52.52, "longitude": 13.405, "city": "Berlin"},
    "maxDistanceKm": 50,
    "interests": {"hiking": 80, "reading": 60},
    "values": {"honesty": 90, "kindness": 70},
    "communicationStyle": {"humor": 70, "directness": 40},
    "conversationDepth": "deep",
    "availability": [{"weekday": "saturday", "start": "10:00", "end": "18:00"}],
    "offLimitsTopics": ["politics"],
    "nonNegotiables": [{"kind": "value", "key": "honesty"}],
}


def profile_body(**overrides: Any) -> dict[str, Any]:
    body = copy.deepcopy(BASE_PROFILE)
    body.update(overrides)
    return body


def man(**overrides: Any) -> dict[str, Any]:
    return profile_body(
        **{"displayName": "Ben", "gender": "man", "gendersSought": ["woman"], **overrides}
    )


def put_profile(client: TestClient, account: Account, body: dict[str, Any]) -> dict[str, Any]:
    response = client.put("/api/v1/users/profile", json=body, headers=account.headers)
    assert response.status_code == 200, response.text
    return dict(response.json()["profile"])


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == code
    assert body["message"]
    assert body["request_id"] == response.headers["x-request-id"]
    return dict(body)


@contextmanager
def client_with(settings: Settings, clock: ManualClock, **overrides: Any) -> Iterator[TestClient]:
    """A second app on the same servers with some settings changed (e.g. rate limits)."""
    app = create_app(settings.model_copy(update=overrides), clock=clock)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


MakeAccount = Callable[..., Account]


_serial = itertools.count(1)


def quick_accounts(db: psycopg.Connection[Any], clock: ManualClock, count: int) -> list[Account]:
    """Accounts made straight in the database with a signed token: registration (and its
    deliberately slow password hash) is tested elsewhere, and these tests need many users."""
    accounts = []
    for _ in range(count):
        user_id, email = uuid4(), f"quick{next(_serial)}@example.com"
        db.execute(
            "INSERT INTO users (id, email, password_hash, name) VALUES (%s, %s, 'unusable', 'Q')",
            (user_id, email),
        )
        token = issue_access_token(
            user_id,
            Role.USER,
            secret=TEST_JWT_SECRET,
            now_s=clock.now_ms() // 1000,
            ttl_seconds=TEST_ACCESS_TOKEN_TTL_SECONDS,
        )
        accounts.append(Account(str(user_id), email, token, ""))
    return accounts
