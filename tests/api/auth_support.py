"""Helpers of the account-protection tests: several client addresses through one
TestClient, and counters of the password hashing work a request did."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from eros.api.app import create_app
from eros.core import accounts
from eros.core.clock import ManualClock
from eros.core.settings import Settings

PEER_HEADER = "x-test-peer"
PASSWORD = "correct horse battery"
WRONG = "not the password"


class PeerFromHeader:
    """Takes the request's client address from a test header, so that one TestClient
    can speak from several addresses (the API reads `request.client.host`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == PEER_HEADER.encode():
                    scope = {**scope, "client": (value.decode(), 50000)}
        await self.app(scope, receive, send)


def peer(address: str) -> dict[str, str]:
    return {PEER_HEADER: address}


@dataclass
class PasswordWork:
    """How many argon2 hashes and verifications the requests so far computed."""

    hashes: int = 0
    verifications: int = 0


@pytest.fixture
def password_work(monkeypatch: pytest.MonkeyPatch) -> PasswordWork:
    """Counts the real argon2 calls of `eros.core.accounts`, delegating to them."""
    work = PasswordWork()
    real_hash, real_verify = accounts.hash_password, accounts.verify_password

    def counting_hash(password: str) -> str:
        work.hashes += 1
        return real_hash(password)

    def counting_verify(password_hash: str | None, password: str) -> bool:
        work.verifications += 1
        return real_verify(password_hash, password)

    monkeypatch.setattr(accounts, "hash_password", counting_hash)
    monkeypatch.setattr(accounts, "verify_password", counting_verify)
    return work


MakeAuthClient = Callable[..., TestClient]


@pytest.fixture
def auth_client(
    settings: Settings, clock: ManualClock, redis_client: Any, db: Any
) -> Iterator[TestClient]:
    app = PeerFromHeader(create_app(settings, clock=clock))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def register(client: TestClient, email: str, password: str = PASSWORD, **headers: str) -> Any:
    return client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": password, "name": "Owner"},
        headers=headers,
    )


def login(client: TestClient, email: str, password: str, address: str = "198.51.100.1") -> Any:
    return client.post(
        "/api/v1/auth/login", json={"email": email, "password": password}, headers=peer(address)
    )
