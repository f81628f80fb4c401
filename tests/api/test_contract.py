"""Every route of the source documents' list accepts the documented request body and
answers with at least the documented fields: a frontend written against the documents
works against EROS. The routes, bodies and fields come from the documents' own text
(`tests/api/contract_support.py`); the values are examples of what such a client sends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from eros.core.clock import ManualClock
from tests.api.contract_support import DOCUMENTED_ROUTES, SOURCE_ROUTES, DocumentedRoute
from tests.api.profile_support import man, put_profile, quick_accounts
from tests.conftest import Account
from tests.worker.analysis_support import people

SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"
SOURCE_DOCUMENT = SEEDS / "001_bd761476b68f1c1f.txt"
PASSWORD = "correct horse battery"

# Where EROS deliberately answers with less than the documents list (docs/api.md,
# "Versioning"): registration must not reveal whether an address is taken, so it
# hands out no tokens; the client logs in next.
DEPARTURES: dict[str, frozenset[str]] = {
    "POST /api/v1/auth/register": frozenset({"userId", "token", "refreshToken"}),
}

# The documents' own profile fields, as a client written against them sends them.
DOCUMENTED_PROFILE: dict[str, Any] = {
    "name": "Ana",
    "bio": "Hiker and reader.",
    "photos": ["https://img.example.com/ana/1.jpg"],
    "age": 30,
    "location": "Berlin",
    "interests": ["hiking", "reading"],
    "preferences": {"gendersSought": ["man"], "ageRange": {"min": 25, "max": 45}},
}


@dataclass
class Call:
    path: str
    body: dict[str, Any] | None = None
    as_user: Account | None = None
    expected_status: int = 200


@dataclass
class World:
    """What the routes need, made on first use so each test builds only its own."""

    client: TestClient
    db: psycopg.Connection[Any]
    clock: ManualClock
    make_account: Callable[..., Account]
    notes: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def member(self) -> Account:
        account = quick_accounts(self.db, self.clock, 1)[0]
        put_profile(self.client, account, DOCUMENTED_PROFILE)
        return account

    @cached_property
    def admin(self) -> Account:
        return self.make_account(admin=True)

    @cached_property
    def registered(self) -> Account:
        return self.make_account()

    @cached_property
    def with_matches(self) -> tuple[Account, list[Account]]:
        viewer, hikers, gamers = people(self.client, self.db, self.clock, 6, 6)
        return viewer, hikers + gamers

    def conversation(self) -> str:
        response = self.client.post(
            "/api/v1/assistant/chat", json={"message": "Hi!"}, headers=self.member.headers
        )
        assert response.status_code == 200, response.text
        return str(response.json()["conversationId"])


def _daily_of(world: World) -> Call:
    viewer, _ = world.with_matches
    first = world.client.get("/api/v1/matches/daily", headers=viewer.headers)
    assert first.status_code == 200, first.text
    return Call(f"/api/v1/matches/daily/{first.json()['date']}", as_user=viewer)


def _public_profile(world: World) -> Call:
    other = quick_accounts(world.db, world.clock, 1)[0]
    put_profile(world.client, other, man())
    return Call(f"/api/v1/users/{other.id}/profile", as_user=world.member)


# One example call per documented route, with exactly the documented body fields.
SCENARIOS: dict[str, Callable[[World], Call]] = {
    "POST /api/v1/auth/register": lambda w: Call(
        "/api/v1/auth/register",
        {"email": "new@example.com", "password": PASSWORD, "name": "Ana"},
        expected_status=202,
    ),
    "POST /api/v1/auth/login": lambda w: Call(
        "/api/v1/auth/login", {"email": w.registered.email, "password": PASSWORD}
    ),
    "POST /api/v1/auth/refresh": lambda w: Call(
        "/api/v1/auth/refresh", {"refreshToken": w.registered.refresh_token}
    ),
    "POST /api/v1/auth/logout": lambda w: Call("/api/v1/auth/logout", as_user=w.registered),
    "GET /api/v1/users/profile": lambda w: Call("/api/v1/users/profile", as_user=w.member),
    "PUT /api/v1/users/profile": lambda w: Call(
        "/api/v1/users/profile",
        DOCUMENTED_PROFILE,
        as_user=quick_accounts(w.db, w.clock, 1)[0],
    ),
    "GET /api/v1/users/{userId}/profile": _public_profile,
    "GET /api/v1/matches/daily": lambda w: Call("/api/v1/matches/daily", as_user=w.with_matches[0]),
    "GET /api/v1/matches/daily/{date}": _daily_of,
    "GET /api/v1/matches/recommendations": lambda w: Call(
        "/api/v1/matches/recommendations?limit=10", as_user=w.with_matches[0]
    ),
    # The body's action is filled in per documented value by the test.
    "POST /api/v1/matches/{matchId}/action": lambda w: Call(
        "/api/v1/matches/{matchId}/action", {"action": None}, as_user=w.with_matches[0]
    ),
    "POST /api/v1/heartbeat": lambda w: Call(
        "/api/v1/heartbeat",
        {"userId": w.member.id, "appActive": True, "screenOn": True},
        as_user=w.member,
    ),
    "GET /api/v1/activity/status": lambda w: Call("/api/v1/activity/status", as_user=w.member),
    "GET /api/v1/activity/stats": lambda w: Call("/api/v1/activity/stats", as_user=w.admin),
    "GET /api/v1/health": lambda w: Call("/api/v1/health"),
    "GET /api/v1/health/detailed": lambda w: Call("/api/v1/health/detailed", as_user=w.admin),
    "POST /api/v1/assistant/chat": lambda w: Call(
        "/api/v1/assistant/chat", {"message": "How do I start a conversation?"}, w.member
    ),
    "POST /api/v1/assistant/ask": lambda w: Call(
        "/api/v1/assistant/ask", {"question": "What should my bio say?"}, w.member
    ),
    "POST /api/v1/assistant/translate": lambda w: Call(
        "/api/v1/assistant/translate", {"text": "Hello", "targetLanguage": "es"}, w.member
    ),
    "POST /api/v1/assistant/advice": lambda w: Call(
        "/api/v1/assistant/advice",
        {"topic": "first date", "context": "We both like hiking."},
        w.member,
    ),
    "GET /api/v1/assistant/conversations/{conversationId}": lambda w: Call(
        f"/api/v1/assistant/conversations/{w.conversation()}", as_user=w.member
    ),
    "GET /api/v1/eros/status": lambda w: Call("/api/v1/eros/status", as_user=w.admin),
    "GET /health": lambda w: Call("/health"),
}


@pytest.fixture
def world(
    client: TestClient,
    db: psycopg.Connection[Any],
    clock: ManualClock,
    make_account: Callable[..., Account],
) -> World:
    return World(client, db, clock, make_account)


def _send(world: World, route: DocumentedRoute, call: Call) -> dict[str, Any]:
    headers = call.as_user.headers if call.as_user else {}
    response = world.client.request(route.method, call.path, json=call.body, headers=headers)
    assert response.status_code == call.expected_status, response.text
    return dict(response.json())


def _assert_documented_body(route: DocumentedRoute, body: dict[str, Any] | None) -> None:
    sent = set(body or {})
    assert sent <= route.body, f"the example sends undocumented fields {sent - route.body}"
    assert route.body - route.optional <= sent, "the example leaves out documented fields"


def _assert_documented_fields(route: DocumentedRoute, answer: dict[str, Any]) -> None:
    missing = route.returns - DEPARTURES.get(route.key, frozenset()) - set(answer)
    assert not missing, f"{route} answers without the documented {sorted(missing)}"


@pytest.mark.parametrize("route", DOCUMENTED_ROUTES, ids=str)
def test_a_documented_route_takes_the_documented_body_and_returns_the_documented_fields(
    world: World, route: DocumentedRoute
) -> None:
    call = SCENARIOS[route.key](world)
    _assert_documented_body(route, call.body)
    listed = route.values.get("action")
    if listed is None:
        _assert_documented_fields(route, _send(world, route, call))
        return
    # Every documented action, each on its own candidate.
    _, candidates = world.with_matches
    for action, candidate in zip(listed, candidates, strict=False):
        path = call.path.replace("{matchId}", candidate.id)
        answer = _send(world, route, Call(path, {"action": action}, call.as_user))
        _assert_documented_fields(route, answer)


def test_every_documented_route_has_an_example_and_no_example_is_undocumented() -> None:
    assert {route.key for route in DOCUMENTED_ROUTES} == set(SCENARIOS)


def test_the_only_departures_from_the_documented_fields_are_the_listed_ones() -> None:
    documented = {route.key: route.returns for route in DOCUMENTED_ROUTES}
    for key, fields in DEPARTURES.items():
        assert fields <= documented[key]


def test_the_quoted_route_list_is_the_source_documents_own_text() -> None:
    if not SOURCE_DOCUMENT.exists():
        pytest.skip(f"the source documents are not on this machine ({SEEDS})")
    assert SOURCE_ROUTES in SOURCE_DOCUMENT.read_text()
